// Performance figures of domxml (`npm run bench`): cold start, bulk CLI, library throughput, memory, linear cost; each with its reference run alongside.
//
// Needs a build (`npm run build`). References, measured in the same run when present: `node -e 0`
// (cold start), virsh domxml-to-native (libvirt's own conversion, batched in one virsh the way
// ../shared/tools/libvirt-oracle.sh describes; set CMD to its command, else a private root is set
// up when the script is there; BENCH_VIRSH=0 skips), xmllint --relaxng (validation).
// BENCH_RUNS (default 15) cold starts per command, taken interleaved; the minimum is the figure,
// as load only ever adds time. Run it on an idle machine for numbers worth recording.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHARED = join(ROOT, '..', 'shared');
const XML_CORPUS = join(SHARED, 'corpus', 'libvirt-9.0-xml2argv');
const ARGS_CORPUS = join(SHARED, 'corpus', 'libvirt-5.4-argv2xml');
const RNG = join(SHARED, 'corpus', 'libvirt-9.0-schemas', 'domain.rng');
const BIN = join(ROOT, 'bin', 'domxml');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const work = mkdtempSync(join(tmpdir(), 'domxml-bench-'));

const rows = [];
const row = (what, figure, unit, reference, refFigure, note = '') => {
  const ratio = refFigure ? (unit.endsWith('/s') ? refFigure / figure : figure / refFigure) : undefined;
  rows.push({ what, figure, unit, reference: reference ?? '', refFigure, ratio, note });
  const ref = refFigure !== undefined ? `  vs ${reference}: ${fmt(refFigure)} ${unit}  ratio ${ratio.toFixed(2)}` : '';
  process.stdout.write(`${what}: ${fmt(figure)} ${unit}${ref}${note ? `  (${note})` : ''}\n`);
};
const fmt = (n) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return undefined;
  }
}

function checkBuild() {
  const m = (p) => (existsSync(p) ? statSync(p).mtimeMs : -1);
  const bundle = join(ROOT, 'dist', 'bundle', 'domxml.cjs');
  if (m(join(ROOT, 'dist', 'index.js')) < 0) throw new Error('not built: run `npm run build` first');
  if (m(bundle) < m(join(ROOT, 'dist', 'cli', 'main.js'))) {
    // bin/domxml would run tsc's unbundled output: measure what a user of `npm run build` gets
    process.stdout.write('(dist/bundle is older than dist/: rebundling)\n');
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'bundle.mjs')], { stdio: 'inherit' });
  }
}

/** Minimum and median wall time (ms) of each command, runs interleaved so that load hits all alike. */
function coldStarts(commands) {
  const times = commands.map(() => []);
  for (let r = 0; r < RUNS; r++) {
    commands.forEach(([cmd, args, input], i) => {
      const t = process.hrtime.bigint();
      const res = spawnSync(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'ignore'], input });
      times[i].push(Number(process.hrtime.bigint() - t) / 1e6);
      if (r === 0 && res.status !== 0 && res.status !== 1) process.stdout.write(`  (note: ${cmd} ${args.join(' ')} exited ${res.status})\n`);
    });
  }
  return times.map((t) => {
    t.sort((a, b) => a - b);
    return { min: t[0], median: t[t.length >> 1] };
  });
}

function wall(fn) {
  const t = process.hrtime.bigint();
  const out = fn();
  return [Number(process.hrtime.bigint() - t) / 1e6, out];
}

function virshBase() {
  if (process.env.BENCH_VIRSH === '0') return undefined;
  let cmd = process.env.CMD;
  const script = join(SHARED, 'tools', 'libvirt-oracle.sh');
  if (!cmd && existsSync(script) && process.getuid?.() === 0) {
    // a private root: virsh holds a lock on its root, and others may be using the default one
    cmd = sh('bash', ['-c', `ORACLE_EMBED_ROOT=/tmp/domxml-bench-oracle bash ${script} 2>/dev/null`]);
  }
  return cmd ? cmd.replace(/ domxml-to-native qemu-argv\s*$/, '') : undefined;
}

function corpus(dir, ext) {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(ext) && !f.includes('.x86_64-')).sort().map((f) => join(dir, f)) : [];
}

// --- machine ------------------------------------------------------------------------------
checkBuild();
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const machine = {
  cpu: `${cpus()[0]?.model ?? '?'} × ${cpus().length}`,
  load: loadavg().map((l) => l.toFixed(1)).join(' '),
  node: process.version,
  domxml: pkg.version,
  libvirt: sh('virsh', ['--version']) ?? 'not installed',
  qemu: sh('qemu-system-x86_64', ['-version'])?.split('\n')[0] ?? 'not installed',
  xmllint: sh('bash', ['-c', 'xmllint --version 2>&1 | head -1']) ?? 'not installed',
};
process.stdout.write(`machine: ${machine.cpu}, load ${machine.load}; node ${machine.node}; ${machine.libvirt === 'not installed' ? '' : `libvirt ${machine.libvirt}; `}${machine.qemu}\n\n`);

// --- inputs -------------------------------------------------------------------------------
const xmlFiles = corpus(XML_CORPUS, '.xml');
const argsFiles = corpus(ARGS_CORPUS, '.args');
const small = join(work, 'small.xml');
writeFileSync(
  small,
  `<domain type='qemu'>
  <name>small</name>
  <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
  <memory unit='KiB'>219136</memory>
  <vcpu placement='static'>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'><source file='/var/lib/libvirt/images/small.img'/><target dev='vda' bus='virtio'/></disk>
    <interface type='user'><mac address='52:54:00:00:00:01'/><model type='virtio'/></interface>
  </devices>
</domain>
`,
);
const smallArgs = join(work, 'small.args');
writeFileSync(smallArgs, execFileSync(BIN, ['domxml-to-native', 'qemu-argv', small], { encoding: 'utf8' }));

// --- 1. cold start -------------------------------------------------------------------------
process.stdout.write(`cold start (${RUNS} runs each, interleaved; min wall time):\n`);
const base = virshBase();
const cold = [
  ['node -e 0', [process.execPath, ['-e', '0']]],
  ['domxml to-native small.xml', [BIN, ['domxml-to-native', 'qemu-argv', small]]],
  ['domxml from-native small.args', [BIN, ['domxml-from-native', 'qemu-argv', smallArgs]]],
  ['domxml validate small.xml', [BIN, ['validate', small]]],
];
if (base) cold.push(['virsh domxml-to-native small.xml', ['bash', ['-c', `${base} domxml-to-native qemu-argv ${small}`]]]);
const haveXmllint = existsSync(RNG) && machine.xmllint !== 'not installed';
if (haveXmllint) cold.push(['xmllint --relaxng domain.rng small.xml', ['xmllint', ['--noout', '--relaxng', RNG, small]]]);
const coldTimes = coldStarts(cold.map(([, c]) => c));
const nodeMin = coldTimes[0].min;
cold.forEach(([name], i) => {
  const t = coldTimes[i];
  if (i === 0) row(`  ${name}`, t.min, 'ms', undefined, undefined, `median ${fmt(t.median)}`);
  else if (name.startsWith('virsh')) row(`  ${name}`, t.min, 'ms', 'domxml to-native', coldTimes[1].min, `median ${fmt(t.median)}; ratio = virsh / domxml`);
  else if (name.startsWith('xmllint')) row(`  ${name}`, t.min, 'ms', 'domxml validate', coldTimes[3].min, `median ${fmt(t.median)}; ratio = xmllint / domxml`);
  else row(`  ${name}`, t.min, 'ms', 'node -e 0', nodeMin, `median ${fmt(t.median)}`);
});

// --- 2. bulk CLI ---------------------------------------------------------------------------
process.stdout.write(`\nbulk, one process, all files on one command line:\n`);
function bulk(verb, files, reps) {
  const list = Array.from({ length: reps }, () => files).flat();
  const [ms, res] = wall(() => spawnSync(BIN, [verb, 'qemu-argv', '-q', ...list], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 30 }));
  const m = /(\d+) of (\d+) converted/.exec(res.stderr.toString());
  const ok = m ? Number(m[1]) : 0;
  return { ms, ok, total: list.length };
}
let virshRate;
if (base && xmlFiles.length) {
  const script = xmlFiles.map((f) => `domxml-to-native qemu-argv ${f}; echo @@END@@`).join('; ');
  const [ms, res] = wall(() => spawnSync('bash', ['-c', `${base} '${script}'`], { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 }));
  const ok = (res.stdout.toString().match(/-name guest=/g) ?? []).length;
  virshRate = (ok / ms) * 1000;
  row('  virsh domxml-to-native, 9.0 corpus', virshRate, 'domains/s', undefined, undefined, `${ok} converted of ${xmlFiles.length}, one virsh`);
}
if (xmlFiles.length) {
  const b = bulk('domxml-to-native', xmlFiles, 10);
  row('  domxml to-native, 9.0 corpus ×10', (b.ok / b.ms) * 1000, 'domains/s', virshRate ? 'virsh' : undefined, virshRate, `${b.ok} of ${b.total} converted; process start included`);
}
if (argsFiles.length) {
  const b = bulk('domxml-from-native', argsFiles, 30);
  row('  domxml from-native, 5.4 corpus ×30', (b.ok / b.ms) * 1000, 'domains/s', undefined, undefined, `${b.ok} of ${b.total} converted; process start included (virsh has no from-native since 5.5)`);
}

// validation of the whole shared corpus: one domxml process against xmllint run file by file
const allXml = [...xmlFiles, ...argsFiles.map((f) => f.replace(/\.args$/, '.xml')).filter((f) => existsSync(f))];
if (allXml.length) {
  const [vms, vres] = wall(() => spawnSync(BIN, ['validate', '-q', ...allXml], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 30 }));
  let xms;
  if (haveXmllint) {
    [xms] = wall(() => { for (const f of allXml) spawnSync('xmllint', ['--noout', '--relaxng', RNG, f], { stdio: 'ignore' }); });
    row(`  xmllint --relaxng, ${allXml.length} corpus files one by one`, xms, 'ms', undefined, undefined, 'one xmllint process per file');
  }
  row(`  domxml validate, ${allXml.length} corpus files, one process`, vms, 'ms', xms !== undefined ? 'xmllint' : undefined, xms, `exit ${vres.status}`);
}

// --- 3-4. library, memory, linear cost (a child with --expose-gc) ---------------------------
const libScript = join(work, 'lib.mjs');
writeFileSync(
  libScript,
  `import { readFileSync } from 'node:fs';
const lib = await import(${JSON.stringify(join(ROOT, 'dist', 'index.js'))});
const [xmlFiles, argsFiles, small] = JSON.parse(process.argv[2]);
const V = [7, 2, 0];
const toNative = (text) => lib.printArgvLine(lib.domainToArgv(lib.domainFromXml(text, 'x').domain, { qemuVersion: V }).argv);
const fromNative = (text) => lib.domainToXml(lib.domainFromArgvText(text, 'x').domain);
const usable = (texts, fn) => texts.filter((t) => { try { fn(t); return true; } catch { return false; } });
function rate(texts, fn, seconds = 2) {
  for (let i = 0; i < 200; i++) fn(texts[i % texts.length]);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) for (let k = 0; k < 50; k++) fn(texts[n++ % texts.length]);
  return (n / (performance.now() - t0)) * 1000;
}
const out = {};
const smallXml = readFileSync(small, 'utf8');
const smallArgv = toNative(smallXml);
const xmls = usable(xmlFiles.map((f) => readFileSync(f, 'utf8')), toNative);
const argvs = usable(argsFiles.map((f) => readFileSync(f, 'utf8')), fromNative);
out.smallTo = rate([smallXml], toNative);
out.smallFrom = rate([smallArgv], fromNative);
out.corpusTo = rate(xmls, toNative);
out.corpusFrom = rate(argvs, fromNative);
out.corpusN = [xmls.length, argvs.length];
// memory: heap after a warm-up vs after 100,000 more conversions, both after a full GC
const heap = () => { globalThis.gc(); globalThis.gc(); return process.memoryUsage().heapUsed; };
for (let i = 0; i < 2000; i++) { toNative(smallXml); fromNative(smallArgv); }
const h0 = heap();
for (let i = 0; i < 50000; i++) { toNative(smallXml); fromNative(smallArgv); }
out.heap = [h0, heap()];
// linear cost: N SCSI disks on one virtio-scsi controller
const disks = (n) => {
  const letters = (i) => { let s = ''; i++; while (i > 0) { i--; s = String.fromCharCode(97 + (i % 26)) + s; i = Math.floor(i / 26); } return s; };
  const d = Array.from({ length: n }, (_, i) => \`<disk type='file' device='disk'><source file='/var/lib/img/d\${i}.img'/><target dev='sd\${letters(i)}' bus='scsi'/></disk>\`).join('');
  return smallXml.replace(/<disk.*<\\/disk>/, "<controller type='scsi' index='0' model='virtio-scsi'/>" + d);
};
const per = (n, fn, input) => { const reps = Math.max(3, Math.round(2000 / n)); fn(input); const t = performance.now(); for (let i = 0; i < reps; i++) fn(input); return (performance.now() - t) / reps; };
const x10 = disks(10), x1000 = disks(1000);
out.linTo = [per(10, toNative, x10), per(1000, toNative, x1000)];
const a10 = toNative(x10), a1000 = toNative(x1000);
out.linFrom = [per(10, fromNative, a10), per(1000, fromNative, a1000)];
process.stdout.write(JSON.stringify(out));
`,
);
process.stdout.write(`\nlibrary, in-process, one core (dist/index.js):\n`);
const lib = JSON.parse(execFileSync(process.execPath, ['--expose-gc', libScript, JSON.stringify([xmlFiles, argsFiles, small])], { encoding: 'utf8', maxBuffer: 1 << 26 }));
row('  to-native, small domain', lib.smallTo, 'domains/s');
row('  from-native, small domain', lib.smallFrom, 'domains/s');
row('  to-native, 9.0 corpus mix', lib.corpusTo, 'domains/s', virshRate ? 'virsh (batched)' : undefined, virshRate, `${lib.corpusN[0]} domains`);
row('  from-native, 5.4 corpus mix', lib.corpusFrom, 'domains/s', undefined, undefined, `${lib.corpusN[1]} command lines`);
row('  heap growth over 100,000 conversions', (lib.heap[1] - lib.heap[0]) / 1024, 'KiB', undefined, undefined, `${fmt(lib.heap[0] / 1048576)} MiB after warm-up, ${fmt(lib.heap[1] / 1048576)} MiB after`);
const lin = (name, [t10, t1000]) => row(`  ${name}, 1,000 vs 10 disks`, t1000 / t10 / 100, '× linear', undefined, undefined, `${fmt(t10)} ms for 10, ${fmt(t1000)} ms for 1,000; 1.0 = linear`);
lin('to-native', lib.linTo);
lin('from-native', lib.linFrom);

// --- table for docs/performance.md -----------------------------------------------------------
process.stdout.write(`\n| figure | domxml | reference | ratio | note |\n| --- | ---: | --- | ---: | --- |\n`);
for (const r of rows) {
  const ref = r.refFigure !== undefined ? `${r.reference}: ${fmt(r.refFigure)} ${r.unit}` : '';
  process.stdout.write(`| ${r.what.trim()} | ${fmt(r.figure)} ${r.unit} | ${ref} | ${r.ratio !== undefined ? r.ratio.toFixed(2) : ''} | ${r.note} |\n`);
}
process.stdout.write(`\n${machine.cpu}, load average ${machine.load}; node ${machine.node}; libvirt ${machine.libvirt}; ${machine.qemu}; ${machine.xmllint}\n`);
rmSync(work, { recursive: true, force: true });
