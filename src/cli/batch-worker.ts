// A batch worker: converts its share of a many-file to-native/from-native run and posts each
// file's result back, in order. Started by main.ts's runBatch when a batch is large enough.
import { parentPort, workerData } from 'node:worker_threads';
import { converterFor, convertFile, type FileResult, type Job } from './convert.js';

interface WorkerInput {
  readonly job: Job;
  readonly files: readonly string[];
}

const { job, files } = workerData as WorkerInput;
// NB: no top-level await: the bundle is CommonJS (scripts/bundle.mjs)
converterFor(job).then(
  (convert) => {
    const results: FileResult[] = [];
    for (const file of files) results.push(convertFile(convert, file, file));
    parentPort!.postMessage(results);
  },
  (err: unknown) => {
    // the job itself could not be set up (its qemu.conf, say): every file of the share fails alike
    const r = convertFile(() => {
      throw err;
    }, '', '', () => '');
    parentPort!.postMessage(files.map(() => r));
  },
);
