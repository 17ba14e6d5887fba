// File input and output for the CLI: stdin as "-", atomic writes (temp file + rename, so an
// interrupted run never leaves a half-written file), input size and encoding checks.
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fail } from '../errors.js';

/** Largest input file accepted, in bytes: more than any domain XML or QEMU command line. */
export const MAX_INPUT_BYTES = 16 * 1024 * 1024;

export function readInput(file: string): string {
  const label = file === '-' ? 'standard input' : file;
  let bytes: Buffer;
  try {
    bytes = readBounded(file);
  } catch (err) {
    return fail('Io', { reason: `cannot read ${label}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
  }
  if (bytes.length > MAX_INPUT_BYTES) {
    return fail('InputTooLarge', { what: label, size: bytes.length, limit: MAX_INPUT_BYTES }, { file: label, line: 1, column: 1 });
  }
  return decodeUtf8(bytes, label);
}

/** At most MAX_INPUT_BYTES + 1 bytes: enough to tell a too large input without reading it all. */
function readBounded(file: string): Buffer {
  const fd = file === '-' ? 0 : openSync(file, 'r');
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    // NB: a regular file's size is known, so one read of size + 1 bytes sees its end (zero-filling
    // a fixed 1 MiB buffer per file cost more than converting it, in a batch of many files);
    // /proc files say size 0 and pipes have none: 64 KiB steps
    const step = st.isFile() && st.size > 0 ? st.size + 1 : 1 << 16;
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(step, MAX_INPUT_BYTES + 1 - total));
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch (err) {
        // NB: a non-blocking stdin (a pipe set up by some shells) reports EAGAIN between writes
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        throw err;
      }
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > MAX_INPUT_BYTES) break;
    }
    return Buffer.concat(chunks);
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

const REPLACEMENT = Buffer.from('\uFFFD', 'utf8');

/** Strict UTF-8: a replacement character would silently change a path or a name. */
function decodeUtf8(bytes: Buffer, label: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // NB: the lenient decoding turns each bad sequence into U+FFFD; the first U+FFFD that is not
    // an encoded U+FFFD in the input is where the bad bytes are
    const text = bytes.toString('utf8');
    let k = text.indexOf('\uFFFD');
    while (k >= 0 && bytes.subarray(Buffer.byteLength(text.slice(0, k))).subarray(0, 3).equals(REPLACEMENT)) k = text.indexOf('\uFFFD', k + 1);
    const before = text.slice(0, Math.max(k, 0));
    const line = before.split('\n').length;
    const column = before.length - before.lastIndexOf('\n');
    return fail('BadEncoding', { what: label }, { file: label, line, column });
  }
}

export function writeFileAtomic(file: string, text: string): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w', 0o644);
    const bytes = Buffer.from(text, 'utf8');
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* the temp file may not exist */
    }
    fail('Io', { reason: `cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
  }
}

/**
 * Writes the text to standard output. NB: straight to fd 1, not through process.stdout: creating
 * that stream loads Node's stream machinery, a few milliseconds of every cold CLI run. A
 * non-blocking descriptor that is full (EAGAIN) hands the rest to process.stdout, which waits; a
 * reader that went away (EPIPE, `domxml … | head`) ends the output quietly, as in other tools.
 */
export function writeStdout(text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(1, buf, off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        process.stdout.write(buf.subarray(off));
        return;
      }
      if (code === 'EPIPE') return;
      throw err;
    }
  }
}
