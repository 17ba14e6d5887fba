// Option values as data: QemuOpts parse/print round trips, JSON printing, typed access.
import {
  flattenProps,
  parseKeyval,
  printJson,
  printKeyval,
  propBool,
  propNum,
  propObj,
  propStr,
  props,
  splitQemuOpts,
  type Props,
} from '../src/qemu/props.js';

describe('QemuOpts strings', () => {
  test('splitQemuOpts: single commas split, double commas are literal', () => {
    expect(splitQemuOpts('a,b,,c,,,d')).toEqual(['a', 'b,c,', 'd']);
    expect(splitQemuOpts('')).toEqual(['']);
  });

  test.each<[string, string | undefined, Props]>([
    ['pc,usb=off,dump-guest-core=off', 'type', { type: 'pc', usb: 'off', 'dump-guest-core': 'off' }],
    ['file=/a,,b,if=none', 'file', { file: '/a,b', if: 'none' }],
    ['/a,,b,if=none', 'file', { file: '/a,b', if: 'none' }],
    ['socket,id=c,server,nowait', 'backend', { backend: 'socket', id: 'c', server: 'on', wait: 'off' }],
    ['mem-lock=off', undefined, { 'mem-lock': 'off' }],
    ['base=utc,', undefined, { base: 'utc' }],
  ])('parseKeyval(%j, %j)', (text, implied, expected) => {
    expect(parseKeyval(text, implied)).toEqual(expected);
  });

  test.each<[Props, string | undefined, string]>([
    [{ type: 'pc', usb: 'off' }, 'type', 'pc,usb=off'],
    [{ usb: 'off', type: 'pc' }, 'type', 'pc,usb=off'],
    [{ file: '/a,b.img', if: 'none', serial: 'x,,y' }, 'file', '/a,,b.img,if=none,serial=x,,,,y'],
    [{ guest: 'a,b', 'debug-threads': true }, undefined, 'guest=a,,b,debug-threads=on'],
    [{ size: 215, 'in': { voices: 2, fixed: false } }, undefined, 'size=215,in.voices=2,in.fixed=off'],
    [{ list: ['a', { b: 1 }] }, undefined, 'list.0=a,list.1.b=1'],
    // a '=' in the implied value would make QEMU read "k=v": the key is spelled out
    [{ file: 'a=b.img', if: 'none' }, 'file', 'file=a=b.img,if=none'],
  ])('printKeyval(%j, %j)', (p, implied, expected) => {
    expect(printKeyval(p, implied)).toBe(expected);
  });

  test.each<[Props, string | undefined]>([
    [{ type: 'pc-i440fx-7.2', usb: 'off' }, 'type'],
    [{ file: '/var/lib/a,b,,c.img', if: 'none', id: 'drive-ide0-0-0' }, 'file'],
    [{ file: 'x=y,z', format: 'raw' }, 'file'],
    [{ backend: 'socket', id: 'charmonitor', path: '/run/a b,c', server: 'on', wait: 'off' }, 'backend'],
    [{ guest: 'QEMU,Guest', 'debug-threads': 'on' }, undefined],
    [{ id: 'serial0', path: ',,,' }, undefined],
  ])('parseKeyval(printKeyval(p)) is p: %j', (p, implied) => {
    expect(parseKeyval(printKeyval(p, implied), implied)).toEqual(p);
  });

  test('flattenProps: dotted keys, QemuOpts spellings of scalars', () => {
    expect(flattenProps({ a: true, b: false, c: null, d: 1.5, e: { f: { g: 'h' } } })).toEqual([
      ['a', 'on'],
      ['b', 'off'],
      ['c', ''],
      ['d', '1.5'],
      ['e.f.g', 'h'],
    ]);
  });
});

describe('JSON values', () => {
  test('printJson: compact, in insertion order, typed', () => {
    const p = props({ driver: 'ide-hd', bus: 'ide.0', unit: 0, drive: undefined, 'share-rw': false, id: 'ide0-0-0' });
    expect(printJson(p)).toBe('{"driver":"ide-hd","bus":"ide.0","unit":0,"share-rw":false,"id":"ide0-0-0"}');
  });

  test('printJson escapes what JSON must escape', () => {
    expect(printJson({ file: `/a "b"\\c` })).toBe('{"file":"/a \\"b\\"\\\\c"}');
    expect(JSON.parse(printJson({ file: `/a "b"\\c`, n: [1, { m: null }] }))).toEqual({ file: `/a "b"\\c`, n: [1, { m: null }] });
  });

  test('props() drops undefined members and keeps order', () => {
    expect(Object.keys(props({ a: 1, b: undefined, c: 'x' }))).toEqual(['a', 'c']);
  });
});

describe('typed access: the same for keyval strings and JSON', () => {
  const kv = parseKeyval('virtio-blk-pci,bootindex=2,share-rw=on,x.y=z,x.w=1', 'driver');
  const js: Props = { driver: 'virtio-blk-pci', bootindex: 2, 'share-rw': true, x: { y: 'z', w: 1 } };

  test.each([
    ['keyval', kv],
    ['json', js],
  ])('%s', (_form, p) => {
    expect(propStr(p, 'driver')).toBe('virtio-blk-pci');
    expect(propNum(p, 'bootindex')).toBe(2);
    expect(propBool(p, 'share-rw')).toBe(true);
    expect(propObj(p, 'x')).toMatchObject({ y: 'z' });
    expect(propStr(p, 'missing')).toBeUndefined();
  });

  test('propBool accepts QEMU spellings and rejects anything else', () => {
    for (const s of ['on', 'yes', 'true', '1']) expect(propBool({ v: s }, 'v')).toBe(true);
    for (const s of ['off', 'no', 'false', '0']) expect(propBool({ v: s }, 'v')).toBe(false);
    expect(propBool({ v: 'maybe' }, 'v')).toBeUndefined();
  });

  test('propNum rejects non-numbers', () => {
    expect(propNum({ v: '12x' }, 'v')).toBeUndefined();
    expect(propNum({ v: '' }, 'v')).toBeUndefined();
    expect(propNum({ v: '0x10' }, 'v')).toBe(16);
  });
});
