// Property tests of hostile input: mutated XML and command lines must give a result or a DomxmlError.
//
// Runs inside a worker of scripts/fuzz.mjs, against the built library (dist/). Each property
// reports the case it is about to run first, so the runner can name the input of a hang.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import * as lib from '../../dist/index.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CORPUS = join(ROOT, '..', 'shared', 'corpus');

function inputs(ext) {
  const out = [];
  const golden = join(ROOT, 'golden');
  for (const c of readdirSync(golden)) {
    const f = join(golden, c, `input.${ext}`);
    if (existsSync(f)) out.push(readFileSync(f, 'utf8'));
  }
  const dir = join(CORPUS, ext === 'xml' ? 'libvirt-9.0-xml2argv' : 'libvirt-5.4-argv2xml');
  if (existsSync(dir)) for (const f of readdirSync(dir).sort()) if (f.endsWith(`.${ext}`)) out.push(readFileSync(join(dir, f), 'utf8'));
  return out;
}

const HUGE = ['99999999999999999999999', '-1', '4294967296', '1e308', 'NaN', '0x', '18446744073709551616'];
/** One edit of a text: the damage real files suffer, and the tricks hostile ones play. */
const edit = fc.tuple(fc.nat(), fc.nat({ max: 9 }), fc.string({ maxLength: 6 }), fc.constantFrom(...HUGE));
function mutate(text, edits) {
  let t = text;
  for (const [p, kind, s, huge] of edits) {
    const i = p % (t.length + 1);
    switch (kind) {
      case 0: t = t.slice(0, i); break; // truncation
      case 1: t = t.slice(0, i) + s + t.slice(i + 1); break; // byte flips
      case 2: t = t.slice(0, i) + t.slice(i + 1 + s.length * 4); break; // deletion
      case 3: t = t.slice(0, i) + t.slice(i, i + 60) + t.slice(i); break; // duplication
      case 4: t = t.slice(0, i) + s.slice(0, 1).replace(/./, (c) => `"'{}[]<>`[c.charCodeAt(0) % 8]) + t.slice(i); break; // unbalanced quotes and braces
      case 5: t = t.replace(/\d+/g, (m, at) => (at >= i && at < i + 400 ? huge : m)); break; // huge numbers
      case 6: t = t.slice(0, i) + '\0' + t.slice(i); break; // NUL bytes
      case 7: t = t.slice(0, i) + '\uFFFD\uD800' + t.slice(i); break; // what invalid UTF-8 decodes to; a lone surrogate
      case 8: t = t.slice(0, i) + `,${s}=` + t.slice(i); break; // a smuggled QemuOpts key
      default: t = t.slice(0, i) + t.slice(i).replace(/\s-[a-z]+/, ''); // a deleted option
    }
  }
  return t;
}

export const toNative = (text) => {
  const { domain } = lib.domainFromXml(text, 'fuzz.xml');
  for (const qemuVersion of ['7.2', '0.12']) lib.printArgvLine(lib.domainToArgv(domain, { qemuVersion }).argv);
  lib.domainToXml(domain);
};
export const fromNative = (text) => {
  for (const minimal of [false, true]) {
    const { domain } = lib.domainFromArgvText(text, 'fuzz.args', { minimal });
    const xml = lib.domainToXml(domain);
    // what from-native prints must read back
    toNative(xml);
  }
};

/** Ok or a catalogued error; anything else is a failure of the property. */
function allowed(run, text) {
  try {
    run(text);
    return true;
  } catch (err) {
    if (err instanceof lib.DomxmlError) return true;
    throw err;
  }
}

export function properties(announce) {
  const xml = inputs('xml');
  const args = inputs('args');
  const guarded = (name, run) => (text) => {
    announce(name, text);
    return allowed(run, text);
  };
  return [
    { name: 'mutated XML to-native', prop: fc.property(fc.constantFrom(...xml), fc.array(edit, { minLength: 1, maxLength: 4 }), (t, e) => guarded('to-native', toNative)(mutate(t, e))) },
    { name: 'mutated command line from-native', prop: fc.property(fc.constantFrom(...args), fc.array(edit, { minLength: 1, maxLength: 4 }), (t, e) => guarded('from-native', fromNative)(mutate(t, e))) },
    { name: 'random text both ways', prop: fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (t) => guarded('to-native', toNative)(t) && guarded('from-native', fromNative)(t)) },
    { name: 'random command lines from-native', prop: fc.property(fc.array(fc.oneof(fc.constantFrom(...lib.OPTIONS.map((o) => o.name)), fc.string({ maxLength: 12 }), fc.constantFrom(...HUGE)), { maxLength: 30 }), (words) => guarded('from-native', fromNative)(['qemu-system-x86_64', ...words].map(lib.shellQuote).join(' '))) },
  ];
}

const xmlEscape = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
const hostileChar = fc.constantFrom(',', '"', "'", ' ', '$(', ')', '`', '\n', '\\', '=', ';', '|', '*', 'a', 'b', '/', '-', 'é');
const hostile = fc.array(hostileChar, { minLength: 1, maxLength: 12 }).map((cs) => cs.join(''));
/** A domain whose name and disk path are hostile; the text has to come back word for word. */
export const quotingCase = fc.record({ name: hostile.map((s) => `g${s}`.replace(/\s+$/, 'x')), path: hostile.map((s) => `/img/${s}`) });

export function quotingDomain({ name, path }) {
  return `<domain type='qemu'><name>${xmlEscape(name)}</name><memory>65536</memory><os><type arch='x86_64' machine='pc'>hvm</type></os>` +
    `<devices><emulator>/usr/bin/qemu-system-x86_64</emulator><disk type='file' device='disk'><source file="${xmlEscape(path)}"/><target dev='vda' bus='virtio'/></disk></devices></domain>`;
}

/**
 * Checks a batch of quoting cases: one bash splits every printed line into words (printf '%s\0'),
 * which must be the words domxml meant, and from-native must give the name and path back.
 * Returns the failures as strings.
 */
export function checkQuoting(cases, bash) {
  const runs = [];
  for (const c of cases) {
    try {
      const { domain } = lib.domainFromXml(quotingDomain(c), 'quoting.xml');
      const { argv } = lib.domainToArgv(domain, { qemuVersion: '7.2' });
      runs.push({ c, words: lib.argvWords(argv), line: lib.printArgvLine(argv) });
    } catch (err) {
      if (!(err instanceof lib.DomxmlError)) throw err;
    }
  }
  const script = runs.map((r) => `printf '%s\\0' ${r.line}; printf '\\1\\0'\n`).join('');
  const split = bash(script).split('\x01\0').slice(0, runs.length).map((s) => s.split('\0').slice(0, -1));
  const failures = [];
  runs.forEach((r, k) => {
    if (JSON.stringify(split[k]) !== JSON.stringify(r.words)) failures.push(`shell words differ for ${JSON.stringify(r.c)}: ${r.line}`);
    const { domain } = lib.domainFromArgvText(r.line, 'quoting.args', { minimal: true });
    const back = { name: domain.name, path: domain.devices.disks[0]?.source?.file };
    if (back.name !== r.c.name || back.path !== r.c.path) failures.push(`from-native gave ${JSON.stringify(back)} for ${JSON.stringify(r.c)}`);
  });
  return failures;
}
