// Running guests' records: RUN_DIR/NAME.json (what the launcher started and changed), NAME.pid,
// NAME.ctl (the supervisor's control socket). A record whose QEMU is gone (pid dead, or the pid
// reused by another program) is stale: its changes are undone and its files removed.
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, rmdirSync, writeFileSync, renameSync, openSync, closeSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Instance } from './instance.js';

export interface Chowned {
  readonly path: string;
  readonly uid: number;
  readonly gid: number;
}

export interface DomainRecord {
  readonly name: string;
  readonly uuid?: string;
  readonly id: number;
  readonly uri: string;
  readonly emulator: string;
  readonly pid: number;
  /** /proc/PID/stat start time: tells our QEMU from a later process that got the same pid */
  readonly pidStart: string;
  readonly supervisorPid: number;
  readonly supervisorStart: string;
  readonly stateDir: string;
  readonly monitor: string;
  readonly control: string;
  readonly logFile: string;
  readonly xmlFile: string;
  readonly guest: { readonly user: string; readonly uid: number; readonly gid: number };
  readonly chowned: readonly Chowned[];
  readonly cgroup?: string;
  readonly startedAt: string;
}

export const recordFile = (inst: Instance, name: string): string => join(inst.runDir, `${name}.json`);
export const pidFile = (inst: Instance, name: string): string => join(inst.runDir, `${name}.pid`);
export const controlSocket = (inst: Instance, name: string): string => join(inst.runDir, `${name}.ctl`);

export function writeRecord(inst: Instance, rec: DomainRecord): void {
  const file = recordFile(inst, rec.name);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(rec, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

/** Claims NAME for a starting guest; false if a live launch holds it (a dead one's claim is dropped). */
export function claimName(inst: Instance, name: string): boolean {
  const lock = join(inst.runDir, `${name}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, 'wx', 0o600);
      writeSync(fd, `${process.pid} ${processStart(process.pid)}\n`);
      closeSync(fd);
      return true;
    } catch {
      const [pid, start] = readFileSync(lock, 'utf8').trim().split(' ');
      if (processStart(Number(pid)) === start) return false;
      rmSync(lock, { force: true });
    }
  }
  return false;
}

export function releaseName(inst: Instance, name: string): void {
  rmSync(join(inst.runDir, `${name}.lock`), { force: true });
}

export function readRecord(inst: Instance, name: string): DomainRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordFile(inst, name), 'utf8')) as DomainRecord;
  } catch {
    return undefined;
  }
}

export function allRecords(inst: Instance): DomainRecord[] {
  if (!existsSync(inst.runDir)) return [];
  return readdirSync(inst.runDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => readRecord(inst, f.slice(0, -5)))
    .filter((r): r is DomainRecord => r !== undefined)
    .sort((a, b) => a.id - b.id);
}

/** Field 22 of /proc/PID/stat (after the parenthesised comm, which may hold spaces). */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); a zombie has exited already
    if (rest[0] === 'Z' || rest[0] === 'X') return undefined;
    return rest[19];
  } catch {
    return undefined;
  }
}

/** The process is the one recorded and still runs the recorded emulator. */
export function isQemuAlive(rec: DomainRecord): boolean {
  if (processStart(rec.pid) !== rec.pidStart) return false;
  try {
    return realpathSync(readlinkSync(`/proc/${rec.pid}/exe`)) === rec.emulator;
  } catch {
    // exe is unreadable for another user's process: fall back to its argv[0]
    try {
      const argv0 = readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8').split('\0')[0]!;
      return realpathSync(argv0) === rec.emulator;
    } catch {
      return false;
    }
  }
}

export function isSupervisorAlive(rec: DomainRecord): boolean {
  return processStart(rec.supervisorPid) === rec.supervisorStart;
}

/** Undoes what the launch changed: file owners back, state dir, cgroup and records removed. */
export function cleanup(inst: Instance, rec: DomainRecord): string[] {
  const notes: string[] = [];
  for (const c of rec.chowned) {
    try {
      chownSync(c.path, c.uid, c.gid);
      notes.push(`restored owner ${c.uid}:${c.gid} of ${c.path}`);
    } catch (err) {
      notes.push(`could not restore owner of ${c.path}: ${(err as NodeJS.ErrnoException).code}`);
    }
  }
  if (rec.cgroup) {
    try {
      rmdirSync(rec.cgroup);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') notes.push(`could not remove cgroup ${rec.cgroup}: ${(err as NodeJS.ErrnoException).code}`);
    }
  }
  rmSync(rec.stateDir, { recursive: true, force: true });
  for (const f of [pidFile(inst, rec.name), controlSocket(inst, rec.name), recordFile(inst, rec.name)]) rmSync(f, { force: true });
  releaseName(inst, rec.name);
  return notes;
}

/** Records whose QEMU is gone are cleaned; returns the live ones. */
export function liveRecords(inst: Instance): DomainRecord[] {
  return allRecords(inst).filter((r) => {
    if (isQemuAlive(r)) return true;
    // the supervisor cleans up after its own QEMU; step in only when it is gone too
    if (!isSupervisorAlive(r)) cleanup(inst, r);
    return false;
  });
}

/** libvirt-style domain ids: one more than the last handed out by this instance. */
export function nextId(inst: Instance): number {
  const file = join(inst.runDir, 'next-id');
  let id = 1;
  try {
    id = Number(readFileSync(file, 'utf8').trim()) || 1;
  } catch {
    /* first guest of this instance */
  }
  writeFileSync(file, `${id + 1}\n`, { mode: 0o600 });
  return id;
}

/** Creates DIR with MODE (and OWNER); missing parents get 0755 like install -d. */
export function ensureDir(dir: string, mode: number, owner?: { uid: number; gid: number }): void {
  mkdirSync(dirname(dir), { recursive: true, mode: 0o755 });
  if (!existsSync(dir)) mkdirSync(dir, { mode });
  chmodSync(dir, mode);
  if (owner) chownSync(dir, owner.uid, owner.gid);
}
