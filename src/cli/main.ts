// The domxml command line: virsh's verbs, calling the library. No conversion logic lives here.
//
// Start-up time is part of the interface (scripts call domxml once per guest), so nothing is
// loaded before it is needed: the common conversions are dispatched without yargs when their
// arguments are plain (see quickParse), and each verb imports its own modules (the bundle in
// dist/bundle/ turns these dynamic imports into chunks: to-native never loads chevrotain,
// validate never loads the emitters). Help, usage errors and the other verbs go through yargs.
import { readFileSync, readlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Argv as Yargs, CommandModule, Options } from 'yargs';
import { DomxmlError, formatDiagnostic, type Diagnostic } from '../errors.js';
import { DEFAULT_QEMU_VERSION } from '../qemu/caps.js';
import type { FileResult, FromNativeJob, Job } from './convert.js';
import type { ValidateArgs } from './validate-command.js';
import { writeFileAtomic, writeStdout } from './io.js';

const EXIT_OK = 0;
const EXIT_INVALID = 1;
const EXIT_USAGE = 2;

class UsageError extends Error {}

interface Common {
  files: string[];
  output?: string;
  quiet?: boolean;
}

interface ToNativeArgs extends Common {
  format: string;
  'qemu-version'?: string;
  config?: string;
  'state-dir'?: string;
  'secrets-dir'?: string;
  'firmware-dir'?: string | string[];
  'probe-host'?: boolean;
  runnable?: boolean;
  pretty?: boolean;
}

interface FromNativeArgs extends Common {
  format: string;
  pid?: number;
  minimal?: boolean;
  strict?: boolean;
  cwd?: string;
}

function say(kind: 'error' | 'warning', text: string): void {
  process.stderr.write(`domxml: ${kind}: ${text}\n`);
}

function report(d: Diagnostic, file: string, quiet: boolean | undefined): void {
  if (quiet && d.severity === 'warning') return;
  process.stderr.write(`domxml: ${formatDiagnostic(d, file)}\n`);
}

function checkFormat(format: string): void {
  // virsh accepts only "qemu-argv" for the QEMU driver
  if (format !== 'qemu-argv') throw new UsageError(`unsupported configuration: Unsupported config type ${format}`);
}

/** Fewer inputs than this convert faster on the main thread than it takes to start workers. */
const PARALLEL_MIN_FILES = 256;

/**
 * Converts every input; bad inputs are reported and the rest still converted. Large batches are
 * shared among worker threads (one per core), each converting a contiguous slice; results are
 * reported and printed in input order either way.
 */
async function runBatch(a: Common, job: Job, pidText?: { text: string; label: string }): Promise<number> {
  if (a.output && a.files.length > 1) throw new UsageError('-o/--output takes one input file');
  const { converterFor, convertFile } = await import('./convert.js');
  // NB: built before any input is read, so a bad qemu.conf fails the run once, not per file
  const convert = await converterFor(job);
  const labels = a.files.map((f) => (f === '-' ? '<stdin>' : f));
  let results: readonly FileResult[];
  if (pidText) results = [convertFile(convert, '-', pidText.label, () => pidText.text)];
  else if (a.files.length >= PARALLEL_MIN_FILES && !a.files.includes('-') && (await cores()) > 1) results = await inWorkers(job, a.files);
  else results = a.files.map((file, i) => convertFile(convert, file, labels[i]!));
  const outputs: string[] = [];
  let failed = 0;
  results.forEach((r, i) => {
    const label = pidText?.label ?? labels[i]!;
    if (r.ok) {
      for (const d of r.diagnostics) report(d, label, a.quiet);
      outputs.push(a.files.length > 1 ? `# ${label}\n${r.output}` : r.output);
      return;
    }
    failed++;
    if ('error' in r) report(r.error, label, false);
    else say('error', `${label}: internal error: ${r.internal}`);
  });
  const text = outputs.join('');
  if (a.output) {
    if (failed === 0) writeFileAtomic(a.output, text);
  } else writeStdout(text);
  if (a.files.length > 1) process.stderr.write(`domxml: ${a.files.length - failed} of ${a.files.length} converted, ${failed} failed\n`);
  return failed ? EXIT_INVALID : EXIT_OK;
}

async function cores(): Promise<number> {
  return (await import('node:os')).availableParallelism();
}

/** Splits the files into one contiguous slice per core and converts the slices in worker threads. */
async function inWorkers(job: Job, files: readonly string[]): Promise<FileResult[]> {
  const { Worker } = await import('node:worker_threads');
  const n = Math.min(await cores(), Math.ceil(files.length / (PARALLEL_MIN_FILES / 2)));
  // NB: the bundle (dist/bundle/domxml.cjs) has the worker as its own entry; tsc's dist/cli/ has it as .js
  const url = new URL(import.meta.url.endsWith('.cjs') ? './batch-worker.cjs' : './batch-worker.js', import.meta.url);
  const size = Math.ceil(files.length / n);
  const shares = Array.from({ length: n }, (_, i) => files.slice(i * size, (i + 1) * size));
  const done = shares.map(
    (share) =>
      new Promise<FileResult[]>((resolve, reject) => {
        const w = new Worker(url, { workerData: { job, files: share } });
        w.once('message', (m: FileResult[]) => resolve(m));
        w.once('error', reject);
        w.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`batch worker exited with ${code}`))));
      }),
  );
  return (await Promise.all(done)).flat();
}

const toNativeHelp = `Compile domain XML to the QEMU command line libvirt would run.

Default output is what \`virsh domxml-to-native qemu-argv\` prints (libvirt 9.0, QEMU ${DEFAULT_QEMU_VERSION}).
--runnable prints a command QEMU can run as-is instead: libvirt's pre-opened file descriptors
(monitor fd, tap/vhost fds) are replaced by paths and named devices.
What libvirt reads from its host when a domain starts (DRM render nodes, hugetlbfs mounts, the
firmware descriptors of <os firmware='efi'>, the SMBIOS tables of <smbios mode='host'>) is read
from this machine only with --probe-host;
otherwise a stock Debian 12 host is assumed.`;

const fromNativeHelp = `Turn a QEMU command line (legacy or modern syntax) into domain XML.

Options with no domain XML equivalent are kept in <qemu:commandline>, each named in a warning.`;

// NB: quickParse reads these same tables, so an option added here works on both paths.
const TO_NATIVE_OPTIONS = {
  'qemu-version': { type: 'string', describe: `target QEMU version X.Y[.Z] (default: the emulator's -version, else ${DEFAULT_QEMU_VERSION})` },
  config: { type: 'string', describe: 'libvirt qemu.conf to read (user, vnc_listen, spice_tls, …)' },
  'state-dir': { type: 'string', describe: 'per-domain state directory (default /var/lib/libvirt/qemu/domain--1-NAME)' },
  'secrets-dir': { type: 'string', describe: "libvirt's secrets directory (UUID.xml + UUID.base64): the values of secret objects" },
  'firmware-dir': {
    type: 'string',
    describe: "QEMU firmware descriptor directories <os firmware='efi'> is resolved from, DIR[:DIR…], a later one's file replacing an earlier one's of the same name (default: built-in, Debian 12's ovmf and qemu-efi-aarch64)",
  },
  'probe-host': { type: 'boolean', describe: "read what libvirt reads from its host from this machine: DRM render nodes, hugetlbfs mounts, QEMU's firmware descriptors, SMBIOS tables" },
  runnable: { type: 'boolean', describe: 'print a command QEMU can run as-is (no pre-opened fds)' },
  pretty: { type: 'boolean', describe: "one option per line, as libvirt's .args test files" },
  output: { alias: 'o', type: 'string', describe: 'write to FILE (atomically) instead of stdout' },
  quiet: { alias: 'q', type: 'boolean', describe: 'no warnings' },
} as const satisfies Record<string, Options>;

const FROM_NATIVE_OPTIONS = {
  pid: { type: 'number', describe: 'read the command line of a running QEMU from /proc/PID' },
  minimal: { type: 'boolean', describe: 'leave out what libvirt fills in (implicit controllers, addresses, balloon, inputs)' },
  strict: { type: 'boolean', describe: 'fail when an option has to be kept verbatim in <qemu:commandline> (or a -device property in <qemu:override>)' },
  cwd: { type: 'string', describe: 'the directory the command line ran in: relative paths are resolved from it (default: the current one; --pid: the process\'s)' },
  output: { alias: 'o', type: 'string', describe: 'write to FILE (atomically) instead of stdout' },
  quiet: { alias: 'q', type: 'boolean', describe: 'no warnings' },
} as const satisfies Record<string, Options>;

async function toNative(a: ToNativeArgs): Promise<number> {
  checkFormat(a.format);
  return runBatch(a, {
    verb: 'to-native',
    ...(a['qemu-version'] !== undefined ? { qemuVersion: String(a['qemu-version']) } : {}),
    ...(a.config ? { config: a.config } : {}),
    ...(a['state-dir'] ? { stateDir: String(a['state-dir']) } : {}),
    ...(a['secrets-dir'] ? { secretsDir: String(a['secrets-dir']) } : {}),
    // NB: colon-separated like $PATH; a repeated option (yargs gives an array) adds directories too
    ...(a['firmware-dir'] !== undefined ? { firmwareDirs: [a['firmware-dir']].flat().flatMap((d) => String(d).split(':')).filter((d) => d !== '') } : {}),
    ...(a['probe-host'] ? { probeHost: true } : {}),
    runnable: Boolean(a.runnable),
    pretty: Boolean(a.pretty),
    hostEnv: { ...process.env },
  });
}

async function fromNative(a: FromNativeArgs): Promise<number> {
  checkFormat(a.format);
  const { files, pid } = a;
  if (pid === undefined && files.length === 0) throw new UsageError('give a FILE, - for stdin, or --pid N');
  const job: Job = { verb: 'from-native', minimal: Boolean(a.minimal), strict: Boolean(a.strict), cwd: commandCwd(a) };
  if (pid !== undefined) return runBatch({ ...a, files: ['-'] }, job, { text: procCommandLine(pid), label: `/proc/${pid}/cmdline` });
  return runBatch(a, job);
}

/** Where the command line ran: --cwd, a running QEMU's own directory, else ours (an assumption). */
function commandCwd(a: FromNativeArgs): FromNativeJob['cwd'] {
  if (a.cwd !== undefined) return { dir: resolve(a.cwd), why: 'from --cwd' };
  if (a.pid !== undefined) {
    try {
      return { dir: readlinkSync(`/proc/${a.pid}/cwd`), why: `the working directory of process ${a.pid}` };
    } catch {
      /* another user's process: fall back to ours */
    }
  }
  return { dir: process.cwd(), why: "the current directory: the command line's own is unknown, --cwd DIR sets it" };
}

type OptionTable = Readonly<Record<string, Options>>;

/**
 * Reads `FORMAT [options] FILE…` the way yargs would when every word is plain: positionals, and
 * the table's options as --name, --name=value, --name value or their one-letter alias. Anything
 * else (help, an unknown or repeated option, --no-x, a value that looks like an option) returns
 * undefined so that yargs handles it, with its messages. A lone "-" is a file (standard input).
 */
function quickParse(words: readonly string[], table: OptionTable): { positionals: string[]; options: Record<string, string | number | boolean> } | undefined {
  const positionals: string[] = [];
  const options: Record<string, string | number | boolean> = {};
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '-' || !w.startsWith('-')) {
      positionals.push(w);
      continue;
    }
    let name: string | undefined;
    let value: string | undefined;
    if (w.startsWith('--')) {
      const eq = w.indexOf('=');
      name = eq < 0 ? w.slice(2) : w.slice(2, eq);
      if (eq >= 0) value = w.slice(eq + 1);
    } else if (w.length === 2) name = Object.keys(table).find((k) => table[k]!.alias === w[1]);
    const spec: Options | undefined = name !== undefined && Object.hasOwn(table, name) ? table[name] : undefined;
    if (!spec || name === undefined || Object.hasOwn(options, name)) return undefined;
    if (spec.type === 'boolean') {
      if (value !== undefined) return undefined;
      options[name] = true;
      continue;
    }
    if (value === undefined) {
      value = words[++i];
      if (value === undefined || (value.startsWith('-') && value !== '-')) return undefined;
    }
    if (spec.choices !== undefined && !(spec.choices as readonly unknown[]).includes(value)) return undefined;
    if (spec.type === 'number') {
      if (!/^\d+$/.test(value)) return undefined;
      options[name] = Number(value);
    } else options[name] = value;
  }
  return { positionals, options };
}

/** The yargs-free path for to-native, from-native and validate; undefined when yargs must decide. */
async function quickRun(argv: readonly string[]): Promise<number | undefined> {
  const [verb, ...rest] = argv;
  if (verb === 'domxml-to-native' || verb === 'to-native') {
    const p = quickParse(rest, TO_NATIVE_OPTIONS);
    if (!p || p.positionals.length < 2) return undefined;
    const [format, ...files] = p.positionals;
    return toNative({ ...p.options, format: format!, files } as ToNativeArgs);
  }
  if (verb === 'domxml-from-native' || verb === 'from-native') {
    const p = quickParse(rest, FROM_NATIVE_OPTIONS);
    if (!p || p.positionals.length < 1) return undefined;
    const [format, ...files] = p.positionals;
    return fromNative({ ...p.options, format: format!, files } as FromNativeArgs);
  }
  if (verb === 'validate') {
    const { VALIDATE_OPTIONS, validateFiles } = await import('./validate-command.js');
    const p = quickParse(rest, VALIDATE_OPTIONS);
    if (!p || p.positionals.length < 1) return undefined;
    return validateFiles({ format: VALIDATE_OPTIONS.format.default, ...p.options, files: p.positionals } as ValidateArgs);
  }
  return undefined;
}

/** NB: yargs drops a lone '-' from array positionals; standard input was asked for if it is on the command line. */
function withStdin(argv: readonly string[], files: string[] | undefined): string[] {
  const list = files ?? [];
  return argv.includes('-') && !list.includes('-') ? [...list, '-'] : list;
}

/**
 * The other verbs by module, so that one verb loads only its own; a word not listed here (help,
 * a typo, a verb added to a module but not here) loads them all and lets yargs decide.
 */
const VERB_MODULES: readonly (readonly [verbs: readonly string[], load: (setCode: (c: number) => void) => Promise<CommandModule[]>])[] = [
  [['validate'], async (setCode) => [(await import('./validate-command.js')).validateCommand(setCode)]],
  [['argv-diff'], async (setCode) => [(await import('./argv-diff-command.js')).argvDiffCommand(setCode)]],
  [
    ['capabilities', 'launch', 'list', 'dominfo', 'shutdown', 'destroy', 'qemu-monitor-command'],
    async (setCode) => (await import('./launch-command.js')).launchCommands(setCode) as unknown as CommandModule[],
  ],
];

async function fullCli(argv: string[]): Promise<number> {
  let code = EXIT_OK;
  const setCode = (c: number) => (code = c);
  const { default: yargs } = await import('yargs');
  const verb = argv[0];
  const own = VERB_MODULES.find(([verbs]) => verb !== undefined && verbs.includes(verb));
  const modules = (await Promise.all((own ? [own] : VERB_MODULES).map(([, load]) => load(setCode)))).flat();
  const cli: Yargs = yargs(argv)
    .scriptName('domxml')
    .usage('$0 <command> [options]')
    .command(
      ['domxml-to-native <format> <files..>', 'to-native <format> <files..>'],
      toNativeHelp,
      (y) =>
        y
          .positional('format', { describe: 'output format: qemu-argv', type: 'string', demandOption: true })
          .positional('files', { describe: 'domain XML files, - for stdin', type: 'string', array: true, demandOption: true })
          .options(TO_NATIVE_OPTIONS)
          .example('$0 domxml-to-native qemu-argv guest.xml', 'what libvirt 9.0 would run')
          .example('$0 to-native qemu-argv --qemu-version 0.12 guest.xml', 'the same guest for an old QEMU')
          .example('$0 to-native qemu-argv --runnable guest.xml > run.sh', 'a command to run by hand'),
      async (a) => {
        const args = a as unknown as ToNativeArgs;
        code = await toNative({ ...args, format: String(args.format), files: withStdin(argv, args.files) });
      },
    )
    .command(
      ['domxml-from-native <format> [files..]', 'from-native <format> [files..]'],
      fromNativeHelp,
      (y) =>
        y
          .positional('format', { describe: 'input format: qemu-argv', type: 'string', demandOption: true })
          .positional('files', { describe: 'command-line files (shell syntax or /proc/PID/cmdline), - for stdin', type: 'string', array: true })
          .options(FROM_NATIVE_OPTIONS)
          .example('$0 domxml-from-native qemu-argv run-guest.sh', 'a hand-written script to domain XML')
          .example('$0 from-native qemu-argv --pid 1234', 'a running QEMU'),
      async (a) => {
        const args = a as unknown as FromNativeArgs;
        code = await fromNative({ ...args, format: String(args.format), files: withStdin(argv, args.files) });
      },
    )
    .command(modules)
    .demandCommand(1, 'give a command')
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageError(msg);
    });
  await cli.parseAsync();
  return code;
}

export async function main(argv: string[]): Promise<number> {
  try {
    return (await quickRun(argv)) ?? (await fullCli(argv));
  } catch (err) {
    if (err instanceof UsageError) {
      say('error', err.message);
      process.stderr.write('Try "domxml --help".\n');
      return EXIT_USAGE;
    }
    if (err instanceof DomxmlError) {
      process.stderr.write(`domxml: ${formatDiagnostic(err.diagnostic)}\n`);
      return EXIT_INVALID;
    }
    say('error', `internal error: ${(err as Error)?.message ?? String(err)}`);
    return EXIT_INVALID;
  }
}

/** /proc/PID/cmdline plus the QEMU-relevant part of /proc/PID/environ, NUL-separated. */
function procCommandLine(pid: number): string {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    let environ = '';
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    } catch {
      /* another user's process: the command line alone */
    }
    const env = environ.split('\0').filter((e) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(e));
    return [...env, cmdline].join('\0');
  } catch (err) {
    throw new DomxmlError({ code: 'Io', severity: 'error', message: `cannot read /proc/${pid}/cmdline: ${(err as NodeJS.ErrnoException).code ?? ''}` });
  }
}

main(process.argv.slice(2)).then(
  (c) => {
    process.exitCode = c;
  },
  // NB: the last guard: whatever escapes main is one line on stderr, never a stack trace
  (err: unknown) => {
    say('error', `internal error: ${(err as Error)?.message ?? String(err)}`);
    process.exitCode = EXIT_INVALID;
  },
);
