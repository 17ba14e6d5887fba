// Whether the guest's user can reach a file: the kernel's DAC check done by hand (owner bits if
// the uid owns it, else group bits if one of its groups does, else other bits). QEMU runs with no
// capabilities, so not even root gets CAP_DAC_OVERRIDE: mode bits are the whole story (ACLs aside).
import { realpathSync, statSync, type Stats } from 'node:fs';
import { isAbsolute, sep } from 'node:path';
import { groupName, userName, type Identity } from './identity.js';

export type Need = 'r' | 'rw';

export interface AccessProblem {
  readonly path: string;
  readonly message: string;
}

const BITS = { r: 4, w: 2, x: 1 } as const;

export interface Owned {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

export function allowed(st: Owned, who: Identity, bit: keyof typeof BITS): boolean {
  const mode = st.mode;
  if (st.uid === who.uid) return ((mode >> 6) & BITS[bit]) !== 0;
  if (st.gid === who.gid || who.groups.includes(st.gid)) return ((mode >> 3) & BITS[bit]) !== 0;
  return (mode & BITS[bit]) !== 0;
}

export function modeString(st: Stats): string {
  const t = st.isDirectory() ? 'd' : st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : '-';
  const rwx = (n: number): string => `${n & 4 ? 'r' : '-'}${n & 2 ? 'w' : '-'}${n & 1 ? 'x' : '-'}`;
  return `${t}${rwx(st.mode >> 6)}${rwx(st.mode >> 3)}${rwx(st.mode)} ${userName(st.uid)}:${groupName(st.gid)}`;
}

/** The first directory on the way to `path` (after symlinks) that `who` may not search, if any. */
export function unsearchableParent(path: string, who: Identity): string | undefined {
  const parts = path.split(sep).filter(Boolean);
  let dir: string = sep;
  for (let i = 0; i < parts.length - 1; i++) {
    dir = dir === sep ? `${sep}${parts[i]}` : `${dir}${sep}${parts[i]}`;
    const st = statSync(dir);
    if (!allowed(st, who, 'x')) return dir;
  }
  const top = statSync(sep);
  return allowed(top, who, 'x') ? undefined : sep;
}

/**
 * Checks that `who` can open `path` for `need`. `what` names the file in the message ("disk vda").
 * `owner` overrides the file's owner (the owner --fix-permissions will give it).
 */
export function checkFile(path: string, need: Need, who: Identity, what: string, owner?: { uid: number; gid: number }): AccessProblem | undefined {
  const whoText = `${who.user} (uid ${who.uid})`;
  if (!isAbsolute(path)) return { path, message: `${what}: path '${path}' is not absolute` };
  // walk the path as written first: a dir that blocks a symlink's own location blocks it too
  for (const p of [path, realOrSelf(path)]) {
    let blocked: string | undefined;
    try {
      blocked = unsearchableParent(p, who);
    } catch {
      blocked = undefined;
    }
    if (blocked) {
      const st = statSync(blocked);
      return { path, message: `${what}: ${path} is not reachable by ${whoText}: directory ${blocked} (${modeString(st)}) denies search; allow it with \`chmod o+x ${blocked}\`` };
    }
  }
  let st: Stats;
  try {
    st = statSync(path);
  } catch (err) {
    return { path, message: `${what}: ${path} does not exist (${(err as NodeJS.ErrnoException).code})` };
  }
  if (st.isDirectory()) return { path, message: `${what}: ${path} is a directory` };
  const eff: Owned = owner ? { mode: st.mode, ...owner } : st;
  const canRead = allowed(eff, who, 'r');
  const canWrite = allowed(eff, who, 'w');
  if (!canRead || (need === 'rw' && !canWrite)) {
    const missing = !canRead && need === 'rw' && !canWrite ? 'read or write' : !canRead ? 'read' : 'write';
    return { path, message: `${what}: ${whoText} cannot ${missing} ${path} (${modeString(st)})` };
  }
  return undefined;
}

/** A directory the guest's user must be able to enter (its state directory's parents). */
export function checkReachableDir(dir: string, who: Identity, what: string): AccessProblem | undefined {
  const probe = `${dir}${sep}.`;
  let blocked: string | undefined;
  try {
    blocked = unsearchableParent(probe, who);
  } catch {
    blocked = undefined;
  }
  if (!blocked) return undefined;
  return { path: dir, message: `${what}: ${dir} is not reachable by ${who.user} (uid ${who.uid}): directory ${blocked} (${modeString(statSync(blocked))}) denies search; allow it with \`chmod o+x ${blocked}\`` };
}

function realOrSelf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}
