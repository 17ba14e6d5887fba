// Agreement with xmllint --relaxng (libvirt 9.0's domain.rng): corpus inputs it accepts, and seeded mutants of them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateDomainXml } from '../src/validate/index.js';
import { readXml } from '../src/xml/read.js';
import type { XmlElement } from '../src/xml/tree.js';
import { writeXml } from '../src/xml/write.js';

const CORPUS = join(import.meta.dirname, '..', '..', 'shared', 'corpus');
const RNG = join(CORPUS, 'libvirt-9.0-schemas', 'domain.rng');
const hasXmllint = spawnSync('xmllint', ['--version']).status === 0;
const ready = hasXmllint && existsSync(RNG);
const maybe = ready ? describe : describe.skip;

/**
 * Measured agreement (mutants whose verdict matches xmllint's): 2000/2000 with this seed (and
 * 2000/2000 with seed 7); the test keeps us at or above it. DOMXML_VALIDATE_SEED tries another seed.
 */
const AGREEMENT_FLOOR = 1;
const MUTANTS = 2000;
const SEED = Number(process.env.DOMXML_VALIDATE_SEED ?? 20260526);

function corpusInputs(): string[] {
  if (!existsSync(CORPUS)) return [];
  return readdirSync(CORPUS, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'libvirt-9.0-schemas')
    .flatMap((d) => readdirSync(join(CORPUS, d.name)).filter((f) => f.endsWith('.xml')).sort().map((f) => join(CORPUS, d.name, f)));
}

/** xmllint's verdict per file: it takes many files per run. */
function xmllint(files: readonly string[]): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (let i = 0; i < files.length; i += 500) {
    const batch = files.slice(i, i + 500);
    const r = spawnSync('xmllint', ['--noout', '--relaxng', RNG, ...batch], { encoding: 'utf8', maxBuffer: 64 << 20 });
    for (const line of r.stderr.split('\n')) {
      const m = /^(.*) (validates|fails to validate)$/.exec(line);
      if (m) out.set(m[1]!, m[2] === 'validates');
    }
  }
  return out;
}

// --- seeded mutations ------------------------------------------------------------------------

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Mutable = { name: string; attrs: Record<string, string>; children: Mutable[]; text: string };

function clone(e: XmlElement): Mutable {
  return { name: e.name, attrs: { ...e.attrs }, children: e.children.map(clone), text: e.text.trim() === '' ? '' : e.text.trim() };
}

function allElements(root: Mutable): Array<{ e: Mutable; parent: Mutable | undefined }> {
  const out: Array<{ e: Mutable; parent: Mutable | undefined }> = [];
  const walk = (e: Mutable, parent: Mutable | undefined): void => {
    out.push({ e, parent });
    e.children.forEach((c) => walk(c, e));
  };
  walk(root, undefined);
  return out;
}

function typo(s: string, r: () => number): string {
  const i = Math.floor(r() * s.length);
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const k = Math.floor(r() * 4);
  if (k === 0 && s.length > 1) return s.slice(0, i) + s.slice(i + 1); // drop
  if (k === 1 && i + 1 < s.length) return s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2); // swap
  if (k === 2) return s.slice(0, i) + letters[Math.floor(r() * 26)] + s.slice(i); // insert
  return s.slice(0, i) + letters[Math.floor(r() * 26)] + s.slice(i + 1); // replace
}

const WRONG_VALUES = ['abc', '-1', '99999999999999999999', '0x', '', 'yes', '1.5', 'foo bar', '12:34'];

/** One mutation of a document; the kind is part of the report. */
function mutate(root: Mutable, r: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const nodes = allElements(root);
  const inner = nodes.filter((n) => n.parent);
  const withAttrs = nodes.filter((n) => Object.keys(n.e.attrs).some((a) => !a.startsWith('xmlns')));
  const kind = pick(['rename-element', 'rename-attribute', 'enum-value', 'wrong-type', 'drop-attribute', 'drop-element', 'move-element', 'duplicate-element', 'add-text']);
  switch (kind) {
    case 'rename-element': {
      const n = pick(inner);
      n.e.name = typo(n.e.name, r);
      return `${kind} ${n.e.name}`;
    }
    case 'rename-attribute':
    case 'enum-value':
    case 'wrong-type':
    case 'drop-attribute': {
      if (!withAttrs.length) return 'none';
      const n = pick(withAttrs);
      const a = pick(Object.keys(n.e.attrs).filter((k) => !k.startsWith('xmlns')));
      const v = n.e.attrs[a]!;
      if (kind === 'drop-attribute') delete n.e.attrs[a];
      else if (kind === 'rename-attribute') {
        delete n.e.attrs[a];
        n.e.attrs[typo(a, r)] = v;
      } else if (kind === 'enum-value') n.e.attrs[a] = typo(v || 'x', r);
      else n.e.attrs[a] = pick(WRONG_VALUES);
      return `${kind} <${n.e.name} ${a}>`;
    }
    case 'drop-element': {
      const n = pick(inner);
      n.parent!.children.splice(n.parent!.children.indexOf(n.e), 1);
      return `${kind} ${n.e.name}`;
    }
    case 'move-element': {
      const n = pick(inner);
      const targets = nodes.filter((t) => t.e !== n.parent && !allElements(n.e).some((x) => x.e === t.e));
      if (!targets.length) return 'none';
      const t = pick(targets);
      n.parent!.children.splice(n.parent!.children.indexOf(n.e), 1);
      t.e.children.splice(Math.floor(r() * (t.e.children.length + 1)), 0, n.e);
      return `${kind} ${n.e.name} -> ${t.e.name}`;
    }
    case 'duplicate-element': {
      const n = pick(inner);
      n.parent!.children.splice(n.parent!.children.indexOf(n.e), 0, JSON.parse(JSON.stringify(n.e)) as Mutable);
      return `${kind} ${n.e.name}`;
    }
    default: {
      const n = pick(nodes.filter((x) => x.e.children.length === 0));
      n.e.text = n.e.text ? `${n.e.text} ${pick(WRONG_VALUES)}` : pick(WRONG_VALUES) || 'x';
      return `${kind} ${n.e.name}`;
    }
  }
}

maybe('agreement with xmllint --relaxng domain.rng', () => {
  let tmp: string;
  let accepted: string[];
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'domxml-validate-'));
    const verdicts = xmllint(corpusInputs());
    accepted = [...verdicts].filter(([, ok]) => ok).map(([f]) => f);
  }, 120_000);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test('every corpus input xmllint accepts, we accept', () => {
    expect(accepted.length).toBeGreaterThan(100);
    const rejected = accepted.filter((f) => !validateDomainXml(readFileSync(f, 'utf8'), { file: f, rules: false }).valid);
    expect(rejected).toEqual([]);
  }, 240_000);

  test(`${MUTANTS} seeded mutants: verdicts agree with xmllint`, () => {
    const r = rng(SEED);
    const roots = accepted.map((f) => ({ f, root: readXml(readFileSync(f, 'utf8'), f) }));
    const mutants: Array<{ file: string; what: string; text: string }> = [];
    for (let i = 0; mutants.length < MUTANTS && i < MUTANTS * 3; i++) {
      const { f, root } = roots[Math.floor(r() * roots.length)]!;
      const m = clone(root);
      const what = mutate(m, r);
      if (what === 'none') continue;
      const file = join(tmp, `m${String(mutants.length).padStart(4, '0')}.xml`);
      const text = writeXml(m as unknown as XmlElement);
      writeFileSync(file, text);
      mutants.push({ file, what: `${f.split('/').pop()}: ${what}`, text });
    }
    const t0 = Date.now();
    const theirs = xmllint(mutants.map((m) => m.file));
    const t1 = Date.now();
    const disagreements: string[] = [];
    const unexplained: string[] = [];
    const explained: string[] = [];
    let invalid = 0;
    for (const m of mutants) {
      const result = validateDomainXml(m.text, { rules: false });
      const ours = result.valid;
      if (!ours && !result.diagnostics.some((d) => d.severity === 'error')) unexplained.push(m.file);
      if (!ours) explained.push(`${m.what}\n  ${result.diagnostics.map((d) => `${d.line}:${d.column} ${d.code}: ${d.message} [${d.path}]`).join('\n  ')}`);
      const xl = theirs.get(m.file);
      if (xl === false) invalid++;
      if (ours !== xl) disagreements.push(`${m.file.split('/').pop()} ${m.what}: xmllint ${xl ? 'accepts' : 'rejects'}, we ${ours ? 'accept' : 'reject'}`);
    }
    const agreement = 1 - disagreements.length / mutants.length;
    const timing = `xmllint ${t1 - t0} ms, domxml ${Date.now() - t1} ms`;
    if (process.env.DOMXML_VALIDATE_REPORT) {
      writeFileSync(process.env.DOMXML_VALIDATE_REPORT, `agreement ${agreement} (${mutants.length - disagreements.length}/${mutants.length}), xmllint rejects ${invalid}; ${timing}\n${disagreements.join('\n')}\n\n${explained.join('\n')}\n`);
    }
    expect(theirs.size).toBe(mutants.length);
    // every rejection comes with at least one located reason
    expect(unexplained).toEqual([]);
    // the disagreements themselves, so a failure says which mutants
    expect(agreement >= AGREEMENT_FLOOR ? [] : disagreements).toEqual([]);
  }, 240_000);
});
