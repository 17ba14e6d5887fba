// Older QEMU profiles drop nothing silently: every fact of a golden domain that to-native -> from-native
// keeps for QEMU 7.2 but loses for an older QEMU is either named in a to-native warning (by element
// name, or by a warning located inside that element) or listed below with the reason no command
// line of that era can hold it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DomxmlError, domainFromXml, domainToArgv, printArgvLine, type Diagnostic } from '../src/index.js';
import type { XmlElement } from '../src/xml/tree.js';
import { readXml } from '../src/xml/read.js';
import { goldenCases } from './support/golden.js';
import { nativeRoundTrip } from './support/native-roundtrip.js';

const VERSIONS = ['0.12', '1.0', '2.12', '4.0', '6.0'] as const;

type Facts = Map<string, number>;

/** One fact per element: its path, sorted attributes and text (as ../shared/tools/xmlcmp.py counts them). */
function facts(xml: string): Facts {
  const out: Facts = new Map();
  const walk = (e: XmlElement, path: string) => {
    const here = `${path}/${e.name}`;
    const attrs = Object.entries(e.attrs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join(' ');
    const key = `${here} [${attrs}] ${e.text.trim()}`;
    out.set(key, (out.get(key) ?? 0) + 1);
    for (const c of e.children) walk(c, here);
  };
  walk(readXml(xml, 'fact.xml'), '');
  return out;
}

const minus = (a: Facts, b: Facts): Facts => new Map([...a].map(([k, n]) => [k, n - (b.get(k) ?? 0)] as const).filter(([, n]) => n > 0));

/** Facts the round trip loses: in the canonical input, not in what from-native read back. */
function lost(xml: string, version: string, file: string): Facts {
  const r = nativeRoundTrip(xml, version, file);
  return minus(facts(r.want), facts(r.got));
}

/** Facts no command line of the era holds, by path, and why. */
const CANNOT_HOLD: ReadonlyArray<{ readonly fact: RegExp; readonly why: string }> = [
  { fact: /^\/domain\/on_crash /, why: "before QEMU's set-action libvirt acted on the guest-panicked event itself: the crash action never reached the command line" },
  { fact: /^\/domain\/devices\/disk\/backingStore/, why: 'before -blockdev QEMU opened the backing chain the image header names: libvirt printed the top image only' },
];

/** The top-level element a fact is about: a child of <devices>, else of <domain>. */
function topName(fact: string): { name: string; device: boolean } {
  const p = fact.split(' ')[0]!.split('/');
  return p[2] === 'devices' && p.length > 3 ? { name: p[3]!, device: true } : { name: p[2] ?? 'domain', device: false };
}

/** Whether a warning names the fact's element or points inside one of its elements in the input. */
function warned(fact: string, source: XmlElement, warnings: readonly Diagnostic[]): boolean {
  const { name, device } = topName(fact);
  const level = device ? (source.children.find((c) => c.name === 'devices')?.children ?? []) : source.children;
  const ranges = level.flatMap((c, i) => (c.name === name && c.span ? [[c.span.line, level[i + 1]?.span?.line ?? Infinity] as const] : []));
  const bare = name.replace(/^qemu:/, '');
  return warnings.some((d) => d.message.includes(`<${name}`) || d.message.toLowerCase().includes(bare.toLowerCase()) || (d.span && ranges.some(([a, b]) => d.span!.line >= a && d.span!.line < b)));
}

describe('older QEMU profiles: nothing dropped silently', () => {
  const cases = goldenCases().filter((c) => c.input === 'input.xml');
  test.each(cases.map((c) => [c.name, c] as const))('golden %s', (_name, c) => {
    const file = join(c.dir, c.input);
    const xml = readFileSync(file, 'utf8');
    const source = readXml(xml, file);
    let modern: Facts;
    try {
      modern = lost(xml, '7.2', file);
    } catch (err) {
      if (err instanceof DomxmlError) return; // refused outright: loud, not silent
      throw err;
    }
    const silent: string[] = [];
    for (const v of VERSIONS) {
      let gone: Facts;
      let warnings: readonly Diagnostic[];
      try {
        gone = minus(lost(xml, v, file), modern);
        warnings = domainToArgv(domainFromXml(xml, file).domain, { qemuVersion: v }).diagnostics.items;
      } catch (err) {
        if (err instanceof DomxmlError) continue;
        throw err;
      }
      if (!gone.size) continue;
      for (const fact of gone.keys()) {
        if (CANNOT_HOLD.some((r) => r.fact.test(fact)) || warned(fact, source, warnings)) continue;
        silent.push(`QEMU ${v}: ${fact}`);
      }
    }
    expect(silent).toEqual([]);
  });
});

test('-device properties younger than the target QEMU are left out with a warning, whichever family prints them (the option table says when each came)', () => {
  const xml = `<domain type='qemu'><name>ai</name><memory unit='KiB'>524288</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os>
    <devices><disk type='file' device='disk'><driver name='qemu' type='raw' packed='on' page_per_vq='on'/><source file='/a.img'/><target dev='vda' bus='virtio'/><acpi index='3'/></disk>
    <interface type='user'><mac address='52:54:00:00:00:01'/><model type='virtio'/><acpi index='4'/></interface><memballoon model='none'/></devices></domain>`;
  const at = (v: string) => {
    const r = domainToArgv(domainFromXml(xml).domain, { qemuVersion: v });
    return { line: printArgvLine(r.argv), warnings: r.diagnostics.items.map((d) => d.message) };
  };
  expect(at('7.2').line).toMatch(/"acpi-index":3.*"acpi-index":4/s);
  const old = at('4.0');
  expect(old.line).not.toContain('acpi-index');
  expect(old.line).toContain('page-per-vq=on');
  expect(old.line).not.toContain('packed');
  expect(old.warnings).toEqual(expect.arrayContaining(['acpi-index= of -device virtio-disk0 cannot be expressed for QEMU 4.0 (it came in 6.0): left out', 'acpi-index= of -device net0 cannot be expressed for QEMU 4.0 (it came in 6.0): left out']));
  expect(at('2.5').warnings.filter((w) => w.includes('came in'))).toHaveLength(4);
});
