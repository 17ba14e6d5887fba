// from-native keeps a -device property no reader maps as <qemu:override> of the device's alias
// (the id to-native gives it), and a -boot key with no XML home as a second -boot in
// <qemu:commandline> (QEMU merges repeated -boot): to-native(from-native(L)) prints them again.
import { converterFor } from '../src/cli/convert.js';
import { DomxmlError } from '../src/errors.js';
import { domainToArgv } from '../src/emit/to-argv.js';
import { domainFromArgvText } from '../src/ir/from-argv.js';
import type { Props } from '../src/qemu/props.js';

const read = (line: string) => domainFromArgvText(`/usr/bin/qemu-system-x86_64 ${line}`, 'x');
const messages = (line: string) => read(line).diagnostics.items.map((d) => d.message);

/** The -device options to-native prints for what from-native read, by driver. */
function devicesAgain(line: string): Map<string, Props> {
  const out = new Map<string, Props>();
  for (const o of domainToArgv(read(line).domain).argv.options) {
    if (o.name === '-device' && o.value.kind === 'props') out.set(String(o.value.props['driver']), o.value.props);
  }
  return out;
}

const HAND =
  '-machine q35 -m 1024 -drive file=/var/lib/images/a.qcow2,format=qcow2,if=none,id=d0 -device virtio-blk-pci,drive=d0,id=disk0,x-foo=7 ' +
  '-netdev user,id=n0 -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56,x-txburst=256,x-flag,x-mode=fast';

test('custom -device properties become overrides of the aliases to-native assigns, typed', () => {
  const { domain } = read(HAND);
  expect(domain.qemuOverrides).toEqual([
    { alias: 'virtio-disk0', frontend: [{ name: 'x-foo', type: 'unsigned', value: '7' }] },
    {
      alias: 'net0',
      frontend: [
        { name: 'x-txburst', type: 'unsigned', value: '256' },
        // NB: a bare QemuOpts flag stands for flag=on, a boolean
        { name: 'x-flag', type: 'bool', value: 'true' },
        { name: 'x-mode', type: 'string', value: 'fast' },
      ],
    },
  ]);
  expect(messages(HAND).filter((m) => m.includes('x-txburst'))).toEqual([
    "-device virtio-net-pci: property 'x-txburst' has no domain XML equivalent: kept in <qemu:override> of device 'net0'",
  ]);
});

test('to-native(from-native(L)) prints the properties on the same devices', () => {
  const again = devicesAgain(HAND);
  expect(again.get('virtio-blk-pci')).toMatchObject({ drive: 'libvirt-1-format', 'x-foo': 7 });
  expect(again.get('virtio-net-pci')).toMatchObject({ mac: '52:54:00:12:34:56', 'x-txburst': 256, 'x-flag': true, 'x-mode': 'fast' });
});

test('JSON values keep their types; a user alias is the override target', () => {
  const line =
    "-blockdev '{\"driver\":\"host_device\",\"filename\":\"/dev/vg/a\",\"node-name\":\"s\"}' -blockdev '{\"node-name\":\"f\",\"driver\":\"raw\",\"file\":\"s\"}' " +
    "-device '{\"driver\":\"ide-hd\",\"bus\":\"ide.0\",\"unit\":0,\"drive\":\"f\",\"id\":\"ua-disk\",\"p1\":\"v\",\"p2\":-321,\"p3\":123,\"p4\":true,\"p5\":1.5}'";
  const { domain, diagnostics } = read(line);
  expect(domain.qemuOverrides).toEqual([
    {
      alias: 'ua-disk',
      frontend: [
        { name: 'p1', type: 'string', value: 'v' },
        { name: 'p2', type: 'signed', value: '-321' },
        { name: 'p3', type: 'unsigned', value: '123' },
        { name: 'p4', type: 'bool', value: 'true' },
      ],
    },
  ]);
  // no override type holds a fraction
  expect(diagnostics.items.map((d) => d.message)).toContain("-device: property 'p5' is not mapped and was dropped");
});

test('a property to-native prints with the same value anyway is not lost: no override, no warning', () => {
  // NB: libvirt derives qemu-xhci's p3 from its ports, as p2
  const line = '-device qemu-xhci,p2=8,p3=8,id=usb,bus=pci.0,addr=0x4';
  expect(read(line).domain.qemuOverrides).toBeUndefined();
  expect(messages(line).filter((m) => m.includes("'p3'"))).toEqual([]);
});

test("QEMU's other name for a device is the same device", () => {
  expect(read('-device virtio-balloon,x-made-up=256').domain.qemuOverrides).toEqual([
    { alias: 'balloon0', frontend: [{ name: 'x-made-up', type: 'unsigned', value: '256' }] },
  ]);
});

test('a device to-native prints as another one cannot be named: the property is dropped, said so', () => {
  // NB: QEMU's old ide-drive is libvirt's ide-hd or ide-cd, as the drive says
  const line = '-drive file=/a.img,if=none,id=d0,format=raw -device ide-drive,drive=d0,bus=ide.0,unit=0,x-made-up=1';
  expect(read(line).domain.qemuOverrides).toBeUndefined();
  expect(messages(line)).toContain("-device: property 'x-made-up' is not mapped and was dropped");
});

test('-boot splash has no XML home: kept as a second -boot, which QEMU merges with libvirt\'s', () => {
  const line = '-boot order=c,menu=on,splash=/usr/share/splash.jpg,splash-time=3000';
  const { domain, diagnostics } = read(line);
  expect(domain.qemuCommandline?.args).toEqual(['-boot', 'splash=/usr/share/splash.jpg']);
  expect(diagnostics.items.map((d) => d.message)).toContain(
    "-boot property 'splash' has no domain XML equivalent: kept verbatim in <qemu:commandline>",
  );
  // splash-time is the boot menu's timeout, printed by libvirt itself
  const boots = domainToArgv(domain).argv.options.filter((o) => o.name === '-boot' && o.value.kind === 'props');
  expect(boots.map((o) => (o.value.kind === 'props' ? o.value.props : {}))).toEqual([{ menu: 'on', 'splash-time': 3000, strict: 'on' }]);
  const names = domainToArgv(domain).argv.options.map((o) => o.name);
  expect(names[names.lastIndexOf('-boot') + 1]).toBe('splash=/usr/share/splash.jpg');
});

test('--strict refuses what is only kept as an override', async () => {
  const convert = await converterFor({ verb: 'from-native', minimal: false, strict: true, cwd: { dir: '/', why: 'test' } });
  expect(() => convert(`/usr/bin/qemu-system-x86_64 ${HAND}`, 'x')).toThrow(DomxmlError);
});

test('repeated -boot options merge, as QEMU merges them: a later key wins, none is lost', () => {
  const { domain, diagnostics } = read('-boot order=d,menu=off -boot order=c,menu=on -boot splash=/x.jpg');
  expect(domain.os.boot).toEqual(['hd']);
  expect(domain.os.bootmenu).toEqual({ enable: true });
  expect(domain.qemuCommandline?.args).toEqual(['-boot', 'splash=/x.jpg']);
  // the replaced order=d and menu=off are QEMU's to forget, not ours to report
  expect(diagnostics.items.map((d) => d.message).filter((m) => m.includes('-boot'))).toEqual([
    "-boot property 'splash' has no domain XML equivalent: kept verbatim in <qemu:commandline>",
  ]);
});
