// A cgroup v2 directory per guest, where the unified hierarchy is mounted and writable (libvirt
// puts each guest in machine/qemu-ID-NAME.libvirt-qemu). Only placement is applied: libvirt sets
// no limits either unless <cputune>/<memtune> ask, which the IR does not model yet.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface CgroupResult {
  readonly path?: string;
  readonly note: string;
}

/** Where cgroup2 is mounted (the unified tree of a hybrid host too). */
function cgroup2Mount(): string | undefined {
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const [pre, post] = line.split(' - ');
      if (post?.startsWith('cgroup2 ')) return pre!.split(' ')[4];
    }
  } catch {
    /* no /proc */
  }
  return undefined;
}

function ownCgroup(): string | undefined {
  try {
    const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'));
    return line?.slice(3);
  } catch {
    return undefined;
  }
}

/**
 * Creates the guest's cgroup and moves `pid` into it. system: MOUNT/machine/qemu-ID-NAME.domxml-qemu;
 * session: beside the launcher's own cgroup (moving a process needs write access to the common
 * ancestor's cgroup.procs, which a delegated user subtree gives).
 */
export function placeInCgroup(mode: 'system' | 'session', id: number, name: string, pid: number): CgroupResult {
  const mount = cgroup2Mount();
  if (!mount) return { note: 'no cgroup: cgroup v2 is not mounted' };
  const own = ownCgroup();
  const parent = mode === 'system' ? join(mount, 'machine') : own ? join(mount, dirname(own)) : undefined;
  if (!parent) return { note: 'no cgroup: cannot tell the launcher\'s own cgroup' };
  const dir = join(parent, `qemu-${id}-${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.domxml-qemu`);
  try {
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'cgroup.procs'), `${pid}\n`);
  } catch (err) {
    return { note: `no cgroup: ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  let controllers = '';
  try {
    controllers = readFileSync(join(dir, 'cgroup.controllers'), 'utf8').trim();
  } catch {
    /* older kernels */
  }
  return { path: dir, note: `cgroup ${dir} (controllers: ${controllers || 'none delegated'}; placement only, no limits set)` };
}
