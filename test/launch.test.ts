// `domxml launch` and the lifecycle verbs with a real QEMU under TCG: a 512-byte boot sector
// (assembled below) prints a marker on COM1 and powers off through ACPI, or loops forever.
// As root the guest runs as a throw-away user created here; the pre-flight refusals are checked
// through the library (no QEMU may start), one of them through the CLI.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kvmState } from '../src/launch/emulator.js';
import { LaunchError } from '../src/launch/errors.js';
import { lookupUser } from '../src/launch/identity.js';
import { openInstance, type Instance } from '../src/launch/instance.js';
import { preflight } from '../src/launch/preflight.js';
import { liveRecords, processStart, writeRecord, type DomainRecord } from '../src/launch/state.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'domxml');
const QEMU = '/usr/bin/qemu-system-x86_64';
const IS_ROOT = process.getuid!() === 0;
const HAVE_TOOLS = existsSync(QEMU) && existsSync('/usr/bin/setpriv');
const GUEST_USER = 'domxml-testguest';
const MARKER = 'DOMXML-BOOT-OK';

/** xor ax,ax; mov ds,ax; cld; print MARKER on 0x3f8; then outw 0x604,0x2000 (PIIX4 PM1a_CNT: S5) or not; hlt loop. */
function bootSector(powerOff: boolean): Buffer {
  const print = [0x31, 0xc0, 0x8e, 0xd8, 0xfc, 0xba, 0xf8, 0x03, 0xbe, 0x21, 0x7c, 0xac, 0x84, 0xc0, 0x74, 0x03, 0xee, 0xeb, 0xf8];
  const off = powerOff ? [0xba, 0x04, 0x06, 0xb8, 0x00, 0x20, 0xef] : [0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90];
  const halt = [0xfa, 0x90, 0x90, 0x90, 0xf4, 0xeb, 0xfd];
  const code = Buffer.from([...print, ...off, ...halt]);
  // NB: the message address (0x7c21) is baked into the mov si above
  expect(code.length).toBe(0x21);
  const img = Buffer.alloc(512);
  code.copy(img);
  Buffer.from(`${MARKER}\r\n\0`).copy(img, code.length);
  img[510] = 0x55;
  img[511] = 0xaa;
  return img;
}

let tmp: string;
let uri: string;
let conf: string[];
let createdUser = false;
let guestUid = process.getuid!();
let guestGid = process.getgid!();

function domxml(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(BIN, args, { cwd: ROOT, encoding: 'utf8', timeout: 60000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const conn = (): string[] => ['--connect', uri, ...conf];

function guestXml(name: string, image: string, opts: { type?: string; emulator?: string; machine?: string; readonly?: boolean } = {}): string {
  const file = join(tmp, `${name}.xml`);
  writeFileSync(
    file,
    `<domain type='${opts.type ?? 'qemu'}'>
  <name>${name}</name>
  <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
  <memory unit='MiB'>16</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='${opts.machine ?? 'pc'}'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <devices>
    <emulator>${opts.emulator ?? QEMU}</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${image}'/><target dev='hda' bus='ide'/>${opts.readonly ? '<readonly/>' : ''}</disk>
    <serial type='file'><source path='${join(tmp, 'out', `${name}.serial`)}'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
`,
  );
  return file;
}

function image(name: string, powerOff: boolean, mode = 0o644): string {
  const p = join(tmp, 'img', name);
  writeFileSync(p, bootSector(powerOff), { mode });
  chmodSync(p, mode);
  return p;
}

const instance = (): Instance => openInstance(uri, conf[1]);
const dirOf = (sub: string): string => join(tmp, 'root', sub);

function refused(file: string, fix = false): string {
  try {
    preflight(instance(), file, fix);
  } catch (err) {
    if (err instanceof LaunchError) return err.message;
    throw err;
  }
  throw new Error('pre-flight accepted the guest');
}

function procStatus(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const m = /^(\w+):\s*(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** Nothing of NAME is left: no record, pidfile, control socket, state directory. */
function expectCleaned(name: string): void {
  const run = join(dirOf(IS_ROOT ? 'run/domxml/qemu' : 'run/domxml/qemu/run'));
  const left = existsSync(run) ? readdirSync(run).filter((f) => f.startsWith(`${name}.`)) : [];
  expect(left).toEqual([]);
  const lib = instance().libDir;
  expect(existsSync(lib) ? readdirSync(lib).filter((d) => d.endsWith(`-${name}`)) : []).toEqual([]);
}

const maybe = HAVE_TOOLS ? describe : describe.skip;

maybe('launch with QEMU 7.2 under TCG', () => {
  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` before the tests');
    tmp = mkdtempSync(join(tmpdir(), 'domxml-launch-'));
    // NB: the guest's user must be able to search every directory on the way to its files
    chmodSync(tmp, 0o755);
    mkdirSync(join(tmp, 'img'), { mode: 0o755 });
    mkdirSync(join(tmp, 'out'), { mode: 0o755 });
    if (IS_ROOT) {
      if (!lookupUser(GUEST_USER)) {
        execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', GUEST_USER]);
        createdUser = true;
      }
      const u = lookupUser(GUEST_USER)!;
      guestUid = u.uid;
      guestGid = u.gid;
      chownSync(join(tmp, 'out'), guestUid, guestGid);
      writeFileSync(join(tmp, 'qemu.conf'), `user = "${GUEST_USER}"\ngroup = "${GUEST_USER}"\n`);
      uri = `qemu:///system?root=${join(tmp, 'root')}`;
      conf = ['--config', join(tmp, 'qemu.conf')];
    } else {
      uri = `qemu:///session?root=${join(tmp, 'root')}`;
      conf = [];
    }
  });

  afterAll(() => {
    // a failed test may leave a guest behind: stop whatever this instance still runs
    if (uri) {
      const run = join(dirOf(IS_ROOT ? 'run/domxml/qemu' : 'run/domxml/qemu/run'));
      for (const f of existsSync(run) ? readdirSync(run).filter((x) => x.endsWith('.json')) : []) {
        const rec = JSON.parse(readFileSync(join(run, f), 'utf8')) as { pid: number; supervisorPid: number };
        for (const pid of [rec.supervisorPid, rec.pid]) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
      }
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    if (createdUser) execFileSync('userdel', [GUEST_USER]);
  });

  test('capabilities: the x86_64 emulator, its machines, KVM only where the guest user can use it', () => {
    const r = domxml('capabilities', ...conn());
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/<arch name='x86_64'>\s*<wordsize>64<\/wordsize>\s*<emulator>\/usr\/bin\/qemu-system-x86_64<\/emulator>/);
    expect(r.stdout).toContain("<machine canonical='pc-i440fx-7.2'>pc</machine>");
    expect(r.stdout).toContain("<domain type='qemu'/>");
    const kvm = kvmState({ user: GUEST_USER, uid: guestUid, gid: guestGid, groups: [guestGid], home: '/' });
    expect(r.stdout.includes("<domain type='kvm'/>")).toBe(kvm.usable);
    if (IS_ROOT) expect(r.stdout).toContain(`<baselabel type='qemu'>+${guestUid}:+${guestGid}</baselabel>`);
  });

  test('remote URIs are refused, and the URI decides who QEMU runs as', () => {
    expect(() => openInstance('qemu+ssh://host/system')).toThrow("remote connection 'qemu+ssh://host/system' is not supported here");
    expect(() => openInstance('qemu+tcp://host/session')).toThrow(LaunchError);
    expect(instance().guest.uid).toBe(guestUid);
    expect(instance().mode).toBe(IS_ROOT ? 'system' : 'session');
  });

  test('a guest boots in the foreground, prints on COM1, powers off; owner and state restored', () => {
    const img = image('poweroff.img', true, 0o600);
    const r = domxml('launch', '--foreground', '--fix-permissions', ...conn(), guestXml('bootsec', img));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Domain 'bootsec' started \(id \d+, pid \d+/);
    expect(r.stdout).toContain("Domain 'bootsec' stopped: shutdown (guest-shutdown)");
    expect(r.stdout).toContain('CapPrm 0000000000000000 CapEff 0000000000000000 CapInh 0000000000000000 CapAmb 0000000000000000');
    expect(readFileSync(join(tmp, 'out', 'bootsec.serial'), 'utf8')).toContain(MARKER);
    if (IS_ROOT) expect(r.stdout).toContain(`owner of ${img} set to ${guestUid}:${guestGid} (was 0:0`);
    const st = statSync(img);
    expect([st.uid, st.gid]).toEqual([process.getuid!(), process.getgid!()]);
    expect(readFileSync(join(dirOf(IS_ROOT ? 'var/log/domxml/qemu' : 'cache/domxml/qemu/log'), 'bootsec.log'), 'utf8')).toMatch(/event SHUTDOWN .*guest-shutdown/);
    expectCleaned('bootsec');
  });

  test('a detached guest: uid/gid, no capabilities, clean environment, monitor commands, shutdown', () => {
    const img = image('loop.img', false);
    const r = domxml('launch', '--fix-permissions', ...conn(), guestXml('looper', img));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const pid = Number(/pid (\d+)/.exec(r.stdout)![1]);
    const status = procStatus(pid);
    expect(status.Uid!.split(/\s+/)).toEqual(Array(4).fill(String(guestUid)));
    expect(status.Gid!.split(/\s+/)).toEqual(Array(4).fill(String(guestGid)));
    for (const set of ['CapPrm', 'CapEff', 'CapInh', 'CapAmb']) expect([set, status[set]]).toEqual([set, '0000000000000000']);
    if (IS_ROOT) expect(status.CapBnd).toBe('0000000000000000');
    expect(status.NoNewPrivs).toBe('1');
    expect(status.Umask).toBe('0002');
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean).map((e) => e.split('=')[0]);
    expect(env.sort()).toEqual(['HOME', 'LC_ALL', 'PATH', 'XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME']);
    // no descriptor of the launcher's leaks: QEMU's 0-2 are /dev/null and the log
    expect(readdirSync(`/proc/${pid}/fd`).map(Number).filter((fd) => fd <= 2).length).toBe(3);
    expect(Number(readFileSync(join(dirOf(IS_ROOT ? 'run/domxml/qemu' : 'run/domxml/qemu/run'), 'looper.pid'), 'utf8'))).toBe(pid);
    const key = statSync(join(instance().libDir, readdirSync(instance().libDir).find((d) => d.endsWith('-looper'))!, 'master-key.aes'));
    expect([key.size, key.mode & 0o777, key.uid]).toEqual([32, 0o600, guestUid]);

    const list = domxml('list', ...conn());
    expect(list.stdout).toMatch(/^\d+\s+looper\s+running$/m);
    const qmp = domxml('qemu-monitor-command', ...conn(), 'looper', '{"execute":"query-status"}');
    expect(JSON.parse(qmp.stdout)).toEqual({ return: { status: 'running', singlestep: false, running: true } });
    const hmp = domxml('qemu-monitor-command', ...conn(), '--hmp', 'looper', 'info status');
    expect(hmp.stdout).toMatch(/^VM status: running/);
    expect(readFileSync(join(tmp, 'out', 'looper.serial'), 'utf8')).toContain(MARKER);

    // the boot sector ignores the power button: shutdown falls back to quit after the timeout
    const sd = domxml('shutdown', ...conn(), '--timeout', '1', 'looper');
    expect(sd.stdout).toContain("Domain 'looper' shut down: no power-off within 1s, QEMU told to quit");
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(statSync(img).uid).toBe(process.getuid!());
    expectCleaned('looper');
  });

  // a UEFI guest: <os firmware='efi'> resolved from this host's descriptors (Debian's ovmf), its
  // variable store made from the template on the first start and kept for the next
  (existsSync('/usr/share/qemu/firmware/60-edk2-x86_64.json') ? test : test.skip)("<os firmware='efi'>: this host's OVMF, a variable store from its template", () => {
    const file = join(tmp, 'uefi.xml');
    writeFileSync(
      file,
      `<domain type='qemu'><name>uefi</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
  <os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type><firmware><feature enabled='no' name='secure-boot'/></firmware></os>
  <features><acpi/></features>
  <devices><emulator>${QEMU}</emulator><memballoon model='none'/></devices></domain>
`,
    );
    const r = domxml('launch', ...conn(), file);
    expect(r.code).toBe(0);
    const vars = join(instance().libDir, 'nvram', 'uefi_VARS.fd');
    const pid = Number(/pid (\d+)/.exec(r.stdout)![1]);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    expect(cmdline).toContain('"filename":"/usr/share/OVMF/OVMF_CODE_4M.fd"');
    expect(cmdline).toContain(`"filename":"${vars}"`);
    expect(readFileSync(vars).equals(readFileSync('/usr/share/OVMF/OVMF_VARS_4M.fd'))).toBe(true);
    expect([statSync(vars).uid, statSync(vars).mode & 0o777]).toEqual([guestUid, 0o600]);
    const qmp = domxml('qemu-monitor-command', ...conn(), 'uefi', '{"execute":"query-status"}');
    expect(JSON.parse(qmp.stdout).return.status).toBe('running');
    expect(domxml('destroy', ...conn(), 'uefi').code).toBe(0);
    // the second start keeps the guest's variables
    writeFileSync(vars, Buffer.alloc(statSync(vars).size, 7));
    const again = domxml('launch', ...conn(), file);
    expect([again.code, again.stderr]).toEqual([0, '']);
    expect(readFileSync(vars)[0]).toBe(7);
    expect(domxml('destroy', ...conn(), 'uefi').code).toBe(0);
    expectCleaned('uefi');
  });

  test('destroy', () => {
    const img = image('loop2.img', false);
    expect(domxml('launch', '--fix-permissions', ...conn(), guestXml('victim', img)).code).toBe(0);
    expect(domxml('destroy', ...conn(), 'victim').stdout).toContain("Domain 'victim' destroyed");
    expectCleaned('victim');
    expect(statSync(img).uid).toBe(process.getuid!());
  });

  test('QEMU that fails to start: its own error, nothing left behind (detached launch)', () => {
    const img = image('bad.img', true, 0o600);
    const xml = readFileSync(guestXml('badopt', img), 'utf8').replace("<domain type='qemu'>", "<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>");
    writeFileSync(join(tmp, 'badopt.xml'), xml.replace('</devices>', "</devices><qemu:commandline><qemu:arg value='-no-such-option'/></qemu:commandline>"));
    const r = domxml('launch', '--fix-permissions', ...conn(), join(tmp, 'badopt.xml'));
    expect([r.code, r.stdout]).toEqual([1, '']);
    expect(r.stderr).toBe('domxml: error: QEMU failed to start (exit status 1):\nqemu-system-x86_64: -no-such-option: invalid option\n');
    expect(statSync(img).uid).toBe(process.getuid!());
    expectCleaned('badopt');
  });

  test('a record whose QEMU died, or whose pid now runs something else, is cleaned, never listed', () => {
    const inst = instance();
    const img = image('stale.img', false);
    if (IS_ROOT) chownSync(img, guestUid, guestGid);
    const base = {
      uri, emulator: QEMU, supervisorPid: 999999, supervisorStart: '1', logFile: join(tmp, 'x.log'), xmlFile: join(tmp, 'x.xml'),
      guest: { user: GUEST_USER, uid: guestUid, gid: guestGid }, startedAt: new Date().toISOString(),
    };
    const dead = spawnSync('true').pid!;
    const fake = (name: string, id: number, pid: number, pidStart: string): DomainRecord => {
      const stateDir = join(inst.libDir, `domain-${id}-${name}`);
      mkdirSync(stateDir, { recursive: true });
      return { ...base, name, id, pid, pidStart, stateDir, monitor: join(stateDir, 'monitor.sock'), control: join(inst.runDir, `${name}.ctl`), chowned: [] };
    };
    mkdirSync(inst.runDir, { recursive: true });
    // the pid is gone; and a live pid (this test runner) whose program is not the emulator
    writeRecord(inst, { ...fake('gone', 901, dead, '1'), chowned: [{ path: img, uid: process.getuid!(), gid: process.getgid!() }] });
    writeRecord(inst, fake('reused', 902, process.pid, processStart(process.pid)!));
    expect(liveRecords(inst)).toEqual([]);
    expectCleaned('gone');
    expectCleaned('reused');
    expect(statSync(img).uid).toBe(process.getuid!());
  });

  describe('refused before QEMU starts', () => {
    const rootOnly = IS_ROOT ? test : test.skip;

    rootOnly('a disk under a directory the guest user cannot search', () => {
      const dir = join(tmp, 'private');
      mkdirSync(dir, { mode: 0o700 });
      writeFileSync(join(dir, 'd.img'), bootSector(true), { mode: 0o666 });
      expect(refused(guestXml('hidden', join(dir, 'd.img')), true)).toBe(
        `disk hda: ${join(dir, 'd.img')} is not reachable by ${GUEST_USER} (uid ${guestUid}): directory ${dir} (drwx------ root:root) denies search; allow it with \`chmod o+x ${dir}\``,
      );
    });

    rootOnly('an image the guest user cannot read', () => {
      const img = image('secret.img', true, 0o600);
      expect(refused(guestXml('unreadable', img, { readonly: true }))).toBe(`disk hda: ${GUEST_USER} (uid ${guestUid}) cannot read ${img} (-rw------- root:root)`);
      expect(refused(guestXml('unwritable', img))).toBe(
        `disk hda: ${GUEST_USER} (uid ${guestUid}) cannot read or write ${img} (-rw------- root:root); --fix-permissions hands it to the guest's user while the guest runs`,
      );
      // shared and read-only images are never handed over
      expect(refused(guestXml('unreadable', img, { readonly: true }), true)).toContain('cannot read');
    });

    test("type='kvm' when the guest user cannot open /dev/kvm (through the CLI)", () => {
      const kvm = kvmState({ user: GUEST_USER, uid: guestUid, gid: guestGid, groups: [guestGid], home: '/' });
      if (kvm.usable) return;
      const r = domxml('launch', '--foreground', ...conn(), guestXml('kvmguest', image('k.img', true), { type: 'kvm' }));
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`domxml: error: <domain type='kvm'> needs KVM: ${kvm.reason}\n`);
      expect(existsSync(join(tmp, 'out', 'kvmguest.serial'))).toBe(false);
      expectCleaned('kvmguest');
    });

    rootOnly('/dev/kvm that only a group may open: name the group to join', () => {
      const dev = join(tmp, 'kvm');
      execFileSync('mknod', ['-m', '0660', dev, 'c', '10', '232']);
      const r = kvmState({ user: GUEST_USER, uid: guestUid, gid: guestGid, groups: [guestGid], home: '/' }, dev);
      expect(r).toEqual({ usable: false, reason: `${GUEST_USER} (uid ${guestUid}) cannot open ${dev} read-write (crw-rw---- root:root); add ${GUEST_USER} to group 'root' (usermod -aG root ${GUEST_USER}), or use <domain type='qemu'>` });
      expect(kvmState({ user: 'x', uid: guestUid, gid: guestGid, groups: [0], home: '/' }, dev)).toEqual({ usable: true });
    });

    test('a missing emulator, and a machine type the emulator lacks', () => {
      const img = image('m.img', true);
      expect(refused(guestXml('noemu', img, { emulator: '/opt/nowhere/qemu-system-x86_64' }))).toBe(
        'emulator /opt/nowhere/qemu-system-x86_64 does not exist: install it (apt-get install qemu-system-x86 for x86) or fix <emulator>',
      );
      expect(refused(guestXml('nomachine', img, { machine: 'pc-i440fx-99.0' }))).toMatch(/^emulator \/usr\/bin\/qemu-system-x86_64 does not support machine type 'pc-i440fx-99.0' \(it has /);
    });
  });
});
