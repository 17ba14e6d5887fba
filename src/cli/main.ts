// The domxml command line: virsh's verbs, calling the library. No conversion logic lives here.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import yargs, { type Argv as Yargs } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { DomxmlError, formatDiagnostic, type Diagnostic } from '../errors.js';
import { printArgvLine, printArgvPretty } from '../emit/argv.js';
import { domainToArgv } from '../emit/to-argv.js';
import { domainFromArgvText } from '../ir/from-argv.js';
import { domainFromXml } from '../ir/from-xml.js';
import { domainToXml } from '../ir/to-xml.js';
import { DEFAULT_QEMU_VERSION } from '../qemu/caps.js';
import { parseQemuConf, type QemuConf } from '../qemu/config.js';
import { parseVersion, versionFromBanner, type QemuVersion } from '../qemu/version.js';
import { launchCommands } from './launch-command.js';
import { readInput, writeFileAtomic } from './io.js';
import { validateCommand } from './validate-command.js';

const EXIT_OK = 0;
const EXIT_INVALID = 1;
const EXIT_USAGE = 2;

class UsageError extends Error {}

interface Common {
  files: string[];
  output?: string;
  quiet?: boolean;
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

/** Runs `convert` on every input; bad inputs are reported and the rest still converted. */
function runBatch(a: Common, convert: (text: string, file: string) => { output: string; diagnostics: readonly Diagnostic[] }): number {
  if (a.output && a.files.length > 1) throw new UsageError('-o/--output takes one input file');
  const results: string[] = [];
  let failed = 0;
  for (const file of a.files) {
    const label = file === '-' ? '<stdin>' : file;
    try {
      const { output, diagnostics } = convert(readInput(file), label);
      for (const d of diagnostics) report(d, label, a.quiet);
      results.push(a.files.length > 1 ? `# ${label}\n${output}` : output);
    } catch (err) {
      if (!(err instanceof DomxmlError)) throw err;
      failed++;
      report(err.diagnostic, label, false);
    }
  }
  const text = results.join('');
  if (a.output) {
    if (failed === 0) writeFileAtomic(a.output, text);
  } else process.stdout.write(text);
  if (a.files.length > 1) process.stderr.write(`domxml: ${a.files.length - failed} of ${a.files.length} converted, ${failed} failed\n`);
  return failed ? EXIT_INVALID : EXIT_OK;
}

function emulatorVersion(xmlText: string): QemuVersion | undefined {
  const m = /<emulator>\s*([^<\s]+)\s*<\/emulator>/.exec(xmlText);
  if (!m || !existsSync(m[1]!)) return undefined;
  try {
    const out = execFileSync(m[1]!, ['-version'], { encoding: 'utf8', timeout: 10000, stdio: ['ignore', 'pipe', 'ignore'] });
    return versionFromBanner(out);
  } catch {
    return undefined;
  }
}

function loadConfig(file: string | undefined): QemuConf | undefined {
  if (!file) return undefined;
  return parseQemuConf(readInput(file), file);
}

const toNativeHelp = `Compile domain XML to the QEMU command line libvirt would run.

Default output is what \`virsh domxml-to-native qemu-argv\` prints (libvirt 9.0, QEMU ${DEFAULT_QEMU_VERSION}).
--runnable prints a command QEMU can run as-is instead: libvirt's pre-opened file descriptors
(monitor fd, tap/vhost fds) are replaced by paths and named devices.`;

export async function main(argv: string[]): Promise<number> {
  let code = EXIT_OK;
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
          .option('qemu-version', { type: 'string', describe: `target QEMU version X.Y[.Z] (default: the emulator's -version, else ${DEFAULT_QEMU_VERSION})` })
          .option('config', { type: 'string', describe: "libvirt qemu.conf to read (user, vnc_listen, spice_tls, …)" })
          .option('state-dir', { type: 'string', describe: 'per-domain state directory (default /var/lib/libvirt/qemu/domain--1-NAME)' })
          .option('runnable', { type: 'boolean', describe: 'print a command QEMU can run as-is (no pre-opened fds)' })
          .option('pretty', { type: 'boolean', describe: "one option per line, as libvirt's .args test files" })
          .option('output', { alias: 'o', type: 'string', describe: 'write to FILE (atomically) instead of stdout' })
          .option('quiet', { alias: 'q', type: 'boolean', describe: 'no warnings' })
          .example('$0 domxml-to-native qemu-argv guest.xml', 'what libvirt 9.0 would run')
          .example('$0 to-native qemu-argv --qemu-version 0.12 guest.xml', 'the same guest for an old QEMU')
          .example('$0 to-native qemu-argv --runnable guest.xml > run.sh', 'a command to run by hand'),
      (a) => {
        checkFormat(String(a.format));
        const config = loadConfig(a.config as string | undefined);
        const fixed = a['qemu-version'] !== undefined ? parseVersion(String(a['qemu-version'])) : undefined;
        code = runBatch(a as unknown as Common, (text, file) => {
          const { domain, diagnostics: readDiag } = domainFromXml(text, file);
          const { argv, diagnostics } = domainToArgv(domain, {
            qemuVersion: fixed ?? emulatorVersion(text) ?? DEFAULT_QEMU_VERSION,
            ...(config ? { config } : {}),
            ...(a['state-dir'] ? { stateDir: String(a['state-dir']) } : {}),
            runnable: Boolean(a.runnable),
            hostEnv: process.env,
          });
          const out = a.pretty ? printArgvPretty(argv) : printArgvLine(argv);
          return { output: out + '\n', diagnostics: [...readDiag.items, ...diagnostics.items] };
        });
      },
    )
    .command(
      ['domxml-from-native <format> [files..]', 'from-native <format> [files..]'],
      'Turn a QEMU command line (legacy or modern syntax) into domain XML.\n\nOptions with no domain XML equivalent are kept in <qemu:commandline>, each named in a warning.',
      (y) =>
        y
          .positional('format', { describe: 'input format: qemu-argv', type: 'string', demandOption: true })
          .positional('files', { describe: 'command-line files (shell syntax or /proc/PID/cmdline), - for stdin', type: 'string', array: true })
          .option('pid', { type: 'number', describe: 'read the command line of a running QEMU from /proc/PID' })
          .option('minimal', { type: 'boolean', describe: "leave out what libvirt fills in (implicit controllers, addresses, balloon, inputs)" })
          .option('strict', { type: 'boolean', describe: 'fail when an option has to be kept verbatim in <qemu:commandline>' })
          .option('output', { alias: 'o', type: 'string', describe: 'write to FILE (atomically) instead of stdout' })
          .option('quiet', { alias: 'q', type: 'boolean', describe: 'no warnings' })
          .example("$0 domxml-from-native qemu-argv run-guest.sh", 'a hand-written script to domain XML')
          .example('$0 from-native qemu-argv --pid 1234', 'a running QEMU'),
      (a) => {
        checkFormat(String(a.format));
        const files = (a.files as string[] | undefined) ?? [];
        const pid = a.pid as number | undefined;
        if (pid === undefined && files.length === 0) throw new UsageError('give a FILE, - for stdin, or --pid N');
        const convert = (text: string, file: string) => {
          const { domain, diagnostics } = domainFromArgvText(text, file, { minimal: Boolean(a.minimal) });
          if (a.strict) {
            const kept = diagnostics.items.find((d) => d.severity === 'warning');
            if (kept) throw new DomxmlError({ ...kept, severity: 'error' });
          }
          return { output: domainToXml(domain), diagnostics: diagnostics.items };
        };
        if (pid !== undefined) {
          const text = procCommandLine(pid);
          code = runBatch({ ...(a as unknown as Common), files: ['-'] }, () => convert(text, `/proc/${pid}/cmdline`));
        } else code = runBatch({ ...(a as unknown as Common), files }, convert);
      },
    )
    .command(validateCommand((c) => (code = c)))
    .command(launchCommands((c) => (code = c)))
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
  try {
    await cli.parseAsync();
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
    say('error', `internal error: ${(err as Error).message}`);
    return EXIT_INVALID;
  }
  return code;
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

main(hideBin(process.argv)).then((c) => {
  process.exitCode = c;
});
