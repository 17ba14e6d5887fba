#!/usr/bin/env node
// Runs the property tests of test/fuzz/ against dist/ (build first) with a fixed seed and a time budget.
//
//   DOMXML_FUZZ_SECONDS   total budget (default 60), shared by the properties
//   DOMXML_FUZZ_SEED      fast-check seed (default 20261126)
//   DOMXML_FUZZ_RUNS      at most this many cases per property (default: no cap); with a cap the
//                         run does not depend on the machine's speed (npm test uses one)
//   DOMXML_FUZZ_HANG_MS   a single case running longer is a hang (default 10000)
// The properties run in a worker: a case that never returns is stopped and named, with its input.
// Prints the cases run and failed per property; exit 1 if any failed.
import { spawnSync } from 'node:child_process';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const SECONDS = Number(process.env.DOMXML_FUZZ_SECONDS ?? 60);
const SEED = Number(process.env.DOMXML_FUZZ_SEED ?? 20261126);
const RUNS = Number(process.env.DOMXML_FUZZ_RUNS ?? 1e9);
const HANG_MS = Number(process.env.DOMXML_FUZZ_HANG_MS ?? 10000);

if (isMainThread) {
  let failed = 0;
  const started = Date.now();
  // NB: a hang stops its worker; the next worker starts at the following property, so one hang
  // does not hide the rest of the run
  const run = (from) => {
    let last;
    let next = from;
    let beat = Date.now();
    const worker = new Worker(new URL(import.meta.url), { workerData: { seconds: SECONDS, seed: SEED, runs: RUNS, from } });
    worker.on('message', (m) => {
      beat = Date.now();
      if (m.kind === 'case') last = m;
      else if (m.kind === 'result') {
        next++;
        failed += m.failed;
        process.stdout.write(`fuzz: ${m.name}: ${m.runs} cases, ${m.failed} failed\n`);
        if (m.detail) process.stdout.write(`  ${m.detail}\n`);
      }
    });
    let hung = false;
    const watchdog = setInterval(() => {
      if (Date.now() - beat < HANG_MS) return;
      clearInterval(watchdog);
      hung = true;
      failed++;
      process.stdout.write(`fuzz: hang: ${last?.name} did not return in ${HANG_MS} ms on input ${JSON.stringify(last?.text)}\n`);
      void worker.terminate();
    }, 250);
    worker.on('error', (err) => {
      failed++;
      process.stdout.write(`fuzz: worker failed: ${err?.stack ?? err}\n`);
    });
    worker.on('exit', () => {
      clearInterval(watchdog);
      if (hung) return run(next + 1);
      process.stdout.write(`fuzz: seed ${SEED}, ${((Date.now() - started) / 1000).toFixed(1)} s, ${failed} failed\n`);
      process.exitCode = failed ? 1 : 0;
    });
  };
  run(0);
} else {
  const fc = (await import('fast-check')).default;
  const { properties, quotingCase, checkQuoting } = await import('../test/fuzz/properties.mjs');
  const announce = (name, text) => parentPort.postMessage({ kind: 'case', name, text });
  const props = properties(announce);
  const slice = (workerData.seconds * 1000) / (props.length + 1);
  for (const { name, prop } of props.slice(workerData.from)) {
    const r = fc.check(prop, { seed: workerData.seed, numRuns: workerData.runs, interruptAfterTimeLimit: slice, markInterruptAsFailure: false, endOnFailure: true });
    const detail = r.failed ? `counterexample ${JSON.stringify(r.counterexample)}: ${r.errorInstance?.stack?.split('\n').slice(0, 3).join(' | ') ?? r.error}` : undefined;
    parentPort.postMessage({ kind: 'result', name, runs: r.numRuns, failed: r.failed ? 1 : 0, ...(detail ? { detail } : {}) });
  }
  if (workerData.from <= props.length) {
    // quoting: batches of cases, one bash per batch (the last property)
    // NB: the script goes through stdin: as one -c argument it would pass Linux's 128 KiB limit
    const bash = (script) => spawnSync('bash', ['-s'], { input: Buffer.from(script, 'utf8'), maxBuffer: 1 << 26 }).stdout.toString('utf8');
    const until = Date.now() + slice;
    let runs = 0;
    const failures = [];
    for (let batch = 0; Date.now() < until && runs < workerData.runs && failures.length === 0; batch++) {
      const cases = fc.sample(quotingCase, { seed: workerData.seed + batch, numRuns: 100 });
      announce('quoting', JSON.stringify(cases));
      failures.push(...checkQuoting(cases, bash));
      runs += cases.length;
    }
    parentPort.postMessage({ kind: 'result', name: 'hostile names and paths, shell and QemuOpts quoting', runs, failed: failures.length, ...(failures.length ? { detail: failures.slice(0, 3).join('\n  ') } : {}) });
  }
}
