// The launcher's verbs (virsh's capabilities, list, dominfo, shutdown, destroy,
// qemu-monitor-command, and `launch`, which libvirt spells define+start): calling src/launch.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Argv as Yargs, CommandModule } from 'yargs';
import { capabilitiesXml, probeCapabilities } from '../launch/capabilities.js';
import { LaunchError } from '../launch/errors.js';
import { defaultUri, openInstance, type Instance } from '../launch/instance.js';
import { destroy, dominfo, domainState, findRunning, monitorRequest, shutdown } from '../launch/lifecycle.js';
import type { Json } from '../launch/qmp.js';
import { liveRecords } from '../launch/state.js';
import { launch } from '../launch/supervisor.js';

interface ConnArgs {
  connect?: string;
  config?: string;
}

const connOptions = <T>(y: Yargs<T>) =>
  y
    .option('connect', { alias: 'c', type: 'string', describe: 'qemu:///system (root: QEMU as qemu.conf\'s user) or qemu:///session (QEMU as you); default by who runs domxml' })
    .option('config', { type: 'string', describe: 'qemu.conf to read (default /etc/domxml/qemu.conf, or ~/.config/domxml/qemu.conf for session)' });

const open = (a: ConnArgs): Instance => openInstance(a.connect ?? defaultUri(), a.config);

const out = (s: string): void => void process.stdout.write(s.endsWith('\n') ? s : s + '\n');

/** Runs a verb; a refusal is one line on stderr and exit status 1. */
function run<A>(setCode: (c: number) => void, body: (a: A) => Promise<number | void>): (a: A) => Promise<void> {
  return async (a) => {
    try {
      setCode((await body(a)) ?? 0);
    } catch (err) {
      if (!(err instanceof LaunchError)) throw err;
      process.stderr.write(`domxml: error: ${err.message}\n`);
      setCode(1);
    }
  };
}

/** Detached launch: a supervisor of our own in the background, reporting back on a private socket. */
async function launchDetached(a: ConnArgs & { file: string; fixPermissions: boolean }): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'domxml-launch-'));
  const sock = join(dir, 'notify.sock');
  try {
    const message = new Promise<{ ok: boolean; lines?: string[]; error?: string }>((res) => {
      const server = createServer((c) => {
        let buf = '';
        c.setEncoding('utf8');
        c.on('data', (d: string) => (buf += d));
        c.on('end', () => {
          server.close();
          res(JSON.parse(buf) as { ok: boolean; lines?: string[]; error?: string });
        });
      });
      server.listen(sock);
    });
    const args = [...process.execArgv, process.argv[1]!, 'launch', a.file, '--foreground', '--notify', sock, '--connect', a.connect ?? defaultUri()];
    if (a.config) args.push('--config', a.config);
    if (a.fixPermissions) args.push('--fix-permissions');
    // the supervisor's own stderr, to explain a crash before it could report (the file is unlinked below)
    const errFile = join(dir, 'supervisor.err');
    const errFd = openSync(errFile, 'w', 0o600);
    const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', 'ignore', errFd], cwd: '/' });
    closeSync(errFd);
    const died = new Promise<{ ok: boolean; lines?: string[]; error?: string }>((res) =>
      child.once('exit', (code) => res({ ok: false, error: `the supervisor exited (status ${code}) before the guest started: ${readFileSync(errFile, 'utf8').trim()}` })),
    );
    const m = await Promise.race([message, died]);
    child.unref();
    if (!m.ok) throw new LaunchError(m.error ?? 'launch failed');
    out((m.lines ?? []).join('\n'));
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function notify(sock: string, msg: object): Promise<void> {
  return new Promise((res) => {
    const c = createConnection(sock, () => c.end(JSON.stringify(msg), () => res()));
    c.on('error', () => res());
  });
}

type Args = ConnArgs & Record<string, unknown>;

function printTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join('   ').trimEnd();
  return [fmt(rows[0]!), '-'.repeat(fmt(rows[0]!).length), ...rows.slice(1).map(fmt)].join('\n');
}

async function launchForeground(a: Args): Promise<number> {
  const inst = open(a);
  const file = resolve(String(a.file));
  const sock = a.notify as string | undefined;
  const say = (l: string): void => void (sock ? undefined : process.stderr.write(`domxml: ${l}\n`));
  let running;
  try {
    running = await launch(inst, file, { fixPermissions: Boolean(a['fix-permissions']), say });
  } catch (err) {
    if (sock) await notify(sock, { ok: false, error: (err as Error).message });
    throw err;
  }
  const stop = (): void => running.stop();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  if (sock) await notify(sock, { ok: true, lines: running.report });
  else out(running.report.join('\n'));
  const why = await running.ended;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  if (!sock) out(`Domain '${running.record.name}' stopped: ${why}`);
  return 0;
}

export function launchCommands(setCode: (c: number) => void): CommandModule<object, Args>[] {
  return [
    {
      command: 'capabilities',
      describe: 'What this host runs: emulators, their arches and machine types, KVM (libvirt capabilities XML)',
      builder: (y) => connOptions(y).option('format', { choices: ['xml', 'json'], default: 'xml', describe: 'output format' }) as unknown as Yargs<Args>,
      handler: run(setCode, async (a: Args) => {
        const caps = probeCapabilities(open(a));
        out(a.format === 'json' ? JSON.stringify(caps, null, 2) : capabilitiesXml(caps));
      }),
    },
    {
      command: 'launch <file>',
      describe: 'Start a guest from domain XML, as libvirt\'s QEMU driver would: checks first, then QEMU without privileges',
      builder: (y) =>
        connOptions(y)
          .positional('file', { type: 'string', describe: 'domain XML', demandOption: true })
          .option('fix-permissions', { type: 'boolean', describe: "give exclusive disk images to the guest's user while it runs (libvirt's dynamic_ownership)" })
          .option('foreground', { type: 'boolean', describe: 'stay attached until the guest ends (Ctrl-C stops it)' })
          .option('notify', { type: 'string', hidden: true })
          .example('$0 launch guest.xml', 'start in the background') as unknown as Yargs<Args>,
      handler: run(setCode, async (a: Args) => (a.foreground ? launchForeground(a) : launchDetached({ ...a, file: resolve(String(a.file)), fixPermissions: Boolean(a['fix-permissions']) }))),
    },
    {
      command: 'list',
      describe: 'Running guests',
      builder: (y) => connOptions(y) as unknown as Yargs<Args>,
      handler: run(setCode, async (a: Args) => {
        const rows = [['Id', 'Name', 'State']];
        for (const r of liveRecords(open(a))) rows.push([String(r.id), r.name, await domainState(r)]);
        out(printTable(rows));
      }),
    },
    {
      command: 'dominfo <domain>',
      describe: 'Facts about a running guest',
      builder: (y) => connOptions(y).positional('domain', { type: 'string', demandOption: true }) as unknown as Yargs<Args>,
      handler: run(setCode, async (a: Args) => {
        const rows = await dominfo(findRunning(open(a), String(a.domain)));
        out(rows.map(([k, v]) => `${(k + ':').padEnd(15)}${v}`).join('\n'));
      }),
    },
    {
      command: 'shutdown <domain>',
      describe: 'Press the ACPI power button; quit QEMU if the guest is still up after --timeout seconds',
      builder: (y) => connOptions(y).positional('domain', { type: 'string', demandOption: true }).option('timeout', { type: 'number', default: 60, describe: 'seconds to wait for the guest' }) as unknown as Yargs<Args>,
      handler: run(setCode, async (a: Args) => {
        const inst = open(a);
        out(await shutdown(inst, findRunning(inst, String(a.domain)), Number(a.timeout)));
      }),
    },
    {
      command: 'destroy <domain>',
      describe: 'Stop a guest at once (SIGTERM, then SIGKILL)',
      builder: (y) => connOptions(y).positional('domain', { type: 'string', demandOption: true }) as unknown as Yargs<Args>,
      handler: run(setCode, async (a: Args) => {
        const inst = open(a);
        out(await destroy(inst, findRunning(inst, String(a.domain))));
      }),
    },
    {
      command: 'qemu-monitor-command <domain> <command..>',
      describe: 'Send a QMP command (JSON) or, with --hmp, a human monitor command to a running guest',
      builder: (y) =>
        connOptions(y)
          .positional('domain', { type: 'string', demandOption: true })
          .positional('command', { type: 'string', array: true, demandOption: true })
          .option('hmp', { type: 'boolean', describe: 'COMMAND is an HMP command line (sent via human-monitor-command)' })
          .option('pretty', { type: 'boolean', describe: 'indent the JSON reply' }) as unknown as Yargs<Args>,
      handler: run(setCode, async (a: Args) => {
        const rec = findRunning(open(a), String(a.domain));
        const text = (a.command as string[]).join(' ');
        let req: { [k: string]: Json };
        if (a.hmp) req = { execute: 'human-monitor-command', arguments: { 'command-line': text } };
        else {
          try {
            req = JSON.parse(text) as { [k: string]: Json };
          } catch {
            throw new LaunchError(`'${text}' is not a QMP command in JSON; use --hmp for '${text}'`);
          }
        }
        const reply = (await monitorRequest(rec, req)) as { return?: Json; error?: { desc?: string } };
        if (a.hmp) {
          if (reply.error) throw new LaunchError(`QEMU: ${reply.error.desc}`);
          process.stdout.write(String(reply.return ?? ''));
          return 0;
        }
        out(JSON.stringify(reply, null, a.pretty ? 2 : undefined));
        return reply.error ? 1 : 0;
      }),
    },
  ];
}
