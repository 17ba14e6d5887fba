// Golden cases (golden/*/): each profile's output, and its warnings, must match the expected
// files exactly, and from-native's output must be valid domain XML. DOMXML_UPDATE_GOLDEN=1 (npm run golden:update) rewrites them instead (except
// outputs of the real libvirt, listed under "oracle" in options.json); review the diff.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateDomainXml } from '../src/validate/index.js';
import { goldenCases, runProfile, warningsFile } from './support/golden.js';

const UPDATE = process.env.DOMXML_UPDATE_GOLDEN === '1';
const cases = goldenCases();

test('golden cases exist, each with at least one profile', () => {
  expect(cases.length).toBeGreaterThanOrEqual(6);
  expect(cases.filter((c) => c.profiles.length === 0).map((c) => c.name)).toEqual([]);
});

describe.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
  test.each(c.profiles.map((p) => [p]))('%s', (profile) => {
    const { output, warnings } = runProfile(c, profile);
    const outFile = join(c.dir, profile);
    const warnFile = join(c.dir, warningsFile(profile));
    // the real libvirt's output is the truth: a difference there is ours to fix, never to record
    if (UPDATE && !c.options.oracle?.includes(profile)) {
      writeFileSync(outFile, output);
      if (warnings) writeFileSync(warnFile, warnings);
      else if (existsSync(warnFile)) unlinkSync(warnFile);
      return;
    }
    expect(output).toBe(readFileSync(outFile, 'utf8'));
    expect(warnings).toBe(existsSync(warnFile) ? readFileSync(warnFile, 'utf8') : '');
  });
});

// NB: what from-native writes is for libvirt 9.0 to define: its own schema must accept it (and
// libvirt's RelaxNG, through xmllint, where both are present), and our semantic rules too
const fromNative = cases.flatMap((c) => c.profiles.filter((p) => p.startsWith('from-native')).map((p) => [`${c.name}/${p}`, join(c.dir, p)] as const));
const RNG = join(import.meta.dirname, '..', '..', 'shared', 'corpus', 'libvirt-9.0-schemas', 'domain.rng');
const xmllint = spawnSync('xmllint', ['--version']).status === 0 && existsSync(RNG);

test.each(fromNative)('%s is a valid domain', (_n, file) => {
  const v = validateDomainXml(readFileSync(file, 'utf8'), { file });
  expect(v.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}:${d.column} ${d.code}: ${d.message}`)).toEqual([]);
});

(xmllint ? test : test.skip)("every from-native golden passes libvirt 9.0's RelaxNG (xmllint)", () => {
  const r = spawnSync('xmllint', ['--noout', '--relaxng', RNG, ...fromNative.map(([, f]) => f)], { encoding: 'utf8' });
  expect(r.stderr.split('\n').filter((l) => l && !l.endsWith(' validates'))).toEqual([]);
});
