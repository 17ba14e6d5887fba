// The CLI as a user runs it: ./bin/domxml over the built dist/ (npm run build first).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { domainFromXml, domainToArgv, printArgvLine } from '../src/index.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'domxml');
const GUEST = join(ROOT, 'examples', 'QEMUGuest1.xml');
let tmp: string;

function domxml(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(BIN, args, { cwd: ROOT, encoding: 'utf8', timeout: 60000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` before the tests');
  tmp = mkdtempSync(join(tmpdir(), 'domxml-cli-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const STATE = ['--qemu-version', '0.12', '--state-dir', '/run/d'];
/** What the library gives for the example with STATE: the CLI must print exactly this. */
function libraryLine(): string {
  const { domain } = domainFromXml(readFileSync(GUEST, 'utf8'), GUEST);
  // the CLI runs in this process's environment (host audio settings come from it)
  return printArgvLine(domainToArgv(domain, { qemuVersion: '0.12', stateDir: '/run/d', hostEnv: process.env }).argv) + '\n';
}

describe('domxml-to-native', () => {
  test('one file: stdout is exactly the command line, nothing on stderr, exit 0', () => {
    const r = domxml('domxml-to-native', 'qemu-argv', ...STATE, GUEST);
    expect(r).toEqual({ code: 0, stdout: libraryLine(), stderr: '' });
    expect(r.stdout).toMatch(/^LC_ALL=C PATH=\S+ HOME=\/run\/d .*\/usr\/bin\/qemu-system-x86_64 -S -M pc -no-kqemu -m 214 -smp 1 -name QEMUGuest1 /);
    expect(r.stdout).toContain(' -drive file=/dev/HostVG/QEMUGuest1,if=ide,index=0 ');
  });

  test('the short verb and --pretty (one option per line)', () => {
    const r = domxml('to-native', 'qemu-argv', ...STATE, '--pretty', GUEST);
    expect(r.code).toBe(0);
    expect(r.stdout.split(' \\\n').slice(0, 3)).toEqual(['LC_ALL=C', expect.stringMatching(/^PATH=/), 'HOME=/run/d']);
    expect(r.stdout).toContain(' \\\n-M pc \\\n');
    expect(r.stdout.replace(/ \\\n/g, ' ')).toBe(libraryLine());
  });

  test('-o FILE writes the file and prints nothing', () => {
    const out = join(tmp, 'out.args');
    const r = domxml('domxml-to-native', 'qemu-argv', ...STATE, '-o', out, GUEST);
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(readFileSync(out, 'utf8')).toBe(libraryLine());
  });

  test('bad XML: FILE:LINE:COL error on stderr, exit 1, no stack trace, no output', () => {
    const bad = join(tmp, 'bad.xml');
    writeFileSync(bad, "<domain type='qemu'>\n  <name>x</name>\n  <memory>1024</memory>\n</domian>\n");
    const r = domxml('domxml-to-native', 'qemu-argv', bad);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^domxml: error: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `));
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  test('a domain XML error names the place', () => {
    const bad = join(tmp, 'type.xml');
    writeFileSync(bad, "<domain type='xen'>\n  <name>x</name>\n  <memory>1024</memory>\n</domain>\n");
    const r = domxml('domxml-to-native', 'qemu-argv', bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^domxml: error: .*type\\.xml:1:\\d+: .*xen`));
  });

  test('a missing file: exit 1 with the reason', () => {
    const r = domxml('domxml-to-native', 'qemu-argv', join(tmp, 'nope.xml'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^domxml: error: .*nope\.xml.*ENOENT/);
  });

  test('a wrong format word is a usage error: exit 2', () => {
    const r = domxml('domxml-to-native', 'xen-xm', GUEST);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^domxml: error: .*xen-xm/);
  });

  test('an unknown verb or option is a usage error: exit 2', () => {
    expect(domxml('domxml-frobnicate', 'qemu-argv', GUEST).code).toBe(2);
    expect(domxml('domxml-to-native', 'qemu-argv', '--no-such-option', GUEST).code).toBe(2);
  });

  test('several files: each converted, a bad one reported, exit 1', () => {
    const bad = join(tmp, 'bad2.xml');
    writeFileSync(bad, '<domain');
    const r = domxml('domxml-to-native', 'qemu-argv', ...STATE, GUEST, bad);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`# ${GUEST}\n${libraryLine()}`);
    expect(r.stderr).toContain('1 of 2 converted, 1 failed');
  });
});

describe('domxml-from-native', () => {
  test('the legacy example: XML on stdout, exit 0', () => {
    const r = domxml('domxml-from-native', 'qemu-argv', join(ROOT, 'examples', 'QEMUGuest1.args'));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^<domain type='qemu'>\n/);
    expect(r.stdout).toContain("<source dev='/dev/HostVG/QEMUGuest1'/>");
  });

  test('an unknown option: a warning naming it, and kept in <qemu:commandline>', () => {
    const f = join(tmp, 'unknown.args');
    writeFileSync(f, '/usr/bin/qemu-system-x86_64 -m 256 -frobnicate level=3 -S\n');
    const r = domxml('domxml-from-native', 'qemu-argv', f);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`domxml: warning: ${f}:1:36: unknown option -frobnicate: kept verbatim in <qemu:commandline>\n`);
    expect(r.stdout).toContain("<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>");
    expect(r.stdout).toContain("  <qemu:commandline>\n    <qemu:arg value='-frobnicate'/>\n    <qemu:arg value='level=3'/>\n  </qemu:commandline>\n");
  });

  test('--quiet silences warnings; --strict turns them into errors', () => {
    const f = join(tmp, 'unknown2.args');
    writeFileSync(f, '/usr/bin/qemu-system-x86_64 -frobnicate\n');
    expect(domxml('domxml-from-native', 'qemu-argv', '-q', f)).toMatchObject({ code: 0, stderr: '' });
    const strict = domxml('domxml-from-native', 'qemu-argv', '--strict', f);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toBe('');
    expect(strict.stderr).toMatch(/^domxml: error: .*:1:29: unknown option -frobnicate/);
  });

  test('a lexer error: FILE:LINE:COL, exit 1', () => {
    const f = join(tmp, 'quote.args');
    writeFileSync(f, "qemu \\\n  -name 'x\n");
    const r = domxml('domxml-from-native', 'qemu-argv', f);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`domxml: error: ${f}:2:9: unterminated single quote\n`);
  });

  test('no input at all is a usage error: exit 2', () => {
    expect(domxml('domxml-from-native', 'qemu-argv').code).toBe(2);
  });
});

// Batches of PARALLEL_MIN_FILES (256) inputs and more are shared among worker threads: the result
// must be what one thread gives, file for file and in input order.
describe('large batches', () => {
  test('worker threads give the one-thread output, in order, with each bad file reported', () => {
    const dir = join(tmp, 'batch');
    spawnSync('mkdir', ['-p', dir]);
    const good = readFileSync(GUEST, 'utf8');
    const files: string[] = [];
    for (let i = 0; i < 300; i++) {
      const f = join(dir, `g${String(i).padStart(3, '0')}.xml`);
      // every 7th input is broken; the others differ by name, so order mistakes would show
      writeFileSync(f, i % 7 === 3 ? '<domain type="qemu"><name>' : good.replace(/<name>[^<]*</, `<name>guest${i}<`));
      files.push(f);
    }
    const many = domxml('to-native', 'qemu-argv', '-q', ...STATE, ...files);
    const few = [0, 1, 2].map((k) => domxml('to-native', 'qemu-argv', '-q', ...STATE, ...files.filter((_, i) => i % 3 === k)));
    expect(many.code).toBe(1);
    const failed = files.filter((_, i) => i % 7 === 3).length;
    expect(many.stderr).toMatch(new RegExp(`domxml: ${300 - failed} of 300 converted, ${failed} failed\\n$`));
    expect(many.stderr.match(/g\d{3}\.xml:1:\d+: XML syntax error/g)).toHaveLength(failed);
    // the same sections as the three smaller (single-thread) runs, interleaved back into input order
    const sections = (out: string) => out.split(/^(?=# )/m).filter(Boolean);
    const byName = new Map([...few.flatMap((r) => sections(r.stdout))].map((s) => [s.split('\n', 1)[0], s]));
    expect(sections(many.stdout)).toEqual(files.filter((_, i) => i % 7 !== 3).map((f) => byName.get(`# ${f}`)));
    expect(many.stdout).toMatch(/-name guest299 /);
  });
});

// bin/domxml compiles the bundle with the V8 code caches scripts/bundle.mjs recorded: an
// optimisation only. A copy of the CLI with its caches missing, garbage or intact must print the
// same in every verb that uses one (to-native, from-native's chevrotain, validate's validator).
describe('code cache', () => {
  const bundled = existsSync(join(ROOT, 'dist', 'bundle', 'domxml.cjs.cache'));
  (bundled ? test : test.skip)('missing, corrupt or intact caches give the same output', () => {
    const copy = join(tmp, 'copy');
    spawnSync('mkdir', ['-p', join(copy, 'dist')]);
    spawnSync('cp', ['-r', join(ROOT, 'bin'), join(ROOT, 'schemas'), copy]);
    spawnSync('cp', ['-r', join(ROOT, 'dist', 'bundle'), join(copy, 'dist')]);
    // the generated validator requires ajv's runtime helpers
    spawnSync('ln', ['-s', join(ROOT, 'node_modules'), join(copy, 'node_modules')]);
    const caches = readdirSync(join(copy, 'dist', 'bundle')).filter((f) => f.endsWith('.cache'));
    expect(caches.sort()).toEqual(['domain.validate.cjs.cache', 'domxml.cjs.cache', 'vendor-chevrotain.cjs.cache']);
    const runs = () =>
      [
        ['to-native', 'qemu-argv', ...STATE, GUEST],
        ['from-native', 'qemu-argv', join(ROOT, 'examples', 'legacy-winxp.sh')],
        ['validate', '--format', 'json', GUEST, join(ROOT, 'golden', 'cdrom-and-disk', 'input.xml')],
      ].map((args) => {
        const r = spawnSync(join(copy, 'bin', 'domxml'), args, { cwd: ROOT, encoding: 'utf8' });
        return { code: r.status, stdout: r.stdout, stderr: r.stderr };
      });
    const intact = runs();
    expect(intact.map((r) => r.code)).toEqual([0, 0, 0]);
    expect(intact[0]!.stdout).toBe(libraryLine());
    for (const f of caches) writeFileSync(join(copy, 'dist', 'bundle', f), 'not a V8 code cache');
    expect(runs()).toEqual(intact);
    for (const f of caches) rmSync(join(copy, 'dist', 'bundle', f));
    expect(runs()).toEqual(intact);
  });
});
