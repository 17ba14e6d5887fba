// Host facts (src/emit/host.ts): what libvirt reads from its host when a domain starts. They are
// explicit emitter input: --probe-host (src/cli/host-probe.ts) reads them from a machine, and
// without them the output is a stock Debian host's, whatever machine converts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostFirmwareDirs, probeHost } from '../src/cli/host-probe.js';
import { argvWords } from '../src/emit/argv.js';
import type { HostFacts } from '../src/emit/host.js';
import { domainToArgv } from '../src/emit/to-argv.js';
import { domainFromXml } from '../src/ir/from-xml.js';
import { DEFAULT_CONF } from '../src/qemu/config.js';

const domain = (inner: string) =>
  domainFromXml(`<domain type='kvm'><name>g</name><memory>2097152</memory>${inner}
    <os><type arch='x86_64' machine='pc'>hvm</type></os></domain>`.replace('</os>', '</os><devices><memballoon model="none"/></devices>')).domain;

const graphics = (g: string) =>
  domainFromXml(`<domain type='kvm'><name>g</name><memory>131072</memory><os><type arch='x86_64' machine='pc'>hvm</type></os>
    <devices><memballoon model='none'/>${g}</devices></domain>`).domain;

const words = (d: ReturnType<typeof domainFromXml>['domain'], opts: Parameters<typeof domainToArgv>[1] = {}) => {
  const r = domainToArgv(d, opts);
  return { words: argvWords({ ...r.argv, env: [] }), warnings: r.diagnostics.items.map((x) => x.message) };
};
const after = (ws: string[], opt: string) => ws.filter((_, i) => ws[i - 1] === opt);

describe('probeHost', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'domxml-host-'));
    mkdirSync(join(root, 'dev', 'dri'), { recursive: true });
    for (const n of ['card0', 'renderD129', 'renderD128', 'by-path']) writeFileSync(join(root, 'dev', 'dri', n), '');
    mkdirSync(join(root, 'proc'));
    writeFileSync(join(root, 'proc', 'meminfo'), 'MemTotal:       24000000 kB\nHugepagesize:       2048 kB\n');
    writeFileSync(
      join(root, 'proc', 'mounts'),
      [
        'proc /proc proc rw,nosuid 0 0',
        'hugetlbfs /mnt/huge\\0401G hugetlbfs rw,relatime,pagesize=1024M 0 0',
        'hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0',
        'none /mnt/plain hugetlbfs rw 0 0',
      ].join('\n') + '\n',
    );
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  test('render nodes in numeric order; hugetlbfs mounts with their page size, the default size first', () => {
    expect(probeHost(root)).toEqual({
      renderNodes: ['/dev/dri/renderD128', '/dev/dri/renderD129'],
      hugetlbfs: [
        { path: '/dev/hugepages', pageKiB: 2048 },
        { path: '/mnt/plain', pageKiB: 2048 },
        { path: '/mnt/huge 1G', pageKiB: 1048576 },
      ],
    });
  });

  test("the host's SMBIOS tables from /sys/class/dmi/id, empty and unreadable fields left out", () => {
    const dmi = join(root, 'sys', 'class', 'dmi', 'id');
    mkdirSync(dmi, { recursive: true });
    const fields: Record<string, string> = { bios_vendor: 'LENOVO\n', bios_version: 'N2EET60W (1.42 )\n', bios_date: '06/01/2023\n', sys_vendor: 'LENOVO\n', product_name: '20QD\n', product_version: '\n', product_family: 'ThinkPad X1 Carbon 7th\n', board_vendor: 'LENOVO\n', chassis_vendor: 'LENOVO\n' };
    for (const [f, v] of Object.entries(fields)) writeFileSync(join(dmi, f), v);
    try {
      expect(probeHost(root).smbios).toEqual({
        bios: [{ name: 'vendor', value: 'LENOVO' }, { name: 'version', value: 'N2EET60W (1.42 )' }, { name: 'date', value: '06/01/2023' }],
        system: [{ name: 'manufacturer', value: 'LENOVO' }, { name: 'product', value: '20QD' }, { name: 'family', value: 'ThinkPad X1 Carbon 7th' }],
        baseBoard: [{ name: 'manufacturer', value: 'LENOVO' }],
        chassis: [{ name: 'manufacturer', value: 'LENOVO' }],
      });
    } finally {
      rmSync(join(root, 'sys'), { recursive: true, force: true });
    }
  });

  test('a host without them: empty lists, no error', () => {
    expect(probeHost(join(root, 'nowhere'))).toEqual({ renderNodes: [], hugetlbfs: [] });
    expect(hostFirmwareDirs(join(root, 'nowhere'))).toEqual([]);
  });

  test("the firmware descriptor directories libvirt reads, those the host has, the distribution's first", () => {
    mkdirSync(join(root, 'etc', 'qemu', 'firmware'), { recursive: true });
    expect(hostFirmwareDirs(root)).toEqual([join(root, 'etc', 'qemu', 'firmware')]);
    mkdirSync(join(root, 'usr', 'share', 'qemu', 'firmware'), { recursive: true });
    expect(hostFirmwareDirs(root)).toEqual([join(root, 'usr', 'share', 'qemu', 'firmware'), join(root, 'etc', 'qemu', 'firmware')]);
  });
});

describe('render node', () => {
  const host: HostFacts = { renderNodes: ['/dev/dri/renderD128', '/dev/dri/renderD129'] };

  test("egl-headless: the host's first render node, as libvirt picks it at start-up", () => {
    const r = words(graphics("<graphics type='egl-headless'/>"), { host });
    expect(after(r.words, '-display')).toEqual(['egl-headless,rendernode=/dev/dri/renderD128']);
    expect(r.warnings.join('\n')).not.toMatch(/rendernode/);
  });

  test('without host facts: no render node, and a warning saying QEMU picks one', () => {
    const r = words(graphics("<graphics type='egl-headless'/>"));
    expect(after(r.words, '-display')).toEqual(['egl-headless']);
    expect(r.warnings.join('\n')).toMatch(/egl-headless without <gl rendernode>.*--probe-host/);
  });

  test("the XML's render node wins; SPICE OpenGL gets the host's too", () => {
    expect(after(words(graphics("<graphics type='egl-headless'><gl rendernode='/dev/dri/renderD200'/></graphics>"), { host }).words, '-display')).toEqual([
      'egl-headless,rendernode=/dev/dri/renderD200',
    ]);
    const spice = after(words(graphics("<graphics type='spice' autoport='no'><gl enable='yes'/></graphics>"), { host }).words, '-spice')[0];
    expect(spice).toMatch(/,gl=on,rendernode=\/dev\/dri\/renderD128,/);
  });
});

describe('hugetlbfs mounts', () => {
  const huge = (size: string) => domain(`<memoryBacking><hugepages>${size}</hugepages></memoryBacking>`);
  const memPath = (ws: string[]) => after(ws, '-object').map((o) => JSON.parse(o) as Record<string, unknown>).find((o) => o['qom-type'] === 'memory-backend-file')?.['mem-path'];
  const host: HostFacts = { hugetlbfs: [{ path: '/dev/hugepages', pageKiB: 2048 }, { path: '/mnt/huge1g', pageKiB: 1048576 }] };

  test('a stock host: /dev/hugepages', () => {
    expect(memPath(words(huge('')).words)).toBe('/dev/hugepages/libvirt/qemu/-1-g');
  });

  test("the host's mounts: the default size's, or the one of the page size asked for", () => {
    expect(memPath(words(huge(''), { host }).words)).toBe('/dev/hugepages/libvirt/qemu/-1-g');
    expect(memPath(words(huge("<page size='1' unit='GiB'/>"), { host }).words)).toBe('/mnt/huge1g/libvirt/qemu/-1-g');
  });

  test("qemu.conf's hugetlbfs_mount wins over the host's", () => {
    const config = { ...DEFAULT_CONF, hugetlbfsMount: ['/srv/huge2M'] };
    expect(memPath(words(huge(''), { host, config }).words)).toBe('/srv/huge2M/libvirt/qemu/-1-g');
  });
});

describe("<smbios mode='host'>", () => {
  const hostMode = domain("<uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>").os;
  const d = { ...domain("<uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>"), os: { ...hostMode, smbios: 'host' as const } };
  const host: HostFacts = {
    smbios: {
      bios: [{ name: 'vendor', value: 'LENOVO' }, { name: 'version', value: 'N2EET60W (1.42 )' }],
      system: [{ name: 'manufacturer', value: 'LENOVO' }, { name: 'product', value: '20QD, rev 2' }],
      baseBoard: [{ name: 'manufacturer', value: 'LENOVO' }],
      chassis: [],
    },
  };
  test("the host's tables, as libvirt copies them (commas doubled; never the host's UUID)", () => {
    expect(after(words(d, { host }).words, '-smbios')).toEqual(['type=0,vendor=LENOVO,version=N2EET60W (1.42 )', 'type=1,manufacturer=LENOVO,product=20QD,, rev 2', 'type=2,manufacturer=LENOVO']);
  });
  test('without host facts: left out, with a warning naming --probe-host', () => {
    const r = words(d);
    expect(after(r.words, '-smbios')).toEqual([]);
    expect(r.warnings.join('\n')).toContain('--probe-host');
  });
});
