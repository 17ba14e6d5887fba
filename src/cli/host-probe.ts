// `--probe-host`: reads from this machine what libvirt would read from its host when starting a
// domain (render nodes, hugetlbfs mounts, firmware descriptor directories), as data for the emitter.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostFacts, HugetlbfsMount } from '../emit/host.js';
import { parseSizeWord } from '../xml/values.js';

/** The host's facts; `root` stands for / (tests point it at a fake tree). */
export function probeHost(root = '/'): HostFacts {
  return { renderNodes: renderNodes(root), hugetlbfs: hugetlbfsMounts(root) };
}

function renderNodes(root: string): string[] {
  try {
    // NB: renderD128, renderD129, …: numeric order, which is also the order the kernel creates them
    return readdirSync(join(root, 'dev', 'dri'))
      .filter((n) => /^renderD\d+$/.test(n))
      .sort((a, b) => Number(a.slice(7)) - Number(b.slice(7)))
      .map((n) => `/dev/dri/${n}`);
  } catch {
    return [];
  }
}

/** hugetlbfs entries of /proc/mounts with their page size; the system default size first. */
function hugetlbfsMounts(root: string): HugetlbfsMount[] {
  const read = (p: string) => {
    try {
      return readFileSync(join(root, p), 'utf8');
    } catch {
      return '';
    }
  };
  const dflt = Number(/^Hugepagesize:\s+(\d+)\s+kB/m.exec(read('proc/meminfo'))?.[1] ?? 2048);
  const mounts: HugetlbfsMount[] = [];
  for (const line of read('proc/mounts').split('\n')) {
    const [, path, type, options] = line.split(' ');
    if (type !== 'hugetlbfs' || !path) continue;
    const size = /(?:^|,)pagesize=(\d+)([KMG])(?:,|$)/i.exec(options ?? '');
    const pageKiB = size ? parseSizeWord(size[1]! + size[2]!)! : dflt;
    // NB: /proc/mounts escapes spaces and tabs in paths as octal (\040)
    mounts.push({ path: path.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))), pageKiB });
  }
  return [...mounts.filter((m) => m.pageKiB === dflt), ...mounts.filter((m) => m.pageKiB !== dflt)];
}

/**
 * The firmware descriptor directories libvirt's system daemon reads (qemuFirmwareFetchConfigs:
 * the distribution's, then the administrator's overrides), those that exist on this machine.
 */
export function hostFirmwareDirs(root = '/'): string[] {
  return ['usr/share/qemu/firmware', 'etc/qemu/firmware'].map((d) => join(root, d)).filter((d) => existsSync(d));
}
