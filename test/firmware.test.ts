// Firmware autoselection: descriptor files (parsing, directories, override by name) and how
// <os firmware='efi'> resolves against them (libvirt 9.0's qemu_firmware.c), to the command line.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEBIAN_OVMF, parseFirmwareDescriptor, readFirmwareDirs, type FirmwareSet } from '../src/families/firmware.js';
import { domainFromArgvText, domainFromXml, domainToArgv, domainToXml, printArgvLine } from '../src/index.js';
import { diagnosticOf } from './support/errors.js';

const ROOT = join(import.meta.dirname, '..');
let tmp: string;
beforeAll(() => (tmp = mkdtempSync(join(tmpdir(), 'domxml-firmware-'))));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Desc {
  exe: string;
  vars?: string;
  features?: string[];
  machines?: string[];
  mode?: string;
  device?: string;
}
function descriptor(d: Desc): string {
  const mapping =
    d.device === 'memory'
      ? { device: 'memory', filename: d.exe }
      : {
          device: 'flash',
          ...(d.mode ? { mode: d.mode } : {}),
          executable: { filename: d.exe, format: 'raw' },
          ...(d.vars ? { 'nvram-template': { filename: d.vars, format: 'raw' } } : {}),
        };
  return JSON.stringify({
    description: 'test',
    'interface-types': ['uefi'],
    mapping,
    targets: [{ architecture: 'x86_64', machines: d.machines ?? ['pc-q35-*'] }],
    features: d.features ?? [],
    tags: [],
  });
}

/** A directory of descriptor files (name -> contents). */
function dir(name: string, files: Record<string, string>): string {
  const path = join(tmp, name);
  mkdirSync(path, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(path, f), text);
  return path;
}

function guest(os: string, features = '<acpi/>', machine = 'q35'): string {
  return `<domain type='kvm'><name>g</name><memory>1048576</memory>
  <os ${os.startsWith('<') ? "firmware='efi'" : os}><type arch='x86_64' machine='${machine}'>hvm</type>${os.startsWith('<') ? os : ''}</os>
  <features>${features}</features>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator><controller type='usb' model='none'/><memballoon model='none'/></devices></domain>`;
}
const EFI = "firmware='efi'";

function line(xml: string, firmware?: FirmwareSet): string {
  return printArgvLine(domainToArgv(domainFromXml(xml, 'g.xml').domain, { qemuVersion: '7.2', ...(firmware ? { firmware } : {}) }).argv);
}
const loaderOf = (l: string) => /"filename":"([^"]+)","node-name":"libvirt-pflash0-storage"/.exec(l)?.[1];
const nvramOf = (l: string) => /"filename":"([^"]+)","node-name":"libvirt-pflash1-storage"/.exec(l)?.[1];

describe('descriptor files', () => {
  test('a Debian descriptor parses to the built-in table entry', () => {
    const text = descriptor({
      exe: '/usr/share/OVMF/OVMF_CODE_4M.fd',
      vars: '/usr/share/OVMF/OVMF_VARS_4M.fd',
      machines: ['pc-i440fx-*', 'pc-q35-*'],
      features: ['acpi-s3', 'amd-sev', 'verbose-dynamic'],
    });
    expect(parseFirmwareDescriptor(text, '/usr/share/qemu/firmware/60-edk2-x86_64.json')).toEqual(DEBIAN_OVMF.descriptors[2]);
  });

  test("QEMU's architecture names become libvirt's; unknown features are skipped; no mode is split", () => {
    const d = parseFirmwareDescriptor(
      JSON.stringify({
        'interface-types': ['bios'],
        mapping: { device: 'flash', executable: { filename: '/x', format: 'raw' }, 'nvram-template': { filename: '/v', format: 'raw' } },
        targets: [{ architecture: 'i386', machines: ['pc-*'] }],
        features: ['acpi-s3', 'some-future-feature'],
      }),
      'd/10-x.json',
    );
    expect(d).toMatchObject({ name: '10-x.json', targets: [{ arch: 'i686', machines: ['pc-*'] }], features: ['acpi-s3'], mapping: { mode: 'split' } });
  });

  test.each([
    ['{ "interface-types": [', /invalid JSON/],
    ['{"interface-types":["efi"],"mapping":{"device":"memory","filename":"/b"},"targets":[],"features":[]}', /unknown interface type 'efi'/],
    ['{"interface-types":["uefi"],"mapping":{"device":"flash","executable":{"filename":"/c","format":"raw"}},"targets":[],"features":[]}', /missing 'nvram-template'/],
    ['{"interface-types":["uefi"],"mapping":{"device":"flash","mode":"x","executable":{"filename":"/c","format":"raw"}},"targets":[],"features":[]}', /unknown flash mode 'x'/],
  ])('a bad descriptor is a catalogued error naming its file: %s', (text, reason) => {
    const d = diagnosticOf(() => parseFirmwareDescriptor(text, '/etc/qemu/firmware/50-bad.json'));
    expect(d.code).toBe('FirmwareDescriptorInvalid');
    expect(d.message).toContain('/etc/qemu/firmware/50-bad.json');
    expect(d.message).toMatch(reason);
  });
});

describe('descriptor directories', () => {
  test('a later directory replaces a file of the same name, an empty file masks it, order is by file name', () => {
    const sys = dir('order/share', {
      '50-sb.json': descriptor({ exe: '/share/sb.fd', vars: '/share/v.fd', features: ['requires-smm', 'secure-boot'] }),
      '60-plain.json': descriptor({ exe: '/share/plain.fd', vars: '/share/v.fd' }),
      '70-masked.json': descriptor({ exe: '/share/masked.fd', vars: '/share/v.fd' }),
      'README': 'not a descriptor',
      '.hidden.json': 'not read either',
    });
    const etc = dir('order/etc', {
      '60-plain.json': descriptor({ exe: '/etc/plain.fd', vars: '/etc/v.fd' }),
      '70-masked.json': '',
      '10-first.json': descriptor({ exe: '/etc/first.fd', vars: '/etc/v.fd', machines: ['pc-i440fx-*'] }),
    });
    const set = readFirmwareDirs([sys, etc]);
    expect(set.descriptors.map((d) => [d.name, d.mapping.device === 'flash' ? d.mapping.executable.filename : ''])).toEqual([
      ['10-first.json', '/etc/first.fd'],
      ['50-sb.json', '/share/sb.fd'],
      ['60-plain.json', '/etc/plain.fd'],
    ]);
    // the first match wins: q35 skips the i440fx-only 10-first and takes 50-sb
    expect(loaderOf(line(guest(EFI), set))).toBe('/share/sb.fd');
    expect(loaderOf(line(guest(EFI, '<acpi/>', 'pc'), set))).toBe('/etc/first.fd');
  });

  test('bad JSON in a directory fails with the file name; a missing directory is an I/O error', () => {
    const bad = dir('bad', { '50-broken.json': '{"interface-types": ["uefi"], ' });
    const d = diagnosticOf(() => readFirmwareDirs([bad]));
    expect(d).toMatchObject({ code: 'FirmwareDescriptorInvalid' });
    expect(d.message).toContain(join(bad, '50-broken.json'));
    expect(diagnosticOf(() => readFirmwareDirs([join(tmp, 'nowhere')])).code).toBe('Io');
  });
});

describe("<os firmware='efi'> with the built-in Debian 12 descriptors", () => {
  test('plain q35: the first descriptor (secure boot, MS keys), SMM, secure flash, NVRAM in nvram_dir', () => {
    const l = line(guest(EFI));
    expect(loaderOf(l)).toBe('/usr/share/OVMF/OVMF_CODE_4M.ms.fd');
    expect(nvramOf(l)).toBe('/var/lib/libvirt/qemu/nvram/g_VARS.fd');
    expect(l).toContain(' -machine pc-q35-7.2,usb=off,smm=on,dump-guest-core=off,memory-backend=pc.ram,pflash0=libvirt-pflash0-format,pflash1=libvirt-pflash1-format ');
    // NB: the secure flash global is the loader's, after -cpu
    expect(l).toContain(' -cpu qemu64 -global driver=cfi.pflash01,property=secure,value=on -m ');
  });

  test('secure boot refused: the descriptor without SMM; i440fx only has that one', () => {
    const l = line(guest("<firmware><feature enabled='no' name='secure-boot'/></firmware>"));
    expect(loaderOf(l)).toBe('/usr/share/OVMF/OVMF_CODE_4M.fd');
    expect(l).not.toContain('smm=on');
    expect(l).not.toContain('cfi.pflash01');
    expect(loaderOf(line(guest(EFI, '<acpi/>', 'pc')))).toBe('/usr/share/OVMF/OVMF_CODE_4M.fd');
  });

  test('enrolled keys refused: secure boot with an empty variable store', () => {
    expect(loaderOf(line(guest("<firmware><feature enabled='no' name='enrolled-keys'/></firmware>")))).toBe('/usr/share/OVMF/OVMF_CODE_4M.secboot.fd');
  });

  test('an <nvram> path is kept', () => {
    expect(nvramOf(line(guest('<nvram>/srv/g_VARS.fd</nvram>')))).toBe('/srv/g_VARS.fd');
  });

  test('no match: a catalogued error naming what was asked', () => {
    const d = diagnosticOf(() => line(guest("<loader stateless='yes'/>")));
    expect(d.code).toBe('FirmwareNotFound');
    expect(d.message).toBe(
      "Unable to find any firmware to satisfy 'efi': none of the built-in descriptors (Debian 12, ovmf and qemu-efi-aarch64 2022.11) offers uefi for x86_64 pc-q35-7.2, stateless flash",
    );
    expect(diagnosticOf(() => line(guest("firmware='bios'"))).message).toMatch(/^Unable to find any firmware to satisfy 'bios'/);
  });

  test("libvirt's define-time checks", () => {
    const reason = (xml: string) => diagnosticOf(() => line(xml)).message;
    expect(reason(guest(EFI, '<acpi/><smm state="off"/>'))).toBe('domain has SMM turned off but chosen firmware requires it');
    expect(reason(guest("<loader secure='no'/>"))).toBe("loader attribute 'secure' cannot be specified when firmware autoselection is enabled");
    expect(reason(guest("<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>"))).toBe(
      "loader attribute 'readonly' cannot be specified when firmware autoselection is enabled",
    );
    expect(reason(guest("<firmware><feature enabled='no' name='secure-boot'/><feature enabled='yes' name='enrolled-keys'/></firmware>"))).toBe(
      "firmware feature 'enrolled-keys' cannot be enabled when firmware feature 'secure-boot' is disabled",
    );
    expect(reason(guest(EFI, ''))).toBe('UEFI requires ACPI on this architecture');
    expect(reason(guest("<loader secure='yes'/>", '<acpi/>', 'pc'))).toBe('Secure boot is supported with q35 machine types only');
  });
});

describe('both directions', () => {
  test('<os firmware> and <firmware><feature> are read and written in libvirt order', () => {
    const xml = domainToXml(domainFromXml(guest("<firmware><feature enabled='yes' name='secure-boot'/><feature enabled='no' name='enrolled-keys'/></firmware><loader secure='yes'/>"), 'g.xml').domain);
    expect(xml).toContain(`<os firmware='efi'>
    <type arch='x86_64' machine='q35'>hvm</type>
    <firmware>
      <feature enabled='no' name='enrolled-keys'/>
      <feature enabled='yes' name='secure-boot'/>
    </firmware>
    <loader secure='yes'/>`);
  });

  test('the resolved command line reads back as the explicit secure loader, its NVRAM and SMM', () => {
    const xml = domainToXml(domainFromArgvText(line(guest(EFI)), 'g.args').domain);
    expect(xml).toContain(`<loader readonly='yes' secure='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.ms.fd</loader>
    <nvram>/var/lib/libvirt/qemu/nvram/g_VARS.fd</nvram>`);
    expect(xml).toContain("<smm state='on'/>");
    expect(xml).not.toContain('qemu:commandline');
  });
});

describe('other descriptor sets', () => {
  test('stateless flash: no variable store, and no SMM when the firmware does not need it', () => {
    const set = readFirmwareDirs([
      dir('stateless', {
        '45-sev-stateless.json': descriptor({ exe: '/ovmf/OVMF.sev.fd', mode: 'stateless', features: ['amd-sev'] }),
        '60-ovmf.json': descriptor({ exe: '/ovmf/OVMF_CODE.fd', vars: '/ovmf/OVMF_VARS.fd' }),
      }),
    ]);
    const l = line(guest("<loader stateless='yes'/>"), set);
    expect(loaderOf(l)).toBe('/ovmf/OVMF.sev.fd');
    expect(l).toContain(',pflash0=libvirt-pflash0-format ');
    expect(l).not.toContain('pflash1');
    // a stateless descriptor is never picked for a guest with a variable store
    expect(loaderOf(line(guest(EFI), set))).toBe('/ovmf/OVMF_CODE.fd');
  });

  test('a memory mapping is a ROM: -bios', () => {
    const set: FirmwareSet = { source: 'test', descriptors: [parseFirmwareDescriptor(descriptor({ exe: '/fw/rom.bin', device: 'memory' }), 'a/50-rom.json')] };
    expect(line(guest(EFI), set)).toContain(' -cpu qemu64 -bios /fw/rom.bin -m ');
  });
});

test('--firmware-dir: colon-separated directories, later overriding earlier (needs dist/: npm run build)', () => {
  const a = dir('cli/a', { '50-x.json': descriptor({ exe: '/a/x.fd', vars: '/a/v.fd' }) });
  const b = dir('cli/b', { '50-x.json': descriptor({ exe: '/b/x.fd', vars: '/b/v.fd' }) });
  const xml = join(tmp, 'cli/g.xml');
  writeFileSync(xml, guest(EFI));
  const r = spawnSync(join(ROOT, 'bin', 'domxml'), ['to-native', 'qemu-argv', '--firmware-dir', `${a}:${b}`, xml], { cwd: ROOT, encoding: 'utf8', timeout: 60000 });
  expect(r.stderr).toBe('');
  expect(loaderOf(r.stdout)).toBe('/b/x.fd');
  const bad = dir('cli/bad', { '10-bad.json': 'nope' });
  const f = spawnSync(join(ROOT, 'bin', 'domxml'), ['to-native', 'qemu-argv', '--firmware-dir', bad, xml], { cwd: ROOT, encoding: 'utf8', timeout: 60000 });
  expect(f.status).not.toBe(0);
  expect(f.stderr).toContain(join(bad, '10-bad.json'));
});
