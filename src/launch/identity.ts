// Host users and groups: who QEMU runs as (uid, gid, supplementary groups), looked up through
// NSS (getent/id) like libvirt's virGetUserID/virGetGroupList, so LDAP/sssd users work too.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { refuse } from './errors.js';

export interface Identity {
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups (the user's group list, primary group included as libvirt does). */
  readonly groups: readonly number[];
  readonly home: string;
}

/** /etc/passwd or /etc/group first (no process to spawn), then NSS through getent. */
function getent(db: 'passwd' | 'group', key: string): string[] | undefined {
  try {
    const col = /^\d+$/.test(key) ? 2 : 0;
    for (const line of readFileSync(`/etc/${db}`, 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length > 3 && f[col] === key) return f;
    }
  } catch {
    /* no local file: NSS only */
  }
  try {
    const out = execFileSync('getent', [db, key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split('\n')[0]!.split(':');
  } catch {
    return undefined;
  }
}

/** A user by name or number ("+N" is a bare uid, as in qemu.conf). */
export function lookupUser(spec: string): { name: string; uid: number; gid: number; home: string } | undefined {
  const bare = /^\+(\d+)$/.exec(spec);
  const f = getent('passwd', bare ? bare[1]! : spec);
  if (!f) return bare ? { name: spec, uid: Number(bare[1]), gid: Number(bare[1]), home: '/' } : undefined;
  return { name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] || '/' };
}

export function lookupGroup(spec: string): { name: string; gid: number } | undefined {
  const bare = /^\+(\d+)$/.exec(spec);
  const f = getent('group', bare ? bare[1]! : spec);
  if (!f) return bare ? { name: spec, gid: Number(bare[1]) } : undefined;
  return { name: f[0]!, gid: Number(f[2]) };
}

export function groupName(gid: number): string {
  return getent('group', String(gid))?.[0] ?? String(gid);
}

export function userName(uid: number): string {
  return getent('passwd', String(uid))?.[0] ?? String(uid);
}

function groupList(user: string, gid: number): number[] {
  try {
    const out = execFileSync('id', ['-G', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const ids = out.trim().split(/\s+/).filter(Boolean).map(Number);
    return [...new Set([gid, ...ids])];
  } catch {
    return [gid];
  }
}

/** qemu.conf's user/group for qemu:///system; where a name does not exist, say where it came from. */
export function configuredIdentity(userSpec: string, groupSpec: string, confFile: string): Identity {
  const u = lookupUser(userSpec);
  if (!u) refuse(`user '${userSpec}' (qemu.conf 'user' in ${confFile}) does not exist on this host; create it or set user = "…" there`);
  const g = lookupGroup(groupSpec);
  if (!g) refuse(`group '${groupSpec}' (qemu.conf 'group' in ${confFile}) does not exist on this host; create it or set group = "…" there`);
  const groups = groupList(u.name, g.gid);
  return { user: u.name, uid: u.uid, gid: g.gid, groups, home: u.home };
}

/** The caller, for qemu:///session. */
export function callerIdentity(): Identity {
  const uid = process.getuid!();
  const gid = process.getgid!();
  const u = lookupUser(String(uid));
  return { user: u?.name ?? String(uid), uid, gid, groups: [...new Set([gid, ...process.getgroups!()])], home: process.env.HOME ?? u?.home ?? '/' };
}

export function describe(id: Identity): string {
  return `${id.user} (uid ${id.uid}, gid ${id.gid})`;
}
