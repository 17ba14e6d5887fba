// The command-line parser: env prefix, emulator, options classified by the option table, values
// read per argument kind (keyval with implied key and ',,', JSON), errors with locations.
import { parseCommandLine, readValue } from '../src/lexer/argv-parser.js';
import { lookupOption } from '../src/qemu/options.js';
import { diagnosticOf } from './support/errors.js';

const opts = (text: string) => parseCommandLine(text).options.map((o) => [o.name, o.value]);

describe('parseCommandLine: structure', () => {
  test('env prefix, then the emulator, then options', () => {
    const cmd = parseCommandLine('LC_ALL=C PATH=/bin X=a=b /usr/bin/qemu -S');
    expect(cmd.env.map((e) => [e.name, e.value])).toEqual([
      ['LC_ALL', 'C'],
      ['PATH', '/bin'],
      ['X', 'a=b'],
    ]);
    expect(cmd.emulator).toBe('/usr/bin/qemu');
    expect(cmd.emulatorSpan).toMatchObject({ line: 1, column: 26 });
    expect(cmd.options.map((o) => o.name)).toEqual(['-S']);
  });

  test('an assignment after the emulator is an argument, not env', () => {
    const cmd = parseCommandLine('qemu -S A=1');
    expect(cmd.env).toEqual([]);
    expect(cmd.options.map((o) => [o.name, o.value])).toEqual([
      ['-S', { kind: 'none' }],
      ['', { kind: 'raw', text: 'A=1' }],
    ]);
  });

  test('flags take no value; valued options take the next word', () => {
    expect(opts('qemu -S -no-acpi -m 512 -uuid c7a5fdbd-edaf-9455-926a-d65c16db1809 -nographic')).toEqual([
      ['-S', { kind: 'none' }],
      ['-no-acpi', { kind: 'none' }],
      ['-m', { kind: 'props', form: 'keyval', props: { size: '512' }, implied: 'size' }],
      ['-uuid', { kind: 'raw', text: 'c7a5fdbd-edaf-9455-926a-d65c16db1809' }],
      ['-nographic', { kind: 'none' }],
    ]);
  });

  test('the option table decides flag vs valued', () => {
    expect(lookupOption('-S')?.arg).toBe('none');
    expect(lookupOption('-append')?.arg).toBe('value');
    expect(lookupOption('-machine')?.arg).toBe('keyval');
    expect(lookupOption('-device')?.arg).toBe('json');
    expect(lookupOption('-no-such-option')).toBeUndefined();
  });

  test('--opt is the same option as -opt, keeping the written spelling', () => {
    const [o] = parseCommandLine('qemu --machine pc').options;
    expect(o).toMatchObject({ name: '-machine', written: '--machine', value: { props: { type: 'pc' } } });
  });

  test('a value that looks like an option is still the value of a valued option', () => {
    expect(opts("qemu -append '-x -S' -append -x -name -S")).toEqual([
      ['-append', { kind: 'raw', text: '-x -S' }],
      ['-append', { kind: 'raw', text: '-x' }],
      ['-name', { kind: 'props', form: 'keyval', props: { guest: '-S' }, implied: 'guest' }],
    ]);
  });

  test('unknown options: a following plain word is their value, a following option is not', () => {
    const cmd = parseCommandLine('qemu -frobnicate 3 -wibble -S -zap');
    expect(cmd.options.map((o) => [o.name, o.value, o.spec])).toEqual([
      ['-frobnicate', { kind: 'raw', text: '3' }, undefined],
      ['-wibble', { kind: 'none' }, undefined],
      ['-S', { kind: 'none' }, lookupOption('-S')],
      ['-zap', { kind: 'none' }, undefined],
    ]);
    expect(cmd.options[0]!.rawValue).toBe('3');
  });

  test('a bare word where an option is expected is a positional argument', () => {
    expect(opts('qemu disk.img -S')).toEqual([
      ['', { kind: 'raw', text: 'disk.img' }],
      ['-S', { kind: 'none' }],
    ]);
  });

  test('option and value spans', () => {
    const [o] = parseCommandLine('qemu \\\n  -m 512', 'g.args').options;
    expect(o!.span).toMatchObject({ file: 'g.args', line: 2, column: 3 });
    expect(o!.valueSpan).toMatchObject({ file: 'g.args', line: 2, column: 6 });
  });

  test("libvirt's unquoted CEPH_ARGS=-m HOSTS is one env variable, in the env prefix only", () => {
    const cmd = parseCommandLine('LC_ALL=C CEPH_ARGS=-m mon1:6789,mon2:6789 qemu -append CEPH_ARGS=-m -S');
    expect(cmd.env.map((e) => [e.name, e.value])).toEqual([
      ['LC_ALL', 'C'],
      ['CEPH_ARGS', '-m mon1:6789,mon2:6789'],
    ]);
    expect(cmd.emulator).toBe('qemu');
    expect(cmd.options.map((o) => [o.name, o.value])).toEqual([
      ['-append', { kind: 'raw', text: 'CEPH_ARGS=-m' }],
      ['-S', { kind: 'none' }],
    ]);
  });

  test('NUL-separated input parses the same way', () => {
    const cmd = parseCommandLine('HOME=/h\0qemu\0-append\0a b\0-S\0');
    expect(cmd.env.map((e) => e.name)).toEqual(['HOME']);
    expect(cmd.options.map((o) => [o.name, o.value])).toEqual([
      ['-append', { kind: 'raw', text: 'a b' }],
      ['-S', { kind: 'none' }],
    ]);
  });
});

describe('parseCommandLine: errors', () => {
  test('a valued option at the end: MissingOptionValue at the option', () => {
    const d = diagnosticOf(() => parseCommandLine('qemu -S \\\n  -m', 'x.args'));
    expect(d.code).toBe('MissingOptionValue');
    expect(d.message).toBe('option -m needs a value');
    expect(d.span).toMatchObject({ file: 'x.args', line: 2, column: 3 });
  });

  test('no emulator: EmptyCommandLine', () => {
    expect(diagnosticOf(() => parseCommandLine('')).code).toBe('EmptyCommandLine');
    expect(diagnosticOf(() => parseCommandLine('A=1 B=2')).code).toBe('EmptyCommandLine');
  });

  test('lexer errors come through with their location', () => {
    const d = diagnosticOf(() => parseCommandLine("qemu -name 'x", 'q.args'));
    expect(d.code).toBe('UnterminatedQuote');
    expect(d.span).toMatchObject({ file: 'q.args', line: 1, column: 12 });
  });
});

describe('option values', () => {
  test('keyval: the implied key takes a leading bare word', () => {
    expect(opts('qemu -machine pc,usb=off -device virtio-net-pci,id=n0')).toEqual([
      ['-machine', { kind: 'props', form: 'keyval', props: { type: 'pc', usb: 'off' }, implied: 'type' }],
      ['-device', { kind: 'props', form: 'keyval', props: { driver: 'virtio-net-pci', id: 'n0' }, implied: 'driver' }],
    ]);
  });

  test('keyval: the implied key may also be spelled out', () => {
    expect(opts('qemu -name guest=a,debug-threads=on')).toEqual([
      ['-name', { kind: 'props', form: 'keyval', props: { guest: 'a', 'debug-threads': 'on' }, implied: 'guest' }],
    ]);
  });

  test("keyval: ',,' is a literal comma, in the implied value and in other values", () => {
    const [o] = parseCommandLine('qemu -drive file=/a,,b.img,if=none,serial=x,,y').options;
    expect(o!.value).toEqual({ kind: 'props', form: 'keyval', props: { file: '/a,b.img', if: 'none', serial: 'x,y' }, implied: 'file' });
    const [p] = parseCommandLine('qemu -device a,,b,id=c').options;
    expect(p!.value).toMatchObject({ props: { driver: 'a,b', id: 'c' } });
  });

  test('keyval: bare words after the first are booleans, "no" prefix meaning off', () => {
    const [o] = parseCommandLine('qemu -chardev socket,id=c,path=/s,server,nowait').options;
    expect(o!.value).toMatchObject({ props: { backend: 'socket', id: 'c', path: '/s', server: 'on', wait: 'off' } });
  });

  test('JSON values become typed props', () => {
    const [o] = parseCommandLine(`qemu -device '{"driver":"virtio-blk-pci","bootindex":1,"share-rw":false,"x":{"y":[1,"z"]}}'`).options;
    expect(o!.value).toEqual({
      kind: 'props',
      form: 'json',
      props: { driver: 'virtio-blk-pci', bootindex: 1, 'share-rw': false, x: { y: [1, 'z'] } },
    });
  });

  test('JSON only for options that accept it: a keyval option keeps braces as text', () => {
    const [o] = parseCommandLine(`qemu -name '{x}'`).options;
    expect(o!.value).toMatchObject({ form: 'keyval', props: { guest: '{x}' } });
  });

  test('bad JSON: BadJson at the value', () => {
    const d = diagnosticOf(() => parseCommandLine(`qemu -S \\\n-object '{"qom-type":"secret",}'`, 'j.args'));
    expect(d.code).toBe('BadJson');
    expect(d.message).toMatch(/^-object: invalid JSON value: /);
    expect(d.span).toMatchObject({ file: 'j.args', line: 2, column: 9 });
  });

  test('JSON with trailing text, or cut short: BadJson', () => {
    const spec = lookupOption('-device');
    const d = diagnosticOf(() => readValue('-device', spec, '{"a":1}x'));
    expect(d.code).toBe('BadJson');
    expect(diagnosticOf(() => parseCommandLine(`qemu -blockdev '{'`)).code).toBe('BadJson');
  });
});
