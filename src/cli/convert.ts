// The per-file conversions of the to-native and from-native verbs, shared by the CLI's main thread
// and its batch workers (batch-worker.ts): a job is plain data, so a worker can rebuild the same
// converter from it.
// NB: each direction's modules are imported when its converter is built, not here: the argv
// parser pulls in chevrotain, whose start-up would otherwise be paid by every to-native call.
import { DomxmlError, type Diagnostic } from '../errors.js';
import { DEFAULT_QEMU_VERSION } from '../qemu/caps.js';
import { parseQemuConf } from '../qemu/config.js';
import { parseVersion } from '../qemu/version.js';
import { emulatorVersion } from './emulator-version.js';
import { readInput } from './io.js';

export interface ToNativeJob {
  readonly verb: 'to-native';
  readonly qemuVersion?: string;
  /** qemu.conf path: each worker reads and parses it itself */
  readonly config?: string;
  readonly stateDir?: string;
  /** libvirt secrets directory the secret objects' values are read from */
  readonly secretsDir?: string;
  /** firmware descriptor directories, lowest priority first (default: the built-in Debian set) */
  readonly firmwareDirs?: readonly string[];
  /** --probe-host: read render nodes and hugetlbfs mounts from this machine (each worker reads them itself) */
  readonly probeHost?: boolean;
  readonly runnable: boolean;
  readonly pretty: boolean;
  readonly hostEnv: Readonly<Record<string, string | undefined>>;
}

export interface FromNativeJob {
  readonly verb: 'from-native';
  readonly minimal: boolean;
  readonly strict: boolean;
  /** where relative paths are resolved from, and why that directory (for the warnings) */
  readonly cwd: { readonly dir: string; readonly why: string };
}

export type Job = ToNativeJob | FromNativeJob;

export interface Converted {
  readonly output: string;
  readonly diagnostics: readonly Diagnostic[];
}

export type Converter = (text: string, file: string) => Converted;

/** The target version a domain names through its <emulator> (cached per binary), if any. */
function domainEmulatorVersion(xmlText: string) {
  const m = /<emulator>\s*([^<\s]+)\s*<\/emulator>/.exec(xmlText);
  return m ? emulatorVersion(m[1]!) : undefined;
}

export async function converterFor(job: Job): Promise<Converter> {
  if (job.verb === 'from-native') {
    const [{ domainFromArgvText }, { domainToXml }] = await Promise.all([import('../ir/from-argv.js'), import('../ir/to-xml.js')]);
    return (text, file) => {
      const { domain, diagnostics } = domainFromArgvText(text, file, { minimal: job.minimal, cwd: job.cwd });
      if (job.strict) {
        const kept = diagnostics.items.find((d) => d.severity === 'warning');
        if (kept) throw new DomxmlError({ ...kept, severity: 'error' });
      }
      return { output: domainToXml(domain), diagnostics: diagnostics.items };
    };
  }
  const [{ domainFromXml }, { domainToArgv }, { printArgvLine, printArgvPretty }] = await Promise.all([
    import('../ir/from-xml.js'),
    import('../emit/to-argv.js'),
    import('../emit/argv.js'),
  ]);
  // NB: read once for the run, like qemu.conf: a bad descriptor fails the run before any input
  const probe = job.probeHost ? await import('./host-probe.js') : undefined;
  // NB: --probe-host reads the host's descriptors unless --firmware-dir names others
  const firmwareDirs = job.firmwareDirs ?? probe?.hostFirmwareDirs();
  const firmware = firmwareDirs?.length ? (await import('../families/firmware.js')).readFirmwareDirs(firmwareDirs) : undefined;
  const config = job.config ? parseQemuConf(readInput(job.config), job.config) : undefined;
  const host = probe?.probeHost();
  const fixed = job.qemuVersion !== undefined ? parseVersion(job.qemuVersion) : undefined;
  return (text, file) => {
    const { domain, diagnostics: readDiag } = domainFromXml(text, file);
    const { argv, diagnostics } = domainToArgv(domain, {
      qemuVersion: fixed ?? domainEmulatorVersion(text) ?? DEFAULT_QEMU_VERSION,
      ...(config ? { config } : {}),
      ...(job.stateDir ? { stateDir: job.stateDir } : {}),
      ...(job.secretsDir ? { secretsDir: job.secretsDir } : {}),
      ...(firmware ? { firmware } : {}),
      ...(host ? { host } : {}),
      runnable: job.runnable,
      hostEnv: job.hostEnv,
    });
    const out = job.pretty ? printArgvPretty(argv) : printArgvLine(argv);
    return { output: out + '\n', diagnostics: [...readDiag.items, ...diagnostics.items] };
  };
}

/** One file's outcome, as plain data (it crosses from a worker to the main thread). */
export type FileResult =
  | { readonly ok: true; readonly output: string; readonly diagnostics: readonly Diagnostic[] }
  | { readonly ok: false; readonly error: Diagnostic }
  | { readonly ok: false; readonly internal: string };

export function convertFile(convert: Converter, file: string, label: string, read: (file: string) => string = readInput): FileResult {
  try {
    return { ok: true, ...convert(read(file), label) };
  } catch (err) {
    // NB: a bug hit by one input must not stop the batch: it is reported for that file alone
    if (err instanceof DomxmlError) return { ok: false, error: err.diagnostic };
    return { ok: false, internal: (err as Error)?.message ?? String(err) };
  }
}
