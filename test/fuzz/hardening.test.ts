// Hostile and broken input: XML hardening limits, CLI input checks, atomic output, batch runs.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DomxmlError, argvWords, domainFromArgvText, domainFromXml, domainToArgv, printArgvLine } from '../../src/index.js';
import { MAX_ARG_CHARS, MAX_ARG_COUNT } from '../../src/ir/from-argv.js';
import { MAX_XML_CHARS, MAX_XML_DEPTH } from '../../src/xml/read.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'domxml');
const GOOD = readFileSync(join(ROOT, 'golden', 'kernel-boot', 'input.xml'), 'utf8');

function domxml(args: string[], input?: string | Buffer) {
  const r = spawnSync(BIN, args, { cwd: ROOT, encoding: 'utf8', timeout: 60000, ...(input !== undefined ? { input } : {}) });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function readError(text: string): DomxmlError {
  try {
    domainFromXml(text, 'x.xml');
  } catch (err) {
    if (err instanceof DomxmlError) return err;
    throw err;
  }
  throw new Error('no error');
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'domxml-hostile-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('XML reader limits', () => {
  test('billion laughs: no DOCTYPE, no entity expansion', () => {
    const laughs = `<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n]>\n<domain type='qemu'><name>&lol2;</name></domain>`;
    const e = readError(laughs);
    expect(e.diagnostic.code).toBe('XmlDoctype');
    expect(e.diagnostic.span).toMatchObject({ file: 'x.xml', line: 2, column: 1 });
  });
  test('external entity: never read', () => {
    const e = readError(`<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><domain type='qemu'><name>&x;</name></domain>`);
    expect(e.diagnostic.code).toBe('XmlDoctype');
  });
  test('depth limit', () => {
    const deep = `<domain type='qemu'>${'<a>'.repeat(MAX_XML_DEPTH)}${'</a>'.repeat(MAX_XML_DEPTH)}</domain>`;
    expect(readError(deep).diagnostic).toMatchObject({ code: 'XmlTooDeep', span: { line: 1 } });
    const ok = `<domain type='qemu'><name>x</name><memory>1</memory><metadata>${'<a/>'.repeat(1000)}</metadata></domain>`;
    expect(domainFromXml(ok).domain.name).toBe('x');
  });
  test('size limit', () => {
    const big = `<domain type='qemu'><name>x</name><description>${'a'.repeat(MAX_XML_CHARS)}</description></domain>`;
    expect(readError(big).diagnostic.code).toBe('InputTooLarge');
  });
  test('the QEMU namespace by any prefix; qemu: bound elsewhere is not the extension', () => {
    const q = (prefix: string, uri: string) =>
      `<domain type='qemu' xmlns:${prefix}='${uri}'><name>x</name><memory>1</memory><${prefix}:commandline><${prefix}:arg value='-S'/></${prefix}:commandline></domain>`;
    expect(domainFromXml(q('q', 'http://libvirt.org/schemas/domain/qemu/1.0')).domain.qemuCommandline?.args).toEqual(['-S']);
    expect(domainFromXml(q('qemu', 'http://example.org/other')).domain.qemuCommandline).toBeUndefined();
    expect(readError(`<domain type='qemu'><name>x</name><memory>1</memory><qemu:commandline/></domain>`).diagnostic.code).toBe('XmlSyntax');
  });
});

/** The catalogue code a run fails with, or 'ok'; anything else thrown is a bug and fails the test. */
function caught(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (err instanceof DomxmlError) return err.diagnostic.code;
    throw err;
  }
  return 'ok';
}

// inputs the fuzzer found hanging (a loop up to a huge index): now catalogued errors
describe('fuzz regressions', () => {
  test('-drive bus=/unit= beyond what QEMU reads', () => {
    for (const v of ['99999999999999999999999', '-1', '1.5']) {
      expect(caught(() => domainFromArgvText(`qemu-system-x86_64 -m 64 -drive file=/a.img,if=ide,bus=${v},unit=0`))).toBe('BadOptionValue');
    }
    expect(caught(() => domainFromArgvText('qemu-system-x86_64 -m 64 -drive file=/a.img,if=ide,bus=0,unit=2'))).toBe('BadOptionValue');
    expect(caught(() => domainFromArgvText('qemu-system-x86_64 -m 64 -drive file=/a.img,if=ide,bus=1,unit=1'))).toBe('ok');
  });
  test('a network disk URL with a bad %-escape', () => {
    expect(caught(() => domainFromArgvText('qemu-system-x86_64 -m 64 -drive file=iscsi://example.org:6000/iqn%3,format=raw,if=virtio'))).toBe('BadOptionValue');
    expect(caught(() => domainFromArgvText('qemu-system-x86_64 -m 64 -drive file=iscsi://u%ff@example.org:6000/iqn/1,format=raw,if=virtio'))).toBe('BadOptionValue');
  });
  test('a PCI bus or controller index past 255 on the command line', () => {
    const big = '18446744073709551616';
    for (const dev of [
      `{"driver":"pcie-root-port","port":1,"chassis":1,"id":"pci.${big}","bus":"pcie.0","addr":"0x2"}`,
      `{"driver":"qemu-xhci","id":"usb","bus":"pci.${big}","addr":"0x1"}`,
      `{"driver":"virtio-balloon-pci","id":"balloon0","bus":"pci.300","addr":"0x1"}`,
    ]) {
      expect(caught(() => domainFromArgvText(`qemu-system-x86_64 -machine q35 -m 64 -device '${dev}'`))).toBe('PciOutOfRange');
    }
  });
  test('a lone surrogate in a network disk user name (library input)', () => {
    const xml = `<domain type='qemu'><name>x</name><memory>65536</memory><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><disk type='network' device='disk'><source protocol='iscsi' name='iqn.2024-01.org.example:d/1'><host name='h'/><auth username='u\ud800'><secret type='iscsi' usage='u'/></auth></source><target dev='vda' bus='virtio'/></disk></devices></domain>`;
    expect(caught(() => domainToArgv(domainFromXml(xml).domain, { qemuVersion: '1.0' }))).toBe('Unrepresentable');
  });
  test('a CPU or node id set past 16383 (a hang: ids were expanded one by one)', () => {
    const big = '99999999999999999999999';
    expect(caught(() => domainFromArgvText(`qemu-system-x86_64 -m 64 -smp 2 -numa node,nodeid=0,cpus=${big},mem=64`))).toBe('IdOutOfRange');
    expect(caught(() => domainFromArgvText('qemu-system-x86_64 -m 64 -smp 2 -numa node,nodeid=0,cpus=0-99999999,mem=64'))).toBe('IdOutOfRange');
    expect(caught(() => domainFromArgvText('qemu-system-x86_64 -m 64 -smp 2 -numa node,nodeid=0,cpus=0-1,mem=64'))).toBe('ok');
  });
  test('an absolute clock start past what a date holds', () => {
    const xml = (start: string) =>
      `<domain type='qemu'><name>x</name><memory>65536</memory><os><type arch='x86_64' machine='pc'>hvm</type></os><clock offset='absolute' start='${start}'/><devices/></domain>`;
    expect(caught(() => domainToArgv(domainFromXml(xml('99999999999999999')).domain, { qemuVersion: '7.2' }))).toBe('Unrepresentable');
    expect(caught(() => domainToArgv(domainFromXml(xml('1234567890')).domain, { qemuVersion: '7.2' }))).toBe('ok');
  });
  test('a drive bus past 255 on -device (a hang: controllers were added up to it)', () => {
    const dev = (bus: string) => `qemu-system-x86_64 -m 64 -blockdev '{"driver":"file","filename":"/a.iso","node-name":"s"}' -device '{"driver":"ide-cd","bus":"ide.${bus}","unit":0,"drive":"s","id":"cd"}'`;
    expect(caught(() => domainFromArgvText(dev('18446744073709551616')))).toBe('AddressOutOfRange');
    expect(caught(() => domainFromArgvText(dev('1')))).toBe('ok');
  });
  test('a SCSI hostdev on a controller past 255 (controllers were added up to it)', () => {
    const line = (bus: string) =>
      `qemu-system-x86_64 -m 64 -blockdev '{"driver":"iscsi","portal":"example.org:3260","target":"iqn.1992-01.com.example:storage","lun":2,"transport":"tcp","node-name":"b","read-only":true}' -device '{"driver":"scsi-generic","drive":"b","id":"hostdev0","bus":"${bus}","channel":0,"scsi-id":0,"lun":0}'`;
    expect(caught(() => domainFromArgvText(line('scsi18446744073709551616.0')))).toBe('AddressOutOfRange');
    expect(caught(() => domainFromArgvText(line('scsi0.0')))).toBe('ok');
  });
  test('a <wwn> that is not 16 hex digits', () => {
    const xml = (wwn: string) =>
      `<domain type='qemu'><name>x</name><memory>65536</memory><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><disk type='file' device='disk'><source file='/a.img'/><target dev='sda' bus='scsi'/><wwn>${wwn}</wwn></disk></devices></domain>`;
    expect(caught(() => domainFromXml(xml('0x5000c\u00ff50015ea71ac')))).toBe('XmlBadValue');
    expect(caught(() => domainToArgv(domainFromXml(xml('5000c50015ea71ac')).domain, { qemuVersion: '7.2' }))).toBe('ok');
  });
  test('an xHCI controller with more ports than a root hub has (a table was sized by it)', () => {
    const xml = (ports: string) =>
      `<domain type='qemu'><name>x</name><memory>65536</memory><os><type arch='x86_64' machine='q35'>hvm</type></os><devices><controller type='usb' index='0' model='qemu-xhci' ports='${ports}'/><input type='tablet' bus='usb'/></devices></domain>`;
    expect(caught(() => domainToArgv(domainFromXml(xml('99999999999')).domain, { qemuVersion: '7.2' }))).toBe('AddressOutOfRange');
    expect(caught(() => domainToArgv(domainFromXml(xml('15')).domain, { qemuVersion: '7.2' }))).toBe('ok');
  });
  test('PCI controller index above 255', () => {
    const xml = (i: string) =>
      `<domain type='qemu'><name>x</name><memory>65536</memory><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><controller type='pci' index='${i}' model='pci-bridge'/></devices></domain>`;
    expect(caught(() => domainToArgv(domainFromXml(xml('4294967296')).domain, { qemuVersion: '7.2' }))).toBe('XmlBadValue');
    expect(caught(() => domainToArgv(domainFromXml(xml('256')).domain, { qemuVersion: '7.2' }))).toBe('XmlBadValue');
    expect(caught(() => domainToArgv(domainFromXml(xml('1')).domain, { qemuVersion: '7.2' }))).toBe('ok');
  });
});

describe('CLI on hostile input', () => {
  test('invalid UTF-8 and NUL bytes: a located error, exit 1', () => {
    const bad = Buffer.concat([Buffer.from("<domain type='qemu'>\n<name>a"), Buffer.from([0xff, 0xfe]), Buffer.from('</name></domain>')]);
    const r = domxml(['to-native', 'qemu-argv', '-'], bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('domxml: error: standard input:2:8: standard input is not valid UTF-8\n');
    const nul = domxml(['to-native', 'qemu-argv', '-'], "<domain type='qemu'>\0</domain>");
    expect(nul.code).toBe(1);
    expect(nul.stderr).toMatch(/^domxml: error: .*\n$/);
    expect(nul.stderr).not.toMatch(/internal error|    at /);
  });
  test('a batch reports each bad file, converts the rest, sums up, exits 1', () => {
    const good = join(dir, 'good.xml');
    writeFileSync(good, GOOD);
    writeFileSync(join(dir, 'bad.xml'), '<domain');
    const r = domxml(['to-native', 'qemu-argv', good, join(dir, 'bad.xml'), join(dir, 'missing.xml'), good]);
    expect(r.code).toBe(1);
    expect(r.stdout.match(/^# .*good\.xml$/gm)).toHaveLength(2);
    expect(r.stderr).toMatch(/bad\.xml:1:\d+: XML syntax error/);
    expect(r.stderr).toMatch(/cannot read .*missing\.xml: ENOENT/);
    expect(r.stderr).toMatch(/domxml: 2 of 4 converted, 2 failed\n$/);
  });
});

describe('-o FILE never loses the old file', () => {
  test('a failed run leaves the old file intact', () => {
    const out = join(dir, 'kept.args');
    writeFileSync(out, 'old\n');
    writeFileSync(join(dir, 'broken.xml'), '<domain type="qemu"><name>');
    expect(domxml(['to-native', 'qemu-argv', '-o', out, join(dir, 'broken.xml')]).code).toBe(1);
    expect(readFileSync(out, 'utf8')).toBe('old\n');
  });
  test('SIGKILL while writing leaves the old file intact', async () => {
    const out = join(dir, 'killed.xml');
    writeFileSync(out, 'old\n');
    // a large output: many options kept verbatim
    const args = join(dir, 'big.args');
    writeFileSync(args, `qemu-system-x86_64 -m 64 ${'-display none '.repeat(20000)}`);
    for (const delay of [50, 200, 400, 800]) {
      const child = spawn(BIN, ['from-native', 'qemu-argv', '-q', '-o', out, args], { cwd: ROOT, stdio: 'ignore' });
      // NB: listening before the delay: a run that finishes first must not leave us waiting for an exit already past
      const exited = new Promise((r) => child.on('exit', r));
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await exited;
      const now = readFileSync(out, 'utf8');
      // either untouched or the complete new output, never a half
      if (now !== 'old\n') expect(now).toMatch(/<\/domain>\n$/);
    }
  });
  test('a full disk fails cleanly and keeps the old file', () => {
    const mnt = join(dir, 'tiny');
    spawnSync('mkdir', [mnt]);
    if (process.getuid?.() !== 0 || spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', mnt]).status !== 0) return;
    try {
      const out = join(mnt, 'out.args');
      writeFileSync(out, 'old\n');
      writeFileSync(join(dir, 'big.xml'), GOOD.replace('</devices>', `${"<serial type='pty'/>".repeat(3)}</devices>`).replace(/<name>[^<]*</, `<name>${'n'.repeat(40000)}<`));
      const r = domxml(['to-native', 'qemu-argv', '-q', '-o', out, join(dir, 'big.xml')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^domxml: error: cannot write .*ENOSPC\n$/);
      expect(readFileSync(out, 'utf8')).toBe('old\n');
    } finally {
      spawnSync('umount', [mnt]);
    }
  });
});

// Command lines are printed to be pasted into a shell and re-read by from-native: a value must never
// become a second option (QemuOpts `,`), a second word or a command (shell metacharacters).
describe('argv hardening', () => {
  test('limits on argument count and length, with the location of the first one over', () => {
    expect(caught(() => domainFromArgvText(`qemu-system-x86_64 ${'-S '.repeat(MAX_ARG_COUNT)}`))).toBe('ok');
    expect(caught(() => domainFromArgvText(`qemu-system-x86_64 ${'-S '.repeat(MAX_ARG_COUNT + 1)}`))).toBe('ArgvLimit');
    const long = `qemu-system-x86_64 -m 64\n-name ${'x'.repeat(MAX_ARG_CHARS + 1)}`;
    let err: DomxmlError | undefined;
    try {
      domainFromArgvText(long, 'long.args');
    } catch (e) {
      err = e as DomxmlError;
    }
    expect(err?.diagnostic.code).toBe('ArgvLimit');
    expect(err?.diagnostic.span).toMatchObject({ file: 'long.args', line: 2, column: 7 });
    expect(caught(() => domainFromArgvText(`qemu-system-x86_64 -m 64 -name ${'x'.repeat(MAX_ARG_CHARS)}`))).toBe('ok');
  });

  // found by the long fuzz: a number past 2^53 printed as 1e+23, and an I/O thread numbered
  // 1e23 made a count that to-native (and from-native's trial compile) looped over
  test('counts: -smp must be whole numbers, I/O thread numbers follow the objects, huge counts are refused', () => {
    const huge = '99999999999999999999999';
    expect(caught(() => domainFromArgvText(`qemu-system-x86_64 -smp ${huge}`))).toBe('BadOptionValue');
    expect(caught(() => domainFromArgvText(`qemu-system-x86_64 -smp 2,sockets=0`))).toBe('BadOptionValue');
    const dom = domainFromArgvText(`qemu-system-x86_64 -object iothread,id=iothread${huge} -object iothread,id=iothread1`).domain;
    expect(dom.iothreads).toBe(2);
    const xml = GOOD.replace('</vcpu>', `</vcpu>\n  <iothreads>${MAX_ARG_COUNT + 1}</iothreads>`);
    expect(caught(() => domainToArgv(domainFromXml(xml, 'x.xml').domain))).toBe('ArgvLimit');
  });

  // found by the fuzz (session 5): queues=4294967296 on a tap asked for that many descriptors
  test('tap queues beyond what QEMU takes are refused, both ways, at the option or the interface', () => {
    expect(caught(() => domainFromArgvText('qemu-system-x86_64 -netdev tap,id=n0,ifname=t0,queues=4294967296 -device virtio-net-pci,netdev=n0'))).toBe('BadOptionValue');
    const xml = GOOD.replace('</devices>', "<interface type='ethernet'><model type='virtio'/><driver queues='4294967296'/></interface></devices>");
    expect(caught(() => domainToArgv(domainFromXml(xml, 'x.xml').domain))).toBe('XmlBadValue');
    expect(caught(() => domainFromArgvText('qemu-system-x86_64 -netdev tap,id=n0,ifname=t0,queues=4 -device virtio-net-pci,netdev=n0,mq=on'))).toBe('ok');
  });

  const SMUGGLED = '/srv/a,if=none,file=/etc/shadow';
  const SHELLY = "vm $(touch /tmp/pwned) `id` 'q' \"d\"\nline2";
  const hostile = (name: string) => `<domain type='qemu'>
  <name>${name.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;')}</name>
  <memory unit='KiB'>65536</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>/boot/k,initrd=/etc/shadow</kernel></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${SMUGGLED}'/><target dev='vda' bus='virtio'/></disk>
    <memballoon model='none'/>
  </devices>
</domain>`;

  // QEMU before 2.5 cut -name at its first comma, with no escape: such a name is an error there
  test('a name with a comma cannot be written for an old QEMU', () => {
    expect(caught(() => domainToArgv(domainFromXml(hostile(`a,process=x`), 'hostile.xml').domain, { qemuVersion: '1.0' }))).toBe('Unrepresentable');
  });
  for (const [version, NAME] of [['7.2', `${SHELLY},debug-threads=off`], ['1.0', SHELLY]] as const) {
    test(`QemuOpts commas and shell metacharacters cannot smuggle options (QEMU ${version})`, () => {
      const { argv } = domainToArgv(domainFromXml(hostile(NAME), 'hostile.xml').domain, { qemuVersion: version });
      const line = printArgvLine(argv);
      // the shell runs the printed line as one command with exactly the words and environment we
      // meant, and nothing else: the emulator is swapped for a script that prints what it got
      const dump = join(dir, 'argv-dump');
      writeFileSync(dump, `#!/bin/sh\nprintf '%s\\0' "$HOME" "$@"\n`, { mode: 0o755 });
      const sh = spawnSync('bash', ['-c', line.replace(argv.emulator, dump)], { encoding: 'utf8', cwd: dir });
      expect(sh.status).toBe(0);
      const home = argv.env.find(([k]) => k === 'HOME')![1];
      expect(sh.stdout.split('\0').slice(0, -1)).toEqual([home, ...argvWords(argv).slice(argv.env.length + 1)]);
      // read back: one disk with exactly that path, the name and kernel unchanged, no /etc/shadow anywhere else
      const back = domainFromArgvText(line, 'printed.args').domain;
      expect(back.name).toBe(NAME);
      expect(back.os.kernel).toBe('/boot/k,initrd=/etc/shadow');
      expect(back.devices.disks).toHaveLength(1);
      expect(back.devices.disks[0]!.source).toMatchObject({ file: SMUGGLED });
      expect(back.qemuCommandline).toBeUndefined();
    });
  }
});
