// Golden cases: one folder per case under golden/, an input and one expected output per profile.
//
//   golden/CASE/input.xml                      a domain (to-native profiles)
//   golden/CASE/input.args                     a command line (from-native profiles)
//   golden/CASE/to-native.qemu-X.Y[.Z].args    printArgvLine of domainToArgv for QEMU X.Y[.Z]
//   golden/CASE/from-native.xml                domainToXml of domainFromArgvText
//   golden/CASE/from-native.minimal.xml        the same with {minimal: true}
//   golden/CASE/PROFILE.warnings               the warnings of that profile (absent: none)
//   golden/CASE/options.json                   optional: {"config": "qemu.conf" (a file in the
//                                              folder), "stateDir", "envPath", "cwd", "about": "…",
//                                              "oracle": [profiles printed by the real libvirt]}
// A profile exists when its expected file exists; to add one, create the file empty and run
// `npm run golden:update`.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatDiagnostic, type Diagnostic } from '../../src/errors.js';
import { domainFromArgvText, domainFromXml, domainToArgv, domainToXml, parseQemuConf, printArgvLine } from '../../src/index.js';

export const GOLDEN_DIR = join(import.meta.dirname, '..', '..', 'golden');

export interface GoldenOptions {
  readonly config?: string;
  readonly stateDir?: string;
  readonly envPath?: string;
  /** from-native: the directory the command line ran in (relative paths resolve from it, as with --cwd) */
  readonly cwd?: string;
  readonly about?: string;
  /** Profiles whose expected file is the real libvirt's output: golden:update never rewrites them. */
  readonly oracle?: readonly string[];
}

export interface GoldenCase {
  readonly name: string;
  readonly dir: string;
  readonly input: 'input.xml' | 'input.args';
  readonly options: GoldenOptions;
  /** Expected-output file names, one per profile. */
  readonly profiles: readonly string[];
}

const PROFILE = /^(?:to-native\.qemu-\d+\.\d+(?:\.\d+)?\.args|from-native(?:\.minimal)?\.xml)$/;

export function goldenCases(): GoldenCase[] {
  if (!existsSync(GOLDEN_DIR)) return [];
  return readdirSync(GOLDEN_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()
    .map((name) => {
      const dir = join(GOLDEN_DIR, name);
      const files = readdirSync(dir);
      const input = files.includes('input.xml') ? 'input.xml' : 'input.args';
      const options = files.includes('options.json')
        ? (JSON.parse(readFileSync(join(dir, 'options.json'), 'utf8')) as GoldenOptions)
        : {};
      return { name, dir, input, options, profiles: files.filter((f) => PROFILE.test(f)).sort() };
    });
}

export interface GoldenResult {
  readonly output: string;
  readonly warnings: string;
}

const warningText = (items: readonly Diagnostic[], file: string) =>
  items.map((d) => formatDiagnostic(d, file) + '\n').join('');

/** Runs one profile of one case through the library, as the CLI would. */
export function runProfile(c: GoldenCase, profile: string): GoldenResult {
  const text = readFileSync(join(c.dir, c.input), 'utf8');
  const to = /^to-native\.qemu-(.+)\.args$/.exec(profile);
  if (to) {
    if (c.input !== 'input.xml') throw new Error(`${c.name}: ${profile} needs input.xml`);
    const config = c.options.config
      ? parseQemuConf(readFileSync(join(c.dir, c.options.config), 'utf8'), c.options.config)
      : undefined;
    const read = domainFromXml(text, c.input);
    const { argv, diagnostics } = domainToArgv(read.domain, {
      qemuVersion: to[1]!,
      ...(config ? { config } : {}),
      ...(c.options.stateDir ? { stateDir: c.options.stateDir } : {}),
      ...(c.options.envPath ? { envPath: c.options.envPath } : {}),
    });
    return { output: printArgvLine(argv) + '\n', warnings: warningText([...read.diagnostics.items, ...diagnostics.items], c.input) };
  }
  if (c.input !== 'input.args') throw new Error(`${c.name}: ${profile} needs input.args`);
  const { domain, diagnostics } = domainFromArgvText(text, c.input, {
    minimal: profile === 'from-native.minimal.xml',
    ...(c.options.cwd ? { cwd: { dir: c.options.cwd, why: 'from --cwd' } } : {}),
  });
  return { output: domainToXml(domain), warnings: warningText(diagnostics.items, c.input) };
}

/** The companion file holding a profile's warnings. */
export function warningsFile(profile: string): string {
  return profile.replace(/\.(?:args|xml)$/, '.warnings');
}
