// The reference corpus in ../shared (absent in a plain clone): case discovery as score.py does it,
// and the batch comparison through ../shared/tools (test/support/corpus_compare.py).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const SHARED = join(import.meta.dirname, '..', '..', '..', 'shared');
export const CORPUS = join(SHARED, 'corpus');
const TOOLS = join(SHARED, 'tools');
const COMPARE = join(import.meta.dirname, 'corpus_compare.py');

export const corpusPresent = (): boolean => existsSync(CORPUS) && existsSync(join(TOOLS, 'argvcmp.py'));

export interface CorpusCase {
  readonly name: string;
  readonly input: string;
  readonly expected: string;
}

/** NAME.xml with its NAME.*args (to-native), or NAME.args with NAME.xml (from-native). */
export function corpusCases(dir: string, mode: 'to-native' | 'from-native'): CorpusCase[] {
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir).sort();
  const have = new Set(files);
  const out: CorpusCase[] = [];
  for (const f of files) {
    if (mode === 'to-native' && f.endsWith('.xml')) {
      const name = f.slice(0, -4);
      const args = files.filter((a) => a.endsWith('args') && a.split('.')[0] === name && a !== f);
      if (args.length) out.push({ name, input: join(dir, f), expected: join(dir, args[0]!) });
    } else if (mode === 'from-native' && f.endsWith('.args') && have.has(f.slice(0, -5) + '.xml')) {
      out.push({ name: f.slice(0, -5), input: join(dir, f), expected: join(dir, f.slice(0, -5) + '.xml') });
    }
  }
  return out;
}

/** The libvirt test harness's qemu.conf for each case (harness_conf.py), in one python3 run. */
export function harnessConfs(dir: string, names: readonly string[]): Record<string, string> {
  const out = execFileSync('python3', [COMPARE, TOOLS, 'conf', dir, ...names], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return JSON.parse(out) as Record<string, string>;
}

export interface CompareJob {
  readonly name: string;
  readonly mode: 'argv' | 'xml';
  readonly expected: string;
  readonly actual: string;
}

export interface CompareResult {
  readonly name: string;
  readonly exact: boolean;
  readonly f1: number;
}

/** argvcmp / xmlcmp over all jobs, in one python3 run. */
export function compareAll(jobs: readonly CompareJob[]): CompareResult[] {
  const out = execFileSync('python3', [COMPARE, TOOLS, 'compare'], {
    input: JSON.stringify(jobs),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  return JSON.parse(out) as CompareResult[];
}
