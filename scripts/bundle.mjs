// Bundles the CLI (src/cli/main.ts and everything it reaches, npm dependencies included) into dist/bundle/ with esbuild.
//
// Why: Node resolves and compiles every module file separately; the unbundled CLI loads a few
// hundred of them (chevrotain alone costs more than `node -e 0`). One bundled entry plus one chunk
// per verb family keeps a cold `domxml to-native` near a bare `node` start: code splitting turns
// main.ts's dynamic imports into chunks, so to-native never parses chevrotain and validate never
// parses the emitters.
//
// NB: the output sits two levels below the repository root (dist/bundle/), like dist/validate/*.js,
// so `new URL('../../schemas/', import.meta.url)` in src/validate/schema-check.ts still finds schemas/.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  // NB: the batch worker is its own entry, so main.ts can start it by URL next to domxml.mjs
  entryPoints: { domxml: 'src/cli/main.ts', 'batch-worker': 'src/cli/batch-worker.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunk-[hash]',
  // minifying whitespace and syntax only: identifiers stay readable in stack traces
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});

if (process.argv.includes('--analyze')) {
  const { analyzeMetafile } = await import('esbuild');
  process.stdout.write(await analyzeMetafile(result.metafile));
}
