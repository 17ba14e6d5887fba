// Shell and QemuOpts quoting of to-native's printed line with hostile names, paths and kernel
// arguments: bash must split the line into exactly the words domxml meant (nothing expanded or
// run), and from-native must read the same values back from the printed line.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argvWords, domainFromArgvText, domainFromXml, domainToArgv, printArgvLine, printArgvPretty } from '../src/index.js';

const BASH = existsSync('/bin/bash') ? '/bin/bash' : undefined;
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'domxml-quoting-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Pieces that break naive quoting; `MARK` becomes a file path that must never be created. */
const HOSTILE: readonly (readonly [string, string])[] = [
  ['spaces', 'a  b\tc'],
  ['commas', 'x,y,,z,'],
  ['single quotes', "it's 'quoted'"],
  ['double quotes', 'say "hi" \\"there\\"'],
  ['command substitution', '$(touch MARK)'],
  ['backticks', '`touch MARK`'],
  ['variables and globs', '$HOME ${PATH} * ? [a] ~ #x'],
  ['newline', 'line1\nline2'],
  ['backslash-newline', 'end\\\nnext'],
  ['trailing backslash', 'dir\\'],
  ['operators', 'a;b|c&d>e<f(g)h!i'],
  ['non-ASCII', 'café 日本語 ☃ ß'],
  ['equals and braces', 'k=v {"j":1} [x]'],
];

const xmlText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const xmlAttr = (s: string) => xmlText(s).replace(/'/g, '&apos;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');

interface Values {
  readonly name: string;
  readonly disk: string;
  readonly kernel: string;
  readonly cmdline: string;
}

function values(piece: string): Values {
  const p = piece.replace(/MARK/g, join(tmp, 'MARK'));
  return {
    // NB: libvirt refuses '/' in names, and a newline would end up in the state directory name
    name: `vm ${p.replace(/[/\n]/g, '_')}`,
    disk: `/var/lib/images/${p}.img`,
    kernel: `/boot/${p}`,
    cmdline: `console=ttyS0 ${p}`,
  };
}

function domainXml(v: Values): string {
  return `<domain type='qemu'>
  <name>${xmlText(v.name)}</name>
  <memory unit='MiB'>64</memory>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${xmlText(v.kernel)}</kernel>
    <cmdline>${xmlText(v.cmdline)}</cmdline>
  </os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='${xmlAttr(v.disk)}'/>
      <target dev='hda' bus='ide'/>
    </disk>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}

/**
 * The words bash makes of each printed line (printf '%s\0' never interprets its arguments), in
 * one bash run for all of them: \x01 after each line's words.
 */
function bashWords(lines: readonly string[]): string[][] {
  const script = lines.map((l) => `printf '%s\\0' ${l}\nprintf '\\1'\n`).join('');
  const r = spawnSync(BASH!, ['-c', script], { encoding: 'utf8', cwd: tmp, env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent' } });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.split('\x01').slice(0, -1).map((w) => w.split('\0').slice(0, -1));
}

const optionValue = (words: readonly string[], opt: string): string | undefined => {
  const i = words.indexOf(opt);
  return i < 0 ? undefined : words[i + 1];
};

// NB: QEMU 0.12's -name cannot escape ',' (see the roundtrip test), so the legacy profile gets
// names without commas; everything else is the same in both syntaxes.
const PROFILES = [
  ['7.2', (v: Values) => v],
  ['0.12', (v: Values) => ({ ...v, name: v.name.replace(/,/g, '_') })],
] as const;

describe.each(PROFILES)('QEMU %s', (version, adapt) => {
  const compile = (piece: string) => {
    const v = adapt(values(piece));
    const { domain } = domainFromXml(domainXml(v), 'hostile.xml');
    return { v, argv: domainToArgv(domain, { qemuVersion: version, stateDir: '/run/domxml/state' }).argv };
  };
  // what bash makes of every case's line and pretty form (backslash-newline between options)
  let shell: Map<string, string[][]> | undefined;
  const shellWords = (piece: string): string[][] => {
    if (!shell) {
      const argvs = HOSTILE.map(([, p]) => compile(p).argv);
      const words = bashWords(argvs.flatMap((a) => [printArgvLine(a), printArgvPretty(a)]));
      shell = new Map(HOSTILE.map(([, p], i) => [p, [words[2 * i]!, words[2 * i + 1]!]]));
    }
    return shell.get(piece)!;
  };

  test.each(HOSTILE)('%s', (_what, piece) => {
    const { v, argv } = compile(piece);
    const line = printArgvLine(argv);
    expect(line).not.toContain('\0');
    const words = argvWords(argv);

    if (BASH) {
      expect(shellWords(piece)).toEqual([words, words]);
      expect(existsSync(join(tmp, 'MARK'))).toBe(false);
    }

    // the intended values, unmangled, in the words QEMU receives
    expect(optionValue(words, '-kernel')).toBe(v.kernel);
    expect(optionValue(words, '-append')).toBe(v.cmdline);
    const name = optionValue(words, '-name')!;
    expect(name.startsWith(version === '7.2' ? `guest=${v.name.replace(/,/g, ',,')},` : v.name)).toBe(true);
    if (version === '7.2') {
      const storage = words.map((w) => (w.startsWith('{"driver":"file"') ? (JSON.parse(w) as { filename: string }).filename : undefined)).find((f) => f);
      expect(storage).toBe(v.disk);
    } else {
      expect(optionValue(words, '-drive')).toContain(`file=${v.disk.replace(/,/g, ',,')},`);
    }

    // from-native on the printed line gives the same values back
    const back = domainFromArgvText(line, 'hostile.args').domain;
    expect({ name: back.name, kernel: back.os.kernel, cmdline: back.os.cmdline, disk: back.devices.disks[0]?.source }).toEqual({
      name: v.name,
      kernel: v.kernel,
      cmdline: v.cmdline,
      disk: { type: 'file', file: v.disk },
    });
  });
});
