// The compiled command line as data, and its printing: virsh's one-line form (shell-quoted like
// libvirt's virBufferEscapeShell) or the multi-line form of libvirt's .args test files.
import { optionSpec, printsJson } from '../qemu/options.js';
import { printJson, printKeyval, type OptValue, type Props, type PropValue } from '../qemu/props.js';
import { inRange, type QemuVersion } from '../qemu/version.js';

export interface EmittedOption {
  readonly name: string;
  readonly value: OptValue;
}

export interface Argv {
  readonly env: ReadonlyArray<readonly [string, string]>;
  readonly emulator: string;
  readonly options: readonly EmittedOption[];
}

/** Collects options in emission order; the print form of each value comes from the option table. */
export class ArgvBuilder {
  readonly options: EmittedOption[] = [];
  /** Properties left out because the target QEMU is older than they are (the orchestrator warns). */
  readonly tooNew: Array<{ readonly option: string; readonly id: string; readonly prop: string; readonly value: PropValue; readonly since: string }> = [];
  constructor(private readonly version: QemuVersion) {}

  flag(name: string): void {
    this.options.push({ name, value: { kind: 'none' } });
  }

  raw(name: string, text: string): void {
    this.options.push({ name, value: { kind: 'raw', text } });
  }

  /** A QemuOpts value; the option's implied key (if any) is printed bare, first. */
  keyval(name: string, props: Props): void {
    const spec = optionSpec(name);
    const implied = spec.namesImplied ? undefined : spec.implied;
    this.options.push({ name, value: { kind: 'props', form: 'keyval', props, ...(implied ? { implied } : {}) } });
  }

  /** A value that QEMU accepts as JSON or QemuOpts: JSON where libvirt prints JSON for this version. */
  object(name: string, given: Props): void {
    const spec = optionSpec(name);
    let props = given;
    for (const [prop, since] of Object.entries(spec.propsSince ?? {})) {
      if (props[prop] === undefined || inRange(this.version, since)) continue;
      this.tooNew.push({ option: name, id: String(props.id ?? props.driver ?? ''), prop, value: props[prop]!, since });
      props = Object.fromEntries(Object.entries(props).filter(([k]) => k !== prop));
    }
    if (printsJson(spec, this.version)) this.options.push({ name, value: { kind: 'props', form: 'json', props } });
    else this.keyval(name, props);
  }
}

export function valueText(v: OptValue): string | undefined {
  switch (v.kind) {
    case 'none':
      return undefined;
    case 'raw':
      return v.text;
    case 'props':
      return v.form === 'json' ? printJson(v.props) : printKeyval(v.props, v.implied);
  }
}

export function argvWords(a: Argv): string[] {
  const words = a.env.map(([k, v]) => `${k}=${v}`);
  words.push(a.emulator);
  for (const o of a.options) {
    words.push(o.name);
    const t = valueText(o.value);
    if (t !== undefined) words.push(t);
  }
  return words;
}

const SHELL_META = /[\r\t\n !"#$&'()*;<>?[\\\]^`{|}~]/;

/** Quotes a word only when it holds shell metacharacters, as libvirt's virBufferEscapeShell does. */
export function shellQuote(word: string): string {
  if (word !== '' && !SHELL_META.test(word)) return word;
  // NB: a backslash-newline inside '…' is a continuation for readers of libvirt's .args layout
  // (ours included), so that backslash is written outside the quotes, where it stays literal.
  return `'${word.replace(/'/g, `'\\''`).replace(/\\(?=\r?\n)/g, `'\\\\'`)}'`;
}

/** NAME=VALUE with only the value quoted: in sh, 'a=b c' would be a command, a='b c' is env. */
function envWord([k, v]: readonly [string, string]): string {
  return `${k}=${shellQuote(v)}`;
}

/** virsh domxml-to-native's output: one line, words separated by spaces. */
export function printArgvLine(a: Argv): string {
  return [...a.env.map(envWord), ...argvWords({ ...a, env: [] }).map(shellQuote)].join(' ');
}

/** libvirt's .args layout: env words and every option on its own line, joined with ' \'. */
export function printArgvPretty(a: Argv): string {
  const lines = a.env.map(envWord);
  lines.push(shellQuote(a.emulator));
  for (const o of a.options) {
    const t = valueText(o.value);
    lines.push(t === undefined ? o.name : `${o.name} ${shellQuote(t)}`);
  }
  return lines.join(' \\\n');
}
