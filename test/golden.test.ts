// Golden cases (golden/*/): each profile's output, and its warnings, must match the expected
// files exactly. DOMXML_UPDATE_GOLDEN=1 (npm run golden:update) rewrites them instead; review the diff.
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { goldenCases, runProfile, warningsFile } from './support/golden.js';

const UPDATE = process.env.DOMXML_UPDATE_GOLDEN === '1';
const cases = goldenCases();

test('golden cases exist, each with at least one profile', () => {
  expect(cases.length).toBeGreaterThanOrEqual(6);
  for (const c of cases) expect({ case: c.name, profiles: c.profiles.length > 0 }).toEqual({ case: c.name, profiles: true });
});

describe.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
  test.each(c.profiles.map((p) => [p]))('%s', (profile) => {
    const { output, warnings } = runProfile(c, profile);
    const outFile = join(c.dir, profile);
    const warnFile = join(c.dir, warningsFile(profile));
    if (UPDATE) {
      writeFileSync(outFile, output);
      if (warnings) writeFileSync(warnFile, warnings);
      else if (existsSync(warnFile)) unlinkSync(warnFile);
      return;
    }
    expect(output).toBe(readFileSync(outFile, 'utf8'));
    expect(warnings).toBe(existsSync(warnFile) ? readFileSync(warnFile, 'utf8') : '');
  });
});
