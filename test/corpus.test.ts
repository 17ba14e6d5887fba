// The reference corpus (../shared/corpus, when present): to-native over libvirt 9.0's xml2argv
// cases and from-native over libvirt 5.4's argv2xml cases, in-process through the library,
// compared with ../shared/tools' argvcmp/xmlcmp. Fails when a pass rate drops below its floor in
// test/corpus-floor.json (raise the floor as the figures improve). Skipped without ../shared.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DomxmlError } from '../src/errors.js';
import { DEFAULT_QEMU_VERSION, domainFromArgvText, domainFromXml, domainToArgv, domainToXml, parseQemuConf, printArgvLine } from '../src/index.js';
import { compareAll, CORPUS, corpusCases, corpusPresent, harnessConfs, type CompareJob, type CorpusCase } from './support/corpus.js';

const floor = JSON.parse(readFileSync(join(import.meta.dirname, 'corpus-floor.json'), 'utf8')) as Record<string, number>;
const maybe = corpusPresent() ? describe : describe.skip;

/** Runs every case; a case whose conversion fails counts as failed (crashes are listed). */
function jobs(cases: readonly CorpusCase[], mode: CompareJob['mode'], convert: (c: CorpusCase, text: string) => string): CompareJob[] {
  const crashes: string[] = [];
  const out = cases.map((c) => {
    let actual = '';
    try {
      actual = convert(c, readFileSync(c.input, 'utf8'));
    } catch (err) {
      if (!(err instanceof DomxmlError)) crashes.push(`${c.name}: ${(err as Error).message}`);
    }
    return { name: c.name, mode, expected: readFileSync(c.expected, 'utf8'), actual };
  });
  if (crashes.length) console.log(`internal errors (not catalogue errors) in ${crashes.length} cases:\n  ${crashes.join('\n  ')}`);
  return out;
}

function report(label: string, js: readonly CompareJob[]): number {
  const results = compareAll(js);
  const exact = results.filter((r) => r.exact).length;
  const rate = exact / results.length;
  const f1 = results.reduce((s, r) => s + r.f1, 0) / results.length;
  console.log(`${label}: exact ${exact}/${results.length} (${(rate * 100).toFixed(1)}%), mean f1 ${f1.toFixed(3)}`);
  return rate;
}

maybe('corpus', () => {
  test('to-native: libvirt-9.0-xml2argv (harness qemu.conf per case)', () => {
    const dir = join(CORPUS, 'libvirt-9.0-xml2argv');
    const cases = corpusCases(dir, 'to-native');
    expect(cases.length).toBeGreaterThan(0);
    const confs = harnessConfs(dir, cases.map((c) => c.name));
    const js = jobs(cases, 'argv', (c, text) => {
      const { domain } = domainFromXml(text, c.input);
      const config = parseQemuConf(confs[c.name]!, `${c.name}.qemu.conf`);
      return printArgvLine(domainToArgv(domain, { qemuVersion: DEFAULT_QEMU_VERSION, config }).argv) + '\n';
    });
    expect(report('to-native libvirt-9.0-xml2argv', js)).toBeGreaterThanOrEqual(floor.toNative!);
  });

  test('from-native: libvirt-5.4-argv2xml', () => {
    const cases = corpusCases(join(CORPUS, 'libvirt-5.4-argv2xml'), 'from-native');
    expect(cases.length).toBeGreaterThan(0);
    const js = jobs(cases, 'xml', (c, text) => domainToXml(domainFromArgvText(text, c.input).domain));
    expect(report('from-native libvirt-5.4-argv2xml', js)).toBeGreaterThanOrEqual(floor.fromNative!);
  });
});
