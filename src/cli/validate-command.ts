// `domxml validate`: checks domain XML files against libvirt's schema and rules, reporting as text, JSON or SARIF 2.1.0.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import type { Argv as Yargs, CommandModule, Options } from 'yargs';
import { formatText, RULE_DOCS, validateDomainXml, type ValidationDiagnostic } from '../validate/index.js';

const EXIT_OK = 0;
const EXIT_INVALID = 1;
const EXIT_USAGE = 2;

interface FileResult {
  readonly file: string;
  readonly valid: boolean;
  readonly diagnostics: readonly ValidationDiagnostic[];
}

class InputError extends Error {}

const help = `Check domain XML against libvirt 9.0's schema and consistency rules.

Each problem is reported as FILE:LINE:COLUMN with the element path, what was found, what is
allowed and, for a likely typo, a suggestion. FILE may be a file, a directory (its *.xml files,
recursively), a glob ("guests/**/*.xml") or - for standard input.
Exit status: 0 all valid, 1 some invalid, 2 usage or I/O error.`;

export function validateCommand(setCode: (code: number) => void): CommandModule {
  return {
    command: 'validate <files..>',
    describe: "Check domain XML against libvirt 9.0's schema and consistency rules",
    builder: (y: Yargs) =>
      y
        .usage(`$0 validate FILE…\n\n${help}`)
        .positional('files', { describe: 'domain XML files, directories, globs, - for stdin', type: 'string', array: true, demandOption: true })
        .options(VALIDATE_OPTIONS)
        .example('$0 validate guest.xml', 'problems with line:column and suggestions')
        .example('$0 validate --format sarif guests/ > report.sarif', 'for code-scanning tools'),
    handler: (a) => setCode(validateFiles(a as unknown as ValidateArgs)),
  };
}

// NB: main.ts's yargs-free path reads this same table, so an option added here works on both paths.
export const VALIDATE_OPTIONS = {
  format: { choices: ['text', 'json', 'sarif'] as const, default: 'text', describe: 'report format' },
  quiet: { alias: 'q', type: 'boolean', describe: 'errors only: no warnings, no summary' },
  'warnings-as-errors': { type: 'boolean', describe: 'a warning makes the file invalid' },
  host: { type: 'boolean', describe: 'also check against this host (e.g. /dev/kvm for type=kvm)' },
} as const satisfies Record<string, Options>;

/** Validates the files and reports; the exit status. */
export function validateFiles(args: ValidateArgs): number {
  // NB: yargs drops a lone '-' from array positionals; stdin was asked for if it is on the command line
  const files = process.argv.slice(2).includes('-') && !args.files.includes('-') ? [...args.files, '-'] : args.files;
  return files.length ? run({ ...args, files }) : usage('give a FILE, a directory, a glob or - for stdin');
}

export interface ValidateArgs {
  files: string[];
  format: 'text' | 'json' | 'sarif';
  quiet?: boolean;
  'warnings-as-errors'?: boolean;
  host?: boolean;
}

function usage(message: string): number {
  process.stderr.write(`domxml: error: ${message}\nTry "domxml validate --help".\n`);
  return EXIT_USAGE;
}

function run(a: ValidateArgs): number {
  let inputs: string[];
  try {
    inputs = a.files.flatMap(expand);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    return usage(err.message);
  }
  const results: FileResult[] = [];
  let ioError = false;
  for (const file of inputs) {
    let text: string;
    try {
      text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
    } catch (err) {
      process.stderr.write(`domxml: error: cannot read ${file === '-' ? 'standard input' : file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
      ioError = true;
      continue;
    }
    const label = file === '-' ? '<stdin>' : file;
    const r = validateDomainXml(text, { file: label, host: Boolean(a.host) });
    const strict = a['warnings-as-errors'] === true;
    const diagnostics = r.diagnostics
      .map((d) => (strict && d.severity === 'warning' ? { ...d, severity: 'error' as const } : d))
      .filter((d) => !(a.quiet && d.severity === 'warning'));
    results.push({ file: label, valid: r.valid && !(strict && r.diagnostics.length > 0), diagnostics });
  }
  if (a.format === 'json') process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  else if (a.format === 'sarif') process.stdout.write(JSON.stringify(sarif(results), null, 2) + '\n');
  else {
    // colours only on a terminal, and never when NO_COLOR is set (no-color.org)
    const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
    for (const r of results) for (const d of r.diagnostics) process.stdout.write(formatText(d, { color }) + '\n');
    if (!a.quiet) {
      const invalid = results.filter((r) => !r.valid).length;
      const count = (s: string) => results.reduce((n, r) => n + r.diagnostics.filter((d) => d.severity === s).length, 0);
      process.stderr.write(`domxml: ${results.length} file${results.length === 1 ? '' : 's'} checked, ${invalid} invalid, ${count('error')} error(s), ${count('warning')} warning(s)\n`);
    }
  }
  if (ioError) return EXIT_USAGE;
  return results.every((r) => r.valid) ? EXIT_OK : EXIT_INVALID;
}

/** A command-line argument as files: '-', a file, a directory's *.xml (recursively) or a glob. */
function expand(arg: string): string[] {
  if (arg === '-') return ['-'];
  if (/[*?[]/.test(arg)) {
    const found = glob(arg);
    if (!found.length) throw new InputError(`no files match ${arg}`);
    return found;
  }
  let st;
  try {
    st = statSync(arg);
  } catch {
    return [arg]; // reported as an I/O error when read
  }
  return st.isDirectory() ? xmlFilesUnder(arg) : [arg];
}

function xmlFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((x, y) => (x.name < y.name ? -1 : 1))) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...xmlFilesUnder(p));
    else if (entry.name.endsWith('.xml')) out.push(p);
  }
  return out;
}

/** Minimal glob: * and ? within a path segment, [..] classes, ** for any depth. */
function glob(pattern: string): string[] {
  const absolute = pattern.startsWith('/');
  const segments = pattern.split('/').filter((s) => s !== '');
  const fixed: string[] = [];
  while (segments.length && !/[*?[]/.test(segments[0]!)) fixed.push(segments.shift()!);
  const base = (absolute ? '/' : '') + fixed.join('/') || '.';
  const re = new RegExp(
    '^' +
      segments
        .map((s) =>
          s === '**'
            ? '(?:[^/]+/)*'
            : s.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]') + '/',
        )
        .join('')
        .replace(/\/$/, '') +
      '$',
  );
  const out: string[] = [];
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((x, y) => (x.name < y.name ? -1 : 1))) {
      const p = join(dir, e.name);
      const rel = relative(base, p).split(sep).join('/');
      if (re.test(rel) && !e.isDirectory()) out.push(p);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(base);
  return out;
}

/** SARIF 2.1.0: one run, one rule per diagnostic code. */
function sarif(results: readonly FileResult[]): unknown {
  const used = [...new Set(results.flatMap((r) => r.diagnostics.map((d) => d.code)))].sort();
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'domxml',
            informationUri: 'https://libvirt.org/formatdomain.html',
            rules: used.map((id) => ({
              id,
              shortDescription: { text: RULE_DOCS[id]?.doc ?? id },
              defaultConfiguration: { level: RULE_DOCS[id]?.severity ?? 'error' },
            })),
          },
        },
        artifacts: results.map((r) => ({ location: { uri: uri(r.file) } })),
        results: results.flatMap((r) =>
          r.diagnostics.map((d) => ({
            ruleId: d.code,
            ruleIndex: used.indexOf(d.code),
            level: d.severity,
            message: { text: d.message },
            locations: [
              {
                physicalLocation: {
                  artifactLocation: { uri: uri(r.file) },
                  ...(d.line !== undefined ? { region: { startLine: d.line, startColumn: d.column ?? 1 } } : {}),
                },
                logicalLocations: [{ fullyQualifiedName: d.path, kind: 'element' }],
              },
            ],
          })),
        ),
      },
    ],
  };
}

function uri(file: string): string {
  if (file === '<stdin>') return 'stdin';
  const rel = relative(process.cwd(), resolve(file)).split(sep).join('/');
  return rel.startsWith('..') ? `file://${resolve(file)}` : rel;
}
