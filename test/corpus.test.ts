// The reference corpus (../shared/corpus, when present): to-native over libvirt 9.0's xml2argv
// cases and from-native over libvirt 5.4's argv2xml cases, in-process through the library,
// compared with ../shared/tools' argvcmp/xmlcmp. Fails when a pass rate drops below its floor in
// test/corpus-floor.json (raise the floor as the figures improve). Skipped without ../shared.
import { createDecipheriv } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DomxmlError } from '../src/errors.js';
import type { HostFacts } from '../src/emit/host.js';
import { DEFAULT_QEMU_VERSION, domainFromArgvText, domainFromXml, domainToArgv, domainToXml, parseQemuConf, printArgvLine } from '../src/index.js';
import { validateDomainXml } from '../src/validate/index.js';
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

/**
 * libvirt's test harness answers every secret lookup with one fixed value from its fake secret
 * driver, and encrypts it with master key 00 01 … 1f and IV 00 01 … 0f. That value is not part of
 * any domain XML, so the converter cannot know it: it reads secret values from a libvirt secrets
 * directory (--secrets-dir). To compare the rest of those cases exactly, this builds such a
 * directory holding, for every secret the cases name (by uuid or by usage, in the XML or in the
 * harness qemu.conf), the harness's value, recovered by decrypting the expected output's secret
 * objects (the most common plaintext: HTTP cookie secrets carry the cookies instead).
 */
function harnessSecretsDir(cases: readonly CorpusCase[], confs: Record<string, string>): string {
  const counting = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => i));
  const seen = new Map<string, number>();
  for (const c of cases) {
    for (const m of readFileSync(c.expected, 'utf8').matchAll(/"qom-type":"secret","id":"[^"]*","data":"([^"]*)","keyid":"masterKey0","iv":"([^"]*)"/g)) {
      const d = createDecipheriv('aes-256-cbc', counting(32), Buffer.from(m[2]!, 'base64'));
      const plain = Buffer.concat([d.update(Buffer.from(m[1]!, 'base64')), d.final()]).toString('base64');
      seen.set(plain, (seen.get(plain) ?? 0) + 1);
    }
  }
  const value = [...seen].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
  const dir = mkdtempSync(join(tmpdir(), 'domxml-secrets-'));
  // usage kind and the element holding its id, by the <secret type> naming it
  const usage: Record<string, [string, string]> = { iscsi: ['iscsi', 'target'], ceph: ['ceph', 'name'], passphrase: ['volume', 'volume'], vtpm: ['vtpm', 'name'] };
  let n = 0;
  const add = (uuid: string | undefined, kind: [string, string], id: string | undefined) => {
    const u = uuid ?? `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
    const use = id !== undefined ? `<${kind[1]}>${id.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</${kind[1]}>` : '';
    writeFileSync(join(dir, `${u}.xml`), `<secret ephemeral='no' private='yes'>\n  <uuid>${u}</uuid>\n  <usage type='${kind[0]}'>${use}</usage>\n</secret>\n`);
    writeFileSync(join(dir, `${u}.base64`), value);
  };
  for (const c of cases) {
    for (const m of readFileSync(c.input, 'utf8').matchAll(/<secret\s+type='(\w+)'\s+(uuid|usage)='([^']*)'/g)) {
      const kind = usage[m[1]!];
      if (kind) add(m[2] === 'uuid' ? m[3] : undefined, kind, m[2] === 'usage' ? m[3] : undefined);
    }
    for (const m of (confs[c.name] ?? '').matchAll(/_secret_uuid\s*=\s*"([^"]*)"/g)) add(m[1], ['tls', 'name'], undefined);
  }
  return dir;
}

/**
 * The host libvirt's test harness mocks (tests/qemuxml2argvmock.c): its DRM render node probe
 * answers /dev/dri/foo. Host facts are explicit emitter input (--probe-host reads a real host's).
 */
const HARNESS_HOST: HostFacts = { renderNodes: ['/dev/dri/foo'] };

maybe('corpus', () => {
  test('to-native: libvirt-9.0-xml2argv (harness qemu.conf per case)', () => {
    const dir = join(CORPUS, 'libvirt-9.0-xml2argv');
    const cases = corpusCases(dir, 'to-native');
    expect(cases.length).toBeGreaterThan(0);
    const confs = harnessConfs(dir, cases.map((c) => c.name));
    const secretsDir = harnessSecretsDir(cases, confs);
    const js = jobs(cases, 'argv', (c, text) => {
      const { domain } = domainFromXml(text, c.input);
      const config = parseQemuConf(confs[c.name]!, `${c.name}.qemu.conf`);
      return printArgvLine(domainToArgv(domain, { qemuVersion: DEFAULT_QEMU_VERSION, config, secretsDir, host: HARNESS_HOST }).argv) + '\n';
    });
    rmSync(secretsDir, { recursive: true, force: true });
    expect(report('to-native libvirt-9.0-xml2argv', js)).toBeGreaterThanOrEqual(floor.toNative!);
  });

  test('from-native: libvirt-5.4-argv2xml', () => {
    const cases = corpusCases(join(CORPUS, 'libvirt-5.4-argv2xml'), 'from-native');
    expect(cases.length).toBeGreaterThan(0);
    const js = jobs(cases, 'xml', (c, text) => domainToXml(domainFromArgvText(text, c.input).domain));
    expect(report('from-native libvirt-5.4-argv2xml', js)).toBeGreaterThanOrEqual(floor.fromNative!);
  });

  // NB: from-native writes for libvirt 9.0 to define: every command line of both corpora (libvirt
  // 5.4's legacy ones and 9.0's own) must give a domain its schema and rules accept
  test('from-native of every corpus command line is a valid domain', () => {
    const invalid: string[] = [];
    let total = 0;
    for (const sub of ['libvirt-5.4-argv2xml', 'libvirt-9.0-xml2argv']) {
      for (const file of readdirSync(join(CORPUS, sub)).filter((f) => f.endsWith('.args')).sort()) {
        total++;
        const path = join(CORPUS, sub, file);
        const xml = domainToXml(domainFromArgvText(readFileSync(path, 'utf8'), path).domain);
        const errors = validateDomainXml(xml, { file }).diagnostics.filter((d) => d.severity === 'error');
        if (errors.length) invalid.push(`${sub}/${file}: ${errors.map((e) => `${e.code} ${e.message}`).join('; ')}`);
      }
    }
    expect(total).toBeGreaterThan(300);
    expect(invalid).toEqual([]);
  });
});
