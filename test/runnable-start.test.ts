// Every golden domain's `to-native --runnable` line, run by a shell, starts a real QEMU 7.2 (TCG,
// paused by -S): its images made in a temporary directory, QMP answers on the monitor socket the
// line names, `quit` ends it with status 0 and nothing on stderr. (test/launch.test.ts covers the
// `domxml launch` verbs; this checks the printed command line itself.)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { domainFromXml, domainToArgv, printArgvLine } from '../src/index.js';
import { Qmp } from '../src/launch/qmp.js';
import { goldenCases } from './support/golden.js';

const QEMU = '/usr/bin/qemu-system-x86_64';
const QEMU_IMG = '/usr/bin/qemu-img';
const HAVE_QEMU = existsSync(QEMU) && existsSync(QEMU_IMG);

/**
 * The golden domains started here: self-contained guests. The others need what a test host does
 * not have (host block devices, network storage, host USB/PCI devices, hugepages, a TPM
 * emulator, listening peers) or pass made-up options on purpose (qemu-commandline).
 */
const RUNNABLE = [
  'cdrom-and-disk', 'kernel-boot', 'qcow2-virtio', 'quoting', 'serial-console', 'vnc-qemu-conf',
  'virt-install-direct-kernel', 'virt-install-nics-agent', 'virt-install-pc-ide', 'virt-install-q35-spice', 'virt-install-windows-hyperv',
];

/** Golden domains that need KVM, and why: TCG runs them only where /dev/kvm exists. */
const NEEDS_KVM: Readonly<Record<string, string>> = {
  'virt-install-windows-hyperv': "QEMU's Hyper-V enlightenments (hv-vpindex, hv-synic) are KVM's: TCG refuses them",
};

/** A bzImage header QEMU's x86 loader accepts (boot protocol 2.15, loads high, takes an initrd and a dtb). */
function fakeKernel(): Buffer {
  const k = Buffer.alloc(16384);
  k[0x1f1] = 1; // setup_sects: setup code is (1 + 1) * 512 bytes
  k.writeUInt16LE(0xaa55, 0x1fe);
  k.write('HdrS', 0x202, 'latin1');
  k.writeUInt16LE(0x020f, 0x206);
  k[0x211] = 0x01; // LOADED_HIGH
  k.writeUInt32LE(0x37ffffff, 0x22c); // initrd_addr_max
  return k;
}

/** A free TCP port (all above 5900, so a VNC display number too). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * The case's domain with every host path moved into DIR (and the files made): disk images
 * (qcow2 through qemu-img, else a sparse file), kernel/initrd/dtb; graphics on a free port.
 */
async function hostReady(xml: string, dir: string): Promise<string> {
  const made = new Map<string, string>();
  const place = (path: string, make: (p: string) => void): string => {
    let p = made.get(path);
    if (!p) {
      p = join(dir, `${made.size}-${basename(path)}`);
      make(p);
      made.set(path, p);
    }
    return p;
  };
  const attr = (p: string) => p.replace(/&/g, '&amp;').replace(/'/g, '&apos;');
  const unattr = (p: string) => p.replace(/&apos;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  let out = xml.replace(/<disk\b[\s\S]*?<\/disk>/g, (disk) => {
    const qcow2 = /<driver\b[^>]*\btype='qcow2'/.test(disk);
    return disk.replace(/(<source file=')([^']*)(')/, (_m, a: string, path: string, b: string) => {
      const p = place(unattr(path), (f) => {
        if (qcow2) expect(spawnSync(QEMU_IMG, ['create', '-q', '-f', 'qcow2', f, '64M']).status).toBe(0);
        else {
          writeFileSync(f, '');
          truncateSync(f, 64 << 20);
        }
      });
      return a + attr(p) + b;
    });
  });
  out = out.replace(/<(kernel|initrd|dtb)>([^<]*)<\/\1>/g, (_m, tag: string, path: string) => {
    const p = place(unattr(path.trim()), (f) => writeFileSync(f, tag === 'kernel' ? fakeKernel() : Buffer.alloc(4096)));
    return `<${tag}>${attr(p).replace(/</g, '&lt;')}</${tag}>`;
  });
  for (const m of out.match(/<graphics\b[^>]*>/g) ?? []) {
    const port = await freePort();
    const fixed = m.replace(/\s(?:port|autoport)='[^']*'/g, '').replace(/^<graphics\b/, `<graphics port='${port}' autoport='no'`);
    out = out.replace(m, fixed);
  }
  return out;
}

interface Run {
  readonly code: number | null;
  readonly stderr: string;
}

/** Runs the printed line with sh -c, quits through QMP, waits for the end. */
async function startAndQuit(line: string, monitor: string): Promise<Run> {
  // NB: its own process group, so that a hung QEMU is killed with the shell that started it
  const child = spawn('/bin/sh', ['-c', line], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const killAll = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const timer = setTimeout(killAll, 60000);
  let qmp: Qmp | undefined;
  try {
    qmp = await Promise.race([
      Qmp.connect(monitor, 30000),
      exited.then((code) => Promise.reject(new Error(`QEMU exited (status ${code}) before QMP answered:\n${stderr}`))),
    ]);
    const status = (await qmp.execute('query-status')) as { status?: string };
    expect(status.status).toBe('prelaunch');
    await qmp.execute('quit').catch(() => undefined); // the reply may lose the race with the exit
    return { code: await exited, stderr };
  } finally {
    qmp?.close();
    clearTimeout(timer);
    if (child.exitCode === null) killAll();
  }
}

const golden = goldenCases();
const cases = golden.filter((c) => RUNNABLE.includes(c.name) && (existsSync('/dev/kvm') || !(c.name in NEEDS_KVM)));
const maybe = HAVE_QEMU ? describe : describe.skip;

maybe('golden domains start in QEMU 7.2 from their --runnable line', () => {
  // NB: made on first use: jest may start concurrent tests before beforeAll hooks have run
  let tmpDir: string | undefined;
  const tmp = (): string => (tmpDir ??= mkdtempSync(join(tmpdir(), 'domxml-runnable-')));
  afterAll(() => {
    if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
  });

  test('every listed golden domain exists', () => {
    expect(RUNNABLE.filter((n) => !golden.some((c) => c.name === n && c.input === 'input.xml'))).toEqual([]);
  });

  // NB: concurrently: each start mostly waits on QEMU, and the suite has a time budget
  test.concurrent.each(cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const dir = join(tmp(), c.name.replace(/[^\w.-]/g, '_'));
    const state = join(dir, 'state');
    mkdirSync(state, { recursive: true });
    // what libvirt's start writes before QEMU runs: the master key, the channel socket directory
    writeFileSync(join(state, 'master-key.aes'), Buffer.alloc(32, 7), { mode: 0o600 });
    mkdirSync(join(dir, 'channel', 'target', 'state'), { recursive: true });
    let xml = await hostReady(readFileSync(join(c.dir, c.input), 'utf8'), dir);
    // NB: no /dev/kvm in most CI containers: the same guest under TCG, unless it needs KVM
    const accel = c.name in NEEDS_KVM ? 'kvm' : existsSync('/dev/kvm') ? undefined : 'qemu';
    if (accel) xml = xml.replace(/^(<domain\b[^>]*\btype=)'\w+'/m, `$1'${accel}'`);
    const { domain } = domainFromXml(xml, c.input);
    const { argv } = domainToArgv(domain, { qemuVersion: '7.2', runnable: true, stateDir: state });
    const line = printArgvLine(argv);
    expect(line).toContain(' -S ');
    const run = await startAndQuit(line, join(state, 'monitor.sock'));
    expect(run).toEqual({ code: 0, stderr: '' });
  });
});
