// `--probe-host`: reads from this machine what libvirt would read from its host when starting a
// domain (render nodes, hugetlbfs mounts, firmware descriptor directories), as data for the emitter.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostFacts, HostSmbios, HugetlbfsMount } from '../emit/host.js';
import { parseSizeWord } from '../xml/values.js';

/** The host's facts; `root` stands for / (tests point it at a fake tree). */
export function probeHost(root = '/'): HostFacts {
  const smbios = hostSmbios(root);
  return { renderNodes: renderNodes(root), hugetlbfs: hugetlbfsMounts(root), ...(smbios ? { smbios } : {}) };
}

/** sysfs names of the DMI fields libvirt copies for <smbios mode='host'>, by table and libvirt's field name. */
const DMI_FIELDS: Readonly<Record<keyof HostSmbios, ReadonlyArray<readonly [string, string]>>> = {
  bios: [['vendor', 'bios_vendor'], ['version', 'bios_version'], ['date', 'bios_date'], ['release', 'bios_release']],
  system: [['manufacturer', 'sys_vendor'], ['product', 'product_name'], ['version', 'product_version'], ['serial', 'product_serial'], ['sku', 'product_sku'], ['family', 'product_family']],
  baseBoard: [['manufacturer', 'board_vendor'], ['product', 'board_name'], ['version', 'board_version'], ['serial', 'board_serial'], ['asset', 'board_asset_tag']],
  chassis: [['manufacturer', 'chassis_vendor'], ['version', 'chassis_version'], ['serial', 'chassis_serial'], ['asset', 'chassis_asset_tag']],
};

/**
 * The host's SMBIOS tables from the kernel's copy (/sys/class/dmi/id: what dmidecode reads), fields
 * that are empty or unreadable (serials are root's) left out; undefined when there are none.
 */
function hostSmbios(root: string): HostSmbios | undefined {
  const dir = join(root, 'sys', 'class', 'dmi', 'id');
  if (!existsSync(dir)) return undefined;
  const field = (file: string) => {
    try {
      return readFileSync(join(dir, file), 'utf8').trim();
    } catch {
      return '';
    }
  };
  const table = (k: keyof HostSmbios) => DMI_FIELDS[k].flatMap(([name, file]) => {
    const value = field(file);
    return value ? [{ name, value }] : [];
  });
  return { bios: table('bios'), system: table('system'), baseBoard: table('baseBoard'), chassis: table('chassis') };
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
