// Bundles the CLI (src/cli/main.ts and everything it reaches, npm dependencies included) into
// dist/bundle/ with esbuild, then records a V8 code cache for it.
//
// Why: Node resolves and compiles every module file separately; the unbundled CLI loads a few
// hundred of them (chevrotain alone costs more than `node -e 0`). What a cold `domxml to-native`
// pays above a bare `node` start is, in order: compiling the code, reading it, and Node's ESM
// loader. So:
// - one CommonJS file (dist/bundle/domxml.cjs), which bin/domxml (itself CommonJS) compiles with
//   `vm.Script` and a code cache, dist/bundle/domxml.cjs.cache: V8 then deserializes the compiled
//   code instead of compiling it (Node 20 has no code cache for ES modules);
// - chevrotain and yargs in files of their own (vendor-*.cjs), required on first use: to-native
//   never reads the argv parser's dependency, and a plain conversion never reads yargs;
// - the verbs' own modules are reached by dynamic import(), which esbuild turns into lazily run
//   module initialisers.
// The cache is written by running the bundled CLI on the bundled example in both directions
// (DOMXML_CODE_CACHE=write, see bin/domxml), so it holds exactly what a conversion compiles. V8
// rejects a cache made by another Node or V8 version; bin/domxml then compiles as usual.
//
// NB: the output sits two levels below the repository root (dist/bundle/), like dist/validate/*.js,
// so `new URL('../../schemas/', import.meta.url)` in src/validate/schema-check.ts still finds schemas/.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;
const VENDOR = ['chevrotain', 'yargs'];

const common = {
  absWorkingDir: root,
  outdir,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.cjs' },
  // NB: import() becomes a lazy require(): the bundle runs inside vm.Script, which has no ES
  // module loader to hand a real dynamic import to
  supported: { 'dynamic-import': false },
  // NB: import.meta does not exist in CommonJS: the file's own URL stands in for it
  define: { 'import.meta.url': '__domxml_module_url' },
  banner: { js: 'var __domxml_module_url=require("node:url").pathToFileURL(__filename).href;' },
  // minifying whitespace and syntax only: identifiers stay readable in stack traces
  minifyWhitespace: true,
  minifySyntax: true,
  // NB: non-ASCII characters are escaped, so bin/domxml can read the bundle as latin1 (faster than UTF-8)
  charset: 'ascii',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
};

const vendorExternal = {
  name: 'vendor-external',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(${VENDOR.join('|')})$`) }, (args) => ({ path: `./vendor-${args.path}.cjs`, external: true }));
  },
};

rmSync(outdir, { recursive: true, force: true });
const results = await Promise.all([
  // NB: the batch worker is its own entry, so main.ts can start it by URL next to domxml.cjs
  build({ ...common, entryPoints: { domxml: 'src/cli/main.ts', 'batch-worker': 'src/cli/batch-worker.ts' }, plugins: [vendorExternal] }),
  // NB: a vendor file's module.exports is what an `import` of it gets as its default export (Node's
  // rule for CommonJS), so yargs' file exports its default, the yargs() function, as a whole
  ...VENDOR.map((name) =>
    build({
      ...common,
      stdin: { contents: `const m = require('${name}'); module.exports = typeof m.default === 'function' ? m.default : m;`, resolveDir: root, sourcefile: `vendor-${name}.js` },
      outfile: `${outdir}/vendor-${name}.cjs`,
      outdir: undefined,
    }),
  ),
]);

for (const file of ['domxml.cjs', 'batch-worker.cjs', ...VENDOR.map((n) => `vendor-${n}.cjs`)]) {
  if (/[^\x00-\x7f]/.test(readFileSync(`${outdir}/${file}`, 'latin1'))) throw new Error(`${file}: non-ASCII output`);
}

// The code caches: each run loads the previous cache and adds what it compiled.
const example = `${root}examples/QEMUGuest1`;
for (const args of [
  ['domxml-to-native', 'qemu-argv', `${example}.xml`],
  ['domxml-from-native', 'qemu-argv', `${example}.args`],
  ['validate', '-q', `${example}.xml`],
]) {
  execFileSync(process.execPath, [`${root}bin/domxml`, ...args], { env: { ...process.env, DOMXML_CODE_CACHE: 'write' }, stdio: 'ignore' });
}

if (process.argv.includes('--analyze')) {
  const { analyzeMetafile } = await import('esbuild');
  for (const r of results) process.stdout.write(await analyzeMetafile(r.metafile));
}
