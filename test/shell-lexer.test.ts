// Shell words: the splitting a POSIX shell does before exec(), with line:column spans.
import { shellWords } from '../src/lexer/shell-lexer.js';
import { diagnosticOf } from './support/errors.js';

const texts = (s: string) => shellWords(s).map((w) => w.text);

describe('shellWords', () => {
  test('splits on blanks', () => {
    expect(texts('  qemu  -m\t512\n-S ')).toEqual(['qemu', '-m', '512', '-S']);
  });

  test('single quotes keep everything literally, backslashes included', () => {
    expect(texts(`a 'b c' 'x\\y' '"q"' ''`)).toEqual(['a', 'b c', 'x\\y', '"q"', '']);
  });

  test('double quotes: \\ escapes only $ ` " \\ and newline', () => {
    expect(texts(`"a \\"b\\" \\$x \\\`c\\\` \\\\ \\n"`)).toEqual(['a "b" $x `c` \\ \\n']);
    expect(texts('"one\\\ntwo"')).toEqual(['onetwo']);
    expect(texts('"a\nb"')).toEqual(['a\nb']);
  });

  test('backslash outside quotes escapes the next character', () => {
    expect(texts('a\\ b c\\\'d \\"e\\\\')).toEqual(['a b', "c'd", '"e\\']);
  });

  test('adjacent quoted and bare pieces form one word', () => {
    expect(texts(`file='/a b'",c"d`)).toEqual(['file=/a b,cd']);
  });

  test("backslash-newline continuations (libvirt's .args layout)", () => {
    const args = 'LC_ALL=C \\\nPATH=/bin \\\n/usr/bin/qemu \\\n-name guest=a \\\n-S\n';
    expect(texts(args)).toEqual(['LC_ALL=C', 'PATH=/bin', '/usr/bin/qemu', '-name', 'guest=a', '-S']);
    // a continuation inside a word joins its halves
    expect(texts('ab\\\ncd')).toEqual(['abcd']);
    expect(texts('a \\\r\nb')).toEqual(['a', 'b']);
  });

  test('spans are 1-based line:column of the first character of each word', () => {
    const words = shellWords("qemu \\\n  -m 'x y'\n-S", 'f.args');
    expect(words.map((w) => [w.text, w.span.line, w.span.column])).toEqual([
      ['qemu', 1, 1],
      ['-m', 2, 3],
      ['x y', 2, 6],
      ['-S', 3, 1],
    ]);
    expect(words[0]!.span.file).toBe('f.args');
  });

  test('ps output: a JSON object bare at the start of a word is taken literally, spaces in its strings too', () => {
    const w = (t: string) => shellWords(t).map((x) => x.text);
    expect(w('qemu -device {"driver":"ide-hd","drive":"a b","id":"x"} -name g')).toEqual(['qemu', '-device', '{"driver":"ide-hd","drive":"a b","id":"x"}', '-name', 'g']);
    expect(w('-object {"qom-type":"secret","data":"a\\"}b","o":{"k":[1,{"j":2}]}}')).toEqual(['-object', '{"qom-type":"secret","data":"a\\"}b","o":{"k":[1,{"j":2}]}}']);
    // a quoted one is shell syntax as ever; a brace not followed by a quote, or glued to more text, too
    expect(w(`-device '{"driver":"x"}'`)).toEqual(['-device', '{"driver":"x"}']);
    expect(w('{a,b} {"a":1}x')).toEqual(['{a,b}', '{a:1}x']);
  });
  test('# starts a comment only where a word could start', () => {
    expect(texts('# a script\nqemu -S # stop at start\n-m 1#2')).toEqual(['qemu', '-S', '-m', '1#2']);
    expect(texts(`'a'#b "c"#d`)).toEqual(['a#b', 'c#d']);
    expect(texts("'#x' \\#y")).toEqual(['#x', '#y']);
  });

  test('a continuation is removed before comments are recognised', () => {
    // "a\<nl>#b" is the word "a#b"; "a \<nl>#b" is "a" and a comment
    expect(texts('a\\\n#b c')).toEqual(['a#b', 'c']);
    expect(texts('a \\\n#b c\nd')).toEqual(['a', 'd']);
    // an escaped backslash before the newline is no continuation
    expect(texts('a\\\\\n#b\nc')).toEqual(['a\\', 'c']);
  });

  test('white space other than space, tab and newline is part of a word', () => {
    expect(texts('a\u00a0b c\fd')).toEqual(['a\u00a0b', 'c\fd']);
  });

  test('NUL-separated /proc/PID/cmdline: each NUL ends one literal argument', () => {
    const words = shellWords("qemu\0-name\0guest=it's here\0-append\0a \"b\" \\c\0", '/proc/1/cmdline');
    expect(words.map((w) => w.text)).toEqual(['qemu', '-name', "guest=it's here", '-append', 'a "b" \\c']);
    expect(words.map((w) => w.span.column)).toEqual([1, 6, 12, 28, 36]);
  });

  test('NUL-separated: empty arguments between NULs are dropped', () => {
    expect(texts('a\0\0b')).toEqual(['a', 'b']);
  });

  test('empty input has no words', () => {
    expect(texts('')).toEqual([]);
    expect(texts('  # only a comment\n')).toEqual([]);
  });

  test('unterminated single quote: UnterminatedQuote at the quote', () => {
    const d = diagnosticOf(() => shellWords("qemu \\\n  -append 'root=/dev/sda\n-S", 'x.args'));
    expect(d.code).toBe('UnterminatedQuote');
    expect(d.severity).toBe('error');
    expect(d.message).toBe('unterminated single quote');
    expect(d.span).toMatchObject({ file: 'x.args', line: 2, column: 11 });
  });

  test('unterminated double quote: UnterminatedQuote at the quote', () => {
    const d = diagnosticOf(() => shellWords('a b "c \\" d'));
    expect(d.code).toBe('UnterminatedQuote');
    expect(d.message).toBe('unterminated double quote');
    expect(d.span).toMatchObject({ line: 1, column: 5 });
  });

  test('any character either lexes or fails with a catalogue error', () => {
    const chars = [...Array(128).keys()].map((c) => String.fromCharCode(c)).concat(['\u00a0', '\u2028', 'é', '😀']);
    for (const ch of chars) {
      for (const text of [ch, `a${ch}b`, `'${ch}'`, `"${ch}"`, `\\${ch}`]) {
        try {
          shellWords(text);
        } catch {
          expect([text, diagnosticOf(() => shellWords(text)).code]).toEqual([text, expect.stringMatching(/^(UnterminatedQuote|TrailingBackslash)$/)]);
        }
      }
    }
  });

  test('a backslash at the very end escapes nothing', () => {
    const d = diagnosticOf(() => shellWords('qemu -S \\'));
    expect(d.code).toBe('TrailingBackslash');
    expect(d.span).toMatchObject({ line: 1, column: 9 });
  });
});
