// domxml validate: golden diagnostics for broken domains, the JSON mapping, suggestions, and the CLI.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateDomainXml as fromIndex } from '../src/index.js';
import { didYouMean, editDistance, formatText } from '../src/validate/diagnostic.js';
import { RULE_DOCS, validateDomainXml } from '../src/validate/index.js';
import { locate, toJson } from '../src/validate/to-json.js';
import { readXml } from '../src/xml/read.js';

const ROOT = join(import.meta.dirname, '..');
const FIXTURES = join(import.meta.dirname, 'fixtures', 'validate');
const UPDATE = process.env.DOMXML_UPDATE_GOLDEN === '1';
const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith('.xml')).sort();

function check(name: string): string {
  const text = readFileSync(join(FIXTURES, name), 'utf8');
  // NB: the host rule is exercised as if on a host without /dev/kvm, whatever this machine has
  const r = validateDomainXml(text, { file: name, host: true, kvmAvailable: false });
  return `${r.valid ? 'valid' : 'invalid'}\n${r.diagnostics.map((d) => formatText(d)).join('\n')}\n`;
}

describe('golden diagnostics (test/fixtures/validate/NAME.xml → NAME.expected)', () => {
  test.each(fixtures)('%s', (name) => {
    const golden = join(FIXTURES, name.replace(/\.xml$/, '.expected'));
    const actual = check(name);
    if (UPDATE || !existsSync(golden)) writeFileSync(golden, actual);
    expect(actual).toBe(readFileSync(golden, 'utf8'));
  });

  test('broken fixtures are invalid, ok-* and warning-only fixtures valid', () => {
    for (const f of fixtures) {
      const r = validateDomainXml(readFileSync(join(FIXTURES, f), 'utf8'), { host: true, kvmAvailable: false });
      const warningsOnly = r.diagnostics.length > 0 && r.diagnostics.every((d) => d.severity === 'warning');
      expect([f, r.valid]).toEqual([f, f.startsWith('ok-') || warningsOnly]);
    }
  });

  test('each diagnostic points at the offending name: line:column of the attribute or start tag', () => {
    const bus = validateDomainXml(readFileSync(join(FIXTURES, 'bad-enum.xml'), 'utf8')).diagnostics[0]!;
    expect(bus).toMatchObject({ code: 'BadValue', line: 18, column: 25, path: '/domain/devices/disk[1]/target/@bus', found: 'virtoi', suggestion: 'virtio' });
    const el = validateDomainXml(readFileSync(join(FIXTURES, 'unknown-element.xml'), 'utf8')).diagnostics[0]!;
    expect(el).toMatchObject({ code: 'UnknownElement', line: 15, column: 5, suggestion: 'disk' });
  });

  test('every code reported has documentation', () => {
    for (const f of fixtures) {
      for (const d of validateDomainXml(readFileSync(join(FIXTURES, f), 'utf8'), { host: true, kvmAvailable: false }).diagnostics) {
        expect(RULE_DOCS[d.code]?.doc).toBeTruthy();
      }
    }
  });
});

describe('library API', () => {
  test('exported from the package index', () => {
    expect(fromIndex('<domain type="qemu"><name>x</name></domain>').valid).toBe(true);
    const bad = fromIndex('<domain type="qemu"><name>x</name><memory>-1</memory></domain>');
    expect(bad.valid).toBe(false);
    expect(bad.diagnostics[0]).toMatchObject({ code: 'BadFormat', path: '/domain/memory/text()', found: '-1' });
  });

  test('rules: false checks only what the schema checks', () => {
    const text = readFileSync(join(FIXTURES, 'duplicate-disk-target.xml'), 'utf8');
    expect(validateDomainXml(text).valid).toBe(false);
    expect(validateDomainXml(text, { rules: false })).toEqual({ valid: true, diagnostics: [] });
  });

  test('kvm without /dev/kvm is only checked with host', () => {
    const text = readFileSync(join(FIXTURES, 'kvm-without-dev-kvm.xml'), 'utf8');
    expect(validateDomainXml(text, { kvmAvailable: false }).valid).toBe(true);
    expect(validateDomainXml(text, { host: true, kvmAvailable: true }).valid).toBe(true);
    expect(validateDomainXml(text, { host: true, kvmAvailable: false }).diagnostics.map((d) => d.code)).toEqual(['KvmUnavailable']);
  });

  test('memory units are compared in bytes', () => {
    const base = readFileSync(join(FIXTURES, 'ok-base.xml'), 'utf8');
    const equal = base.replace("<currentMemory unit='MiB'>1024</currentMemory>", "<currentMemory unit='KiB'>1048576</currentMemory>");
    expect(validateDomainXml(equal).diagnostics).toEqual([]);
    const above = base.replace("<currentMemory unit='MiB'>1024</currentMemory>", "<currentMemory>1048577</currentMemory>");
    expect(validateDomainXml(above).diagnostics.map((d) => d.code)).toEqual(['CurrentMemoryAboveMemory']);
  });

  test('multifunction devices share a slot, not a function', () => {
    const base = readFileSync(join(FIXTURES, 'ok-base.xml'), 'utf8');
    const multi = base.replace("slot='0x03' function='0x0'", "slot='0x04' function='0x1'");
    expect(validateDomainXml(multi).diagnostics).toEqual([]);
  });

  test('not well-formed XML is one XmlSyntax diagnostic with a position', () => {
    const r = validateDomainXml('<domain>\n  <name>x</nam>\n</domain>\n', { file: 'f.xml' });
    expect(r.valid).toBe(false);
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]).toMatchObject({ code: 'XmlSyntax', file: 'f.xml', line: 2 });
  });
});

describe('the JSON mapping', () => {
  test('attributes as @name, children as arrays in order, text as written, namespaces in Clark notation', () => {
    const root = readXml(
      "<domain type='kvm' xmlns:q='urn:q'><name>a</name><devices><disk type='file'/><disk type='block'/></devices><q:x q:y='1'/><description>\n</description></domain>",
    );
    const doc = toJson(root);
    expect(doc.instance).toEqual({
      domain: [{ '@type': 'kvm', name: [{ '#text': 'a' }], devices: [{ disk: [{ '@type': 'file' }, { '@type': 'block' }] }], '{urn:q}x': [{ '@{urn:q}y': '1' }], description: [{}] }],
    });
    const where = locate(doc, '/domain/0/devices/0/disk/1/@type');
    expect(where.path).toBe('/domain/devices/disk[2]/@type');
    expect(where.element).toBe(root.children[1]!.children[1]);
    expect(locate(doc, '/domain/0/{urn:q}x/0').path).toBe('/domain/q:x');
  });
});

describe('did you mean', () => {
  test('edit distance counts an adjacent swap as one edit', () => {
    expect(editDistance('virtio', 'virtoi')).toBe(1);
    expect(editDistance('disk', 'dsik')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });
  test('suggests close names and case slips, not far ones', () => {
    expect(didYouMean('buss', ['bus', 'dev', 'tray'])).toBe('bus');
    expect(didYouMean('UTC', ['utc', 'localtime'])).toBe('utc');
    expect(didYouMean('zzzz', ['bus', 'dev'])).toBeUndefined();
  });
});

describe('domxml validate (CLI over dist/)', () => {
  const BIN = join(ROOT, 'bin', 'domxml');
  let tmp: string;
  const run = (...args: string[]) => {
    const r = spawnSync(BIN, ['validate', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` before the tests');
    tmp = mkdtempSync(join(tmpdir(), 'domxml-validate-cli-'));
    mkdirSync(join(tmp, 'guests', 'sub'), { recursive: true });
    writeFileSync(join(tmp, 'guests', 'a.xml'), readFileSync(join(FIXTURES, 'ok-base.xml')));
    writeFileSync(join(tmp, 'guests', 'sub', 'b.xml'), readFileSync(join(FIXTURES, 'bad-enum.xml')));
    writeFileSync(join(tmp, 'guests', 'notes.txt'), 'not xml');
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test('valid file: exit 0, summary on stderr only', () => {
    const r = run(join(FIXTURES, 'ok-base.xml'));
    expect(r).toMatchObject({ code: 0, stdout: '' });
    expect(r.stderr).toContain('1 file checked, 0 invalid');
  });

  test('invalid file: FILE:LINE:COLUMN diagnostics on stdout, exit 1', () => {
    const f = join(FIXTURES, 'bad-enum.xml');
    const r = run(f);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`${f}:18:25: error BadValue: invalid value 'virtoi' for attribute 'bus' of <target>; did you mean 'virtio'? (allowed: fdc, ide, sata, scsi, sd, uml, usb, virtio, xen) [/domain/devices/disk[1]/target/@bus]\n`);
  });

  test('directories recurse into *.xml; globs expand; stdin is -', () => {
    expect(run(join(tmp, 'guests')).stderr).toContain('2 files checked, 1 invalid');
    const g = run(join(tmp, 'guests', '**', '*.xml'));
    expect(g.code).toBe(1);
    expect(g.stderr).toContain('2 files checked');
    const s = spawnSync(BIN, ['validate', '-'], { cwd: ROOT, encoding: 'utf8', input: readFileSync(join(FIXTURES, 'bad-mac.xml')) });
    expect(s.status).toBe(1);
    expect(s.stdout).toMatch(/^<stdin>:27:12: error BadFormat: /);
  });

  test('--warnings-as-errors and --quiet', () => {
    const f = join(FIXTURES, 'current-memory-above-memory.xml');
    expect(run(f).code).toBe(0);
    expect(run('--warnings-as-errors', f).code).toBe(1);
    expect(run('--quiet', f)).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  test('--format json and sarif', () => {
    const f = join(FIXTURES, 'multiple-errors.xml');
    const j = JSON.parse(run('--format', 'json', f).stdout) as Array<{ valid: boolean; diagnostics: Array<{ code: string }> }>;
    expect(j[0]!.valid).toBe(false);
    expect(j[0]!.diagnostics.map((d) => d.code)).toEqual(['UnknownAttribute', 'BadValue', 'UnknownElement']);
    const s = JSON.parse(run('--format', 'sarif', f).stdout);
    expect(s.version).toBe('2.1.0');
    const results = s.runs[0].results;
    expect(results).toHaveLength(3);
    expect(results[0]).toMatchObject({ ruleId: 'UnknownAttribute', level: 'error', locations: [{ physicalLocation: { region: { startLine: 6, startColumn: 9 } }, logicalLocations: [{ fullyQualifiedName: '/domain/vcpu/@placment' }] }] });
    expect(s.runs[0].tool.driver.rules.map((r: { id: string }) => r.id)).toEqual(['BadValue', 'UnknownAttribute', 'UnknownElement']);
  });

  test('usage and I/O errors exit 2', () => {
    expect(run(join(tmp, 'missing.xml')).code).toBe(2);
    expect(run('--format', 'yaml', join(FIXTURES, 'ok-base.xml')).code).toBe(2);
    expect(run(join(tmp, 'nothing-*.xml')).code).toBe(2);
  });
});
