// Golden cases (golden/*/): each profile's output, and its warnings, must match the expected
// files exactly. DOMXML_UPDATE_GOLDEN=1 (npm run golden:update) rewrites them instead (except
// outputs of the real libvirt, listed under "oracle" in options.json); review the diff.
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
