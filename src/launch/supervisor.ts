// Starting a guest and looking after it until it ends, as libvirtd's QEMU driver does for each
// guest: state directory and master key for the guest's user, QEMU under setpriv (uid, gid,
// groups, no capabilities, clean environment, umask 002, no stray fds) started paused, QMP
// handshake, cgroup, `cont`; then events (SHUTDOWN -> on_poweroff), a control socket that
// proxies QMP for lifecycle commands, and undoing every change when QEMU exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, closeSync, fstatSync, openSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { argvWords, printArgvLine } from '../emit/argv.js';
import { domainShortName } from '../emit/context.js';
import { prepareNvram } from './firmware.js';
import { domainToArgv } from '../emit/to-argv.js';
import { placeInCgroup } from './cgroup.js';
import { refuse } from './errors.js';
import type { Instance } from './instance.js';
import { preflight } from './preflight.js';
import { Qmp, type Json } from './qmp.js';
import { claimName, cleanup, controlSocket, ensureDir, isQemuAlive, nextId, pidFile, processStart, readRecord, releaseName, writeRecord, type DomainRecord } from './state.js';

export interface LaunchOptions {
  readonly fixPermissions: boolean;
  /** lines for the user as the guest comes up */
  readonly say: (line: string) => void;
}

export interface Running {
  readonly record: DomainRecord;
  readonly report: readonly string[];
  /** resolves when QEMU has exited and everything is undone */
  readonly ended: Promise<string>;
  /** ask QEMU to quit (foreground Ctrl-C) */
  readonly stop: () => void;
}

const O_CLOEXEC = 0o2000000;

/** NB: libuv does not close inherited descriptors in the child; drop ours that would leak into QEMU. */
function closeInheritedFds(): void {
  for (const name of readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    if (fd <= 2) continue;
    try {
      const flags = /flags:\s+(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
      if (flags && (parseInt(flags[1]!, 8) & O_CLOEXEC) === 0) closeSync(fd);
    } catch {
      /* the directory's own fd, already gone */
    }
  }
}

/** setpriv's arguments: the guest identity and an empty capability set, whatever the caller had. */
function privilegeArgs(inst: Instance): { args: string[]; note: string } {
  const g = inst.guest;
  const args: string[] = [];
  const asRoot = process.getuid!() === 0;
  if (asRoot) {
    args.push(`--reuid=${g.uid}`, `--regid=${g.gid}`, g.groups.length ? `--groups=${g.groups.join(',')}` : '--clear-groups');
    // NB: with the bounding and inheritable sets empty, exec gives even uid 0 no capabilities
    args.push('--bounding-set=-all');
  }
  args.push('--inh-caps=-all', '--ambient-caps=-all', '--no-new-privs');
  const note = asRoot ? 'all capability sets empty (bounding set dropped)' : 'no capabilities (bounding set left as is: dropping it needs CAP_SETPCAP)';
  return { args, note };
}

function timestamp(): string {
  return new Date().toISOString().replace('T', ' ').replace('Z', '+0000');
}

function capsLine(pid: number): string {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const get = (k: string): string => new RegExp(`^${k}:[ \\t]*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '?';
    return `uid ${get('Uid').split(/\s+/)[0]} gid ${get('Gid').split(/\s+/)[0]} groups [${get('Groups')}] CapPrm ${get('CapPrm')} CapEff ${get('CapEff')} CapInh ${get('CapInh')} CapAmb ${get('CapAmb')} CapBnd ${get('CapBnd')} NoNewPrivs ${get('NoNewPrivs')}`;
  } catch {
    return 'process status unreadable';
  }
}

/** What QEMU wrote to the log since `from` (the header and command line written before it left out). */
function logTail(file: string, from: number, lines = 8): string {
  try {
    return readFileSync(file).subarray(from).toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export async function launch(inst: Instance, xmlFile: string, opts: LaunchOptions): Promise<Running> {
  const { guest } = inst;
  const owner = inst.mode === 'system' ? { uid: guest.uid, gid: guest.gid } : undefined;
  // NB: runDir stays the launcher's: it holds the records that say whose files to give back
  ensureDir(inst.runDir, 0o755);
  ensureDir(inst.libDir, 0o751, owner);
  ensureDir(inst.cacheDir, 0o750, owner);
  ensureDir(inst.logDir, 0o700);
  const plan = preflight(inst, xmlFile, opts.fixPermissions);
  const dom = plan.domain;
  for (const w of plan.warnings) opts.say(`warning: ${w}`);

  if (!claimName(inst, dom.name)) refuse(`domain '${dom.name}' is being started by another launch`);
  let claimed = true;
  const old = readRecord(inst, dom.name);
  if (old) {
    if (isQemuAlive(old)) {
      releaseName(inst, dom.name);
      refuse(`domain '${dom.name}' is already running (id ${old.id}, pid ${old.pid})`);
    }
    cleanup(inst, old);
    claimName(inst, dom.name);
  }

  // NB: a UEFI guest's first start makes its variable store from the firmware's template
  const nvram = prepareNvram(dom, owner);
  if (nvram) opts.say(`created the guest's UEFI variable store ${nvram}`);

  const id = nextId(inst);
  const stateDir = join(inst.libDir, `domain-${domainShortName(id, dom.name)}`);
  // the master key libvirt hands QEMU for encrypting secrets: 32 random bytes only QEMU can read;
  // the command line's secret objects are encrypted with it
  const masterKey = randomBytes(32);
  const { argv, diagnostics } = domainToArgv(dom, { runnable: true, config: inst.conf, stateDir, qemuVersion: plan.version, masterKey });
  for (const d of diagnostics.items) opts.say(`warning: ${d.message}`);
  const words = argvWords({ ...argv, env: [] });
  const monitor = join(stateDir, 'monitor.sock');
  const logFile = join(inst.logDir, `${dom.name}.log`);
  const control = controlSocket(inst, dom.name);
  const chowned: { path: string; uid: number; gid: number }[] = [];
  let child: ChildProcess | undefined;
  let qmp: Qmp | undefined;
  let server: Server | undefined;
  let record: DomainRecord | undefined;
  let exited: Promise<string> | undefined;
  const undoPartial = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      // NB: a cgroup can only be removed once QEMU has left it
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    }
    qmp?.close();
    server?.close();
    cleanup(inst, record ?? ({ name: dom.name, stateDir, chowned, pid: 0 } as unknown as DomainRecord));
    claimed = false;
  };

  try {
    ensureDir(stateDir, 0o750, { uid: guest.uid, gid: guest.gid });
    const key = join(stateDir, 'master-key.aes');
    writeFileSync(key, masterKey, { mode: 0o600 });
    chownSync(key, guest.uid, guest.gid);
    for (const c of plan.chown) {
      chownSync(c.path, guest.uid, guest.gid);
      chowned.push(c);
    }

    const logFd = openSync(logFile, 'a', 0o600);
    const priv = privilegeArgs(inst);
    writeSync(logFd, `${timestamp()}: starting up domxml, qemu version ${plan.version.join('.')}\n${printArgvLine(argv)}\n`);
    const qemuOutput = fstatSync(logFd).size;
    closeInheritedFds();
    const env = Object.fromEntries(argv.env);
    const oldMask = process.umask(0o002);
    try {
      child = spawn(plan.setpriv, [...priv.args, '--', ...words], { env, cwd: '/', stdio: ['ignore', logFd, logFd], argv0: plan.setpriv });
    } finally {
      process.umask(oldMask);
      closeSync(logFd);
    }
    exited = new Promise<string>((resolve) => child!.once('exit', (code, sig) => resolve(sig ? `killed by signal ${sig}` : `exit status ${code}`)));
    const pid = child.pid;
    if (pid === undefined) refuse(`could not start ${plan.setpriv}`);
    // QEMU is up once its monitor answers; if it exits first, its log says why
    const early = exited.then((why) => refuse(`QEMU failed to start (${why}):\n${logTail(logFile, qemuOutput)}`));
    early.catch(() => undefined);
    qmp = await Promise.race([Qmp.connect(monitor, 15000), early]);
    const emulatorReal = realpathSync(plan.emulator);
    record = {
      name: dom.name, ...(dom.uuid ? { uuid: dom.uuid } : {}), id, uri: inst.uri, emulator: emulatorReal,
      pid, pidStart: processStart(pid) ?? '', supervisorPid: process.pid, supervisorStart: processStart(process.pid) ?? '',
      stateDir, monitor, control, logFile, xmlFile: plan.xmlFile,
      guest: { user: guest.user, uid: guest.uid, gid: guest.gid }, chowned, startedAt: new Date().toISOString(),
    };
    writeFileSync(pidFile(inst, dom.name), `${pid}\n`, { mode: 0o644 });
    const cg = placeInCgroup(inst.mode, id, dom.name, pid);
    record = { ...record, ...(cg.path ? { cgroup: cg.path } : {}) };
    writeRecord(inst, record);

    const status = (await qmp.execute('query-status')) as { status?: string };
    if (status.status !== 'prelaunch') refuse(`QEMU is '${status.status}', expected 'prelaunch' (started with -S)`);
    server = await serveControl(control, qmp);
    const ended = supervise(inst, record, qmp, exited, server, dom.onPoweroff ?? 'destroy');
    await qmp.execute('cont');
    claimed = false;
    releaseName(inst, dom.name);
    const report = [
      `Domain '${dom.name}' started (id ${id}, pid ${pid}, ${inst.uri})`,
      `QEMU runs as ${guest.user}: ${capsLine(pid)}`,
      `privileges: setpriv ${priv.args.join(' ')}; ${priv.note}; umask 002; environment: ${argv.env.map(([k]) => k).join(' ')}`,
      cg.note,
      ...chowned.map((c) => `owner of ${c.path} set to ${guest.uid}:${guest.gid} (was ${c.uid}:${c.gid}; restored when the guest stops)`),
      `log: ${logFile}`,
    ];
    const q = qmp;
    return { record, report, ended, stop: () => void q.execute('quit').catch(() => child?.kill('SIGTERM')) };
  } catch (err) {
    await undoPartial();
    throw err;
  } finally {
    if (claimed) releaseName(inst, dom.name);
  }
}

/** Follows the guest until QEMU exits; then undoes the launch's changes. Resolves to why it ended. */
async function supervise(inst: Instance, rec: DomainRecord, qmp: Qmp, exited: Promise<string>, server: Server, onPoweroff: string): Promise<string> {
  const log = (line: string): void => {
    try {
      writeFileSync(rec.logFile, `${timestamp()}: ${line}\n`, { flag: 'a' });
    } catch {
      /* the log is best effort */
    }
  };
  let reason: string | undefined;
  qmp.onEvent((e) => {
    log(`event ${e.event} ${JSON.stringify(e.data ?? {})}`);
    if (e.event !== 'SHUTDOWN') return;
    const data = e.data as { guest?: boolean; reason?: string } | undefined;
    // the first SHUTDOWN says why; the quit that follows reports one of its own
    reason ??= `shutdown (${data?.reason ?? 'unknown'})`;
    // NB: libvirt runs QEMU with -no-shutdown: a powered-off guest stops, and on_poweroff decides
    if (onPoweroff === 'restart' || onPoweroff === 'rename-restart') {
      void qmp.execute('system_reset').then(() => qmp.execute('cont')).catch(() => undefined);
    } else if (onPoweroff !== 'preserve') void qmp.execute('quit').catch(() => undefined);
  });
  const why = await exited;
  qmp.close();
  server.close();
  const notes = cleanup(inst, rec);
  log(`shutting down, reason=${reason ?? 'QEMU exited'}, ${why}`);
  for (const n of notes) log(n);
  return `${reason ?? 'QEMU exited'}, QEMU ${why}`;
}

/** RUN_DIR/NAME.ctl: one JSON request per line, forwarded to QMP; the reply comes back on one line. */
function serveControl(path: string, qmp: Qmp): Promise<Server> {
  rmSync(path, { force: true });
  const server = createServer((conn) => {
    let buf = '';
    conn.setEncoding('utf8');
    conn.on('error', () => conn.destroy());
    conn.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let req: { [k: string]: Json };
        try {
          req = JSON.parse(line) as { [k: string]: Json };
        } catch {
          conn.write(JSON.stringify({ error: { class: 'GenericError', desc: 'request is not JSON' } }) + '\n');
          continue;
        }
        qmp.request(req).then(
          (reply) => conn.write(JSON.stringify(reply) + '\n'),
          (err: Error) => conn.write(JSON.stringify({ error: { class: 'GenericError', desc: err.message } }) + '\n'),
        );
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const oldMask = process.umask(0o077);
    server.listen(path, () => {
      process.umask(oldMask);
      resolve(server);
    });
  });
}
