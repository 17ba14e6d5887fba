// The property tests of test/fuzz/properties.mjs, on a short budget (npm run fuzz for a long run).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

test('hostile input: a result or a catalogued error, never a crash or a hang', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'fuzz.mjs')], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 110000,
    // a fixed seed and a cap on the cases: the same cases on any machine, within a short budget
    env: { DOMXML_FUZZ_SECONDS: '20', DOMXML_FUZZ_RUNS: '100', ...process.env },
  });
  expect(r.stdout).toMatch(/fuzz: seed \d+, [\d.]+ s, 0 failed\n$/);
  expect(r.status).toBe(0);
});
