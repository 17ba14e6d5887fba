// Shell words: the chevrotain lexer that splits a pasted command line into the words a POSIX
// shell would pass to exec(), keeping each word's line:column.
//
// Handles single quotes, double quotes (with \\ \" \$ \` and \<newline> escapes inside), backslash
// escapes outside quotes, backslash-newline continuations (libvirt's .args layout), `#` comments at
// the start of a word (scripts pasted whole), and the NUL-separated /proc/PID/cmdline form, where
// every NUL ends one literal argument and no quoting applies; and `ps` output, where JSON values
// stand unquoted (`-device {"driver":…}`), which no shell could have passed. The grammar is in
// grammar/qemu-argv.ebnf.
import { createToken, Lexer, type IToken, type TokenType } from 'chevrotain';
import { fail, type Span } from '../errors.js';

const Continuation = createToken({ name: 'Continuation', pattern: /\\\r?\n/, line_breaks: true, group: Lexer.SKIPPED });
const Blank = createToken({ name: 'Blank', pattern: /[ \t\r\n]+/, line_breaks: true });
const Comment = createToken({
  name: 'Comment',
  // a '#' starts a comment only where a word could start, as in sh
  pattern: {
    exec: (text: string, offset: number): RegExpExecArray | null => {
      if (text[offset] !== '#') return null;
      const prev = charBefore(text, offset);
      if (prev !== ' ' && prev !== '\t' && prev !== '\n' && prev !== '\r') return null;
      const end = text.indexOf('\n', offset);
      const m = [text.slice(offset, end < 0 ? text.length : end)] as unknown as RegExpExecArray;
      return m;
    },
  },
  line_breaks: false,
  start_chars_hint: ['#'],
  group: Lexer.SKIPPED,
});
/**
 * The character sh sees before `offset`: backslash-newline pairs are removed before words are
 * split, so "a\<newline>#b" is the one word "a#b" while "a \<newline>#b" starts a comment.
 */
function charBefore(text: string, offset: number): string {
  let i = offset;
  for (;;) {
    if (i <= 0) return '\n';
    let k = i - 1;
    if (text[k] !== '\n') return text[k]!;
    if (text[k - 1] === '\r') k--;
    let slashes = 0;
    while (text[k - 1 - slashes] === '\\') slashes++;
    // an odd run of backslashes ends with an escaping one: a continuation, skipped
    if (slashes % 2 === 0) return '\n';
    i = k - 1;
  }
}
/**
 * A JSON object standing bare at the start of a word, as `ps` prints QEMU's arguments: a shell
 * would have stripped its quotes (QEMU could not have run it), so it is taken literally, up to the
 * brace that closes it (spaces inside its strings included), when a blank or the end follows.
 */
const PsJson = createToken({
  name: 'PsJson',
  pattern: {
    exec: (text: string, offset: number): RegExpExecArray | null => {
      if (text[offset] !== '{' || text[offset + 1] !== '"') return null;
      const prev = charBefore(text, offset);
      if (prev !== ' ' && prev !== '\t' && prev !== '\n' && prev !== '\r') return null;
      let depth = 0;
      let inString = false;
      for (let i = offset; i < text.length; i++) {
        const c = text[i];
        if (inString) {
          if (c === '\\') i++;
          else if (c === '"') inString = false;
        } else if (c === '"') inString = true;
        else if (c === '{' || c === '[') depth++;
        else if (c === '}' || c === ']') {
          if (--depth > 0) continue;
          const next = text[i + 1];
          if (next !== undefined && next !== ' ' && next !== '\t' && next !== '\n' && next !== '\r') return null;
          return [text.slice(offset, i + 1)] as unknown as RegExpExecArray;
        } else if (c === '\n') return null;
      }
      return null;
    },
  },
  line_breaks: false,
  start_chars_hint: ['{'],
});
const SingleQuoted = createToken({ name: 'SingleQuoted', pattern: /'[^']*'/, line_breaks: true });
const DoubleQuoted = createToken({ name: 'DoubleQuoted', pattern: /"(?:[^"\\]|\\[\s\S])*"/, line_breaks: true });
const Escaped = createToken({ name: 'Escaped', pattern: /\\[\s\S]/, line_breaks: true });
// only space, tab and newline separate words in sh (IFS); other white space is part of a word
const Bare = createToken({ name: 'Bare', pattern: /[^ \t\r\n'"\\]+/ });
// tried after the complete forms above, so these match only what is left unterminated
const OpenSingle = createToken({ name: 'OpenSingle', pattern: /'[^']*/, line_breaks: true });
const OpenDouble = createToken({ name: 'OpenDouble', pattern: /"(?:[^"\\]|\\[\s\S])*/, line_breaks: true });
const LoneBackslash = createToken({ name: 'LoneBackslash', pattern: /\\/ });

export const SHELL_TOKENS: TokenType[] = [
  Continuation, Blank, Comment, PsJson, SingleQuoted, DoubleQuoted, Escaped, OpenSingle, OpenDouble, LoneBackslash, Bare,
];

// built on first use: to-native never splits shell words, and building costs start-up time
let lexerInstance: Lexer | undefined;
const shellLexer = (): Lexer => (lexerInstance ??= new Lexer(SHELL_TOKENS, { positionTracking: 'full', ensureOptimizations: false }));

export interface Word {
  readonly text: string;
  readonly span: Span;
}

/** Splits command-line text into words, as `sh` would; NUL-separated text is split on NULs only. */
export function shellWords(text: string, file?: string): Word[] {
  if (text.includes('\0')) return nulWords(text, file);
  const result = shellLexer().tokenize(text);
  // NB: every character starts some token (the Open*/LoneBackslash tokens catch what is left
  // unterminated), so chevrotain reports no lexing errors: malformed input fails below, by code.
  const words: Word[] = [];
  let cur: string | undefined;
  let start: IToken | undefined;
  const flush = () => {
    if (cur !== undefined && start) words.push({ text: cur, span: spanOf(start, file) });
    cur = undefined;
    start = undefined;
  };
  for (const tok of result.tokens) {
    switch (tok.tokenType) {
      case Blank:
        flush();
        continue;
      case OpenSingle:
        return fail('UnterminatedQuote', { quote: 'single' }, spanOf(tok, file));
      case OpenDouble:
        return fail('UnterminatedQuote', { quote: 'double' }, spanOf(tok, file));
      case LoneBackslash:
        return fail('TrailingBackslash', {}, spanOf(tok, file));
    }
    if (cur === undefined) {
      cur = '';
      start = tok;
    }
    cur += pieceText(tok);
  }
  flush();
  return words;
}

function pieceText(tok: IToken): string {
  const img = tok.image;
  switch (tok.tokenType) {
    case SingleQuoted:
      // NB: libvirt's .args files wrap long words even inside '…' (its test loader joins every
      // backslash-newline before splitting), so here too the pair is a continuation, not text.
      return img.slice(1, -1).replace(/\\\r?\n/g, '');
    case DoubleQuoted:
      // inside "…" a backslash escapes only $ ` " \ and newline (which it removes)
      return img.slice(1, -1).replace(/\\([$`"\\\n])/g, (_m, c: string) => (c === '\n' ? '' : c));
    case Escaped:
      return img[1]!;
    default:
      return img;
  }
}

function spanOf(tok: IToken, file?: string): Span {
  return { file, line: tok.startLine ?? 1, column: tok.startColumn ?? 1, offset: tok.startOffset };
}

function nulWords(text: string, file?: string): Word[] {
  const words: Word[] = [];
  let offset = 0;
  for (const part of text.split('\0')) {
    if (part !== "") words.push({ text: part, span: { file, line: 1, column: offset + 1, offset } });
    offset += part.length + 1;
  }
  return words;
}
