// The command-line parser: shell words -> env prefix, emulator, options with parsed values.
//
// Words are classified with the option table (a known flag, an option that takes a value, an
// unknown option, a plain word) and handed as tokens to a chevrotain parser for
//   commandLine := EnvAssign* Emulator option*
//   option      := Flag | Valued AnyWord | Unknown Plain? | Plain            (Plain alone: positional)
// Values are then read per the option's argument kind (see src/qemu/options.ts).
import { createToken, createTokenInstance, EmbeddedActionsParser, type IToken, type TokenType } from 'chevrotain';
import { fail, type Span } from '../errors.js';
import { lookupOption, normalizeOptionName, type OptionSpec } from '../qemu/options.js';
import { parseKeyval, type OptValue, type Props } from '../qemu/props.js';
import { shellWords, type Word } from './shell-lexer.js';

const EnvAssign = createToken({ name: 'EnvAssign', pattern: /NA/ });
const Flag = createToken({ name: 'Flag', pattern: /NA/ });
const Valued = createToken({ name: 'Valued', pattern: /NA/ });
const Unknown = createToken({ name: 'Unknown', pattern: /NA/ });
const Plain = createToken({ name: 'Plain', pattern: /NA/ });
const WORD_TOKENS: TokenType[] = [EnvAssign, Flag, Valued, Unknown, Plain];

export interface EnvVar {
  readonly name: string;
  readonly value: string;
  readonly span: Span;
}

export interface ParsedOption {
  /** Canonical name with one leading dash ("-device"); "" for a positional argument. */
  readonly name: string;
  /** The spelling in the input ("--device", "-device"). */
  readonly written: string;
  readonly value: OptValue;
  /** The value word as written, for keeping unknown options verbatim. */
  readonly rawValue?: string;
  readonly spec?: OptionSpec;
  readonly span: Span;
  readonly valueSpan?: Span;
}

export interface CommandLine {
  readonly env: readonly EnvVar[];
  readonly emulator: string;
  readonly emulatorSpan: Span;
  readonly options: readonly ParsedOption[];
}

const ENV_RE = /^[A-Za-z_][A-Za-z0-9_]*=/;

type OptionPair = [IToken, IToken | undefined];
interface CommandLineTree {
  env: IToken[];
  emulator: IToken;
  options: OptionPair[];
}

class ArgvParser extends EmbeddedActionsParser {
  // NB: chevrotain finds each rule as the property named like the rule (this[ruleName]), so the
  // property names and the RULE names must agree.
  readonly commandLine: () => CommandLineTree;
  private readonly optionRule: () => OptionPair;
  private readonly anyWord: () => IToken;

  constructor() {
    super(WORD_TOKENS, { recoveryEnabled: false });
    // the value of an option that takes one may look like anything, even "-foo"
    this.anyWord = this.RULE('anyWord', () =>
      this.OR([
        { ALT: () => this.CONSUME(Plain) },
        { ALT: () => this.CONSUME(Flag) },
        { ALT: () => this.CONSUME(Valued) },
        { ALT: () => this.CONSUME(Unknown) },
        { ALT: () => this.CONSUME(EnvAssign) },
      ]),
    );
    this.optionRule = this.RULE('optionRule', (): OptionPair =>
      this.OR2([
        { ALT: (): OptionPair => [this.CONSUME2(Flag), undefined] },
        { ALT: (): OptionPair => [this.CONSUME2(Valued), this.SUBRULE(this.anyWord)] },
        {
          ALT: (): OptionPair => {
            const name = this.CONSUME2(Unknown);
            const value = this.OPTION(() => this.CONSUME2(Plain));
            return [name, value];
          },
        },
        { ALT: (): OptionPair => [this.CONSUME3(Plain), undefined] },
      ]),
    );
    this.commandLine = this.RULE('commandLine', (): CommandLineTree => {
      const env: IToken[] = [];
      const options: OptionPair[] = [];
      this.MANY(() => env.push(this.CONSUME2(EnvAssign)));
      const emulator = this.OR3([{ ALT: () => this.CONSUME4(Plain) }, { ALT: () => this.CONSUME3(Unknown) }]);
      this.MANY2(() => options.push(this.SUBRULE2(this.optionRule)));
      return { env, emulator, options };
    });
    this.performSelfAnalysis();
  }
}

let parserInstance: ArgvParser | undefined;
const parser = (): ArgvParser => (parserInstance ??= new ArgvParser());

function classify(words: readonly Word[]): IToken[] {
  const toks: IToken[] = [];
  let inPrefix = true;
  for (const w of words) {
    let type: TokenType;
    if (inPrefix && ENV_RE.test(w.text)) type = EnvAssign;
    else {
      inPrefix = false;
      if (w.text.length > 1 && w.text.startsWith('-')) {
        const spec = lookupOption(w.text);
        type = spec ? (spec.arg === 'none' ? Flag : Valued) : Unknown;
      } else type = Plain;
    }
    const off = w.span.offset ?? 0;
    const tok = createTokenInstance(type, w.text, off, off + w.text.length, w.span.line, w.span.line, w.span.column, w.span.column + w.text.length);
    toks.push(tok);
  }
  return toks;
}

/**
 * NB: libvirt wrote old-style rbd monitors as an unquoted `CEPH_ARGS=-m HOSTS` and its parser
 * accepted the space, so the word after a bare `CEPH_ARGS=-m` is that variable's value.
 */
function joinCephArgs(words: Word[]): Word[] {
  // only in the env prefix: after the emulator the same text is an ordinary argument
  const prefix = words.findIndex((w) => !ENV_RE.test(w.text));
  const i = words.findIndex((w) => w.text === 'CEPH_ARGS=-m');
  const next = words[i + 1];
  if (i < 0 || (prefix >= 0 && i > prefix) || !next || ENV_RE.test(next.text)) return words;
  return [...words.slice(0, i), { text: `CEPH_ARGS=-m ${next.text}`, span: words[i]!.span }, ...words.slice(i + 2)];
}

/** Words that only launch the next command: `exec qemu …` in a start script, `sudo qemu …`. */
const LAUNCHERS = new Set(['exec', 'sudo', 'nohup', 'env', 'setsid', 'command']);

/** Drops launcher words between the env prefix and the emulator; they are the shell's, not QEMU's. */
function dropLaunchers(words: Word[]): Word[] {
  let i = 0;
  while (i < words.length && (ENV_RE.test(words[i]!.text) || LAUNCHERS.has(words[i]!.text))) i++;
  const prefix = words.slice(0, i).filter((w) => !LAUNCHERS.has(w.text));
  return prefix.length === i ? words : [...prefix, ...words.slice(i)];
}

/** Parses command-line text (shell syntax or NUL-separated) into env, emulator and options. */
export function parseCommandLine(text: string, file?: string): CommandLine {
  const words = dropLaunchers(joinCephArgs(shellWords(text, file)));
  if (words.length === 0 || words.every((w) => ENV_RE.test(w.text))) {
    return fail('EmptyCommandLine', {}, { file, line: 1, column: 1 });
  }
  const spanAt = new Map<IToken, Span>();
  const toks = classify(words);
  toks.forEach((t, i) => spanAt.set(t, words[i]!.span));
  const p = parser();
  p.input = toks;
  const tree = p.commandLine();
  if (p.errors.length) {
    // the only way this grammar fails is an option that wants a value at the end of the input
    const last = toks[toks.length - 1]!;
    return fail('MissingOptionValue', { option: last.image }, spanAt.get(last) ?? { file, line: 1, column: 1 });
  }
  const env = tree.env.map((t) => {
    const eq = t.image.indexOf('=');
    return { name: t.image.slice(0, eq), value: t.image.slice(eq + 1), span: spanAt.get(t)! };
  });
  const options = tree.options.map(([nameTok, valueTok]) => readOption(nameTok, valueTok, spanAt));
  return { env, emulator: tree.emulator.image, emulatorSpan: spanAt.get(tree.emulator)!, options };
}

function readOption(nameTok: IToken, valueTok: IToken | undefined, spanAt: Map<IToken, Span>): ParsedOption {
  const span = spanAt.get(nameTok)!;
  if (nameTok.tokenType === Plain) {
    return { name: '', written: '', value: { kind: 'raw', text: nameTok.image }, rawValue: nameTok.image, span };
  }
  const name = normalizeOptionName(nameTok.image);
  const spec = lookupOption(nameTok.image);
  // NB: one literal per shape rather than `{ ...base, value }`: see src/ir/records.ts for what a
  // literal that starts with a spread costs, paid here once per option
  if (!valueTok) return { name, written: nameTok.image, span, ...(spec ? { spec } : {}), value: { kind: 'none' } };
  const valueSpan = spanAt.get(valueTok)!;
  const text = valueTok.image;
  return { name, written: nameTok.image, span, ...(spec ? { spec } : {}), value: readValue(name, spec, text, valueSpan), rawValue: text, valueSpan };
}

/** Reads one option value per the option's argument kind. */
export function readValue(name: string, spec: OptionSpec | undefined, text: string, span?: Span): OptValue {
  if (!spec || spec.arg === 'value') return { kind: 'raw', text };
  if (spec.arg === 'none') return { kind: 'none' };
  if (spec.arg === 'json' && text.trimStart().startsWith('{')) {
    // text starting with '{' that parses at all is a JSON object
    let parsed: Props;
    try {
      parsed = JSON.parse(text) as Props;
    } catch (err) {
      return fail('BadJson', { option: name, reason: (err as Error).message }, span);
    }
    return { kind: 'props', form: 'json', props: parsed };
  }
  return { kind: 'props', form: 'keyval', props: parseKeyval(text, spec.implied), ...(spec.implied ? { implied: spec.implied } : {}) };
}
