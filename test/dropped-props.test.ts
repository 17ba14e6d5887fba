// from-native never drops a property silently: a property of a mapped option that no reader
// looked at is named in a warning (src/ir/argv-reader.ts watchProps), while libvirt's own
// plumbing (its monitor, the master key, -boot strict=on, -name debug-threads) is not.
import { domainFromArgvText } from '../src/ir/from-argv.js';

const warnings = (line: string) => domainFromArgvText(`/usr/bin/qemu-system-x86_64 ${line}`, 'x').diagnostics.items.map((d) => d.message);

test("libvirt's own options imply what they carry: no warning", () => {
  expect(
    warnings(
      '-name guest=g,debug-threads=on -object \'{"qom-type":"secret","id":"masterKey0","format":"raw","file":"/var/lib/libvirt/qemu/domain--1-g/master-key.aes"}\' ' +
        '-chardev socket,id=charmonitor,fd=1729,server=on,wait=off -mon chardev=charmonitor,id=monitor,mode=control -boot strict=on',
    ),
  ).toEqual([]);
});

test('a property no reader maps is named, once, with the option', () => {
  const rng = warnings('-object rng-random,id=objrng0,filename=/dev/urandom -device virtio-rng-pci,rng=objrng0,id=rng0,x-made-up=7');
  expect(rng.filter((m) => m.includes('x-made-up'))).toEqual(["-device: property 'x-made-up' is not mapped and was dropped"]);
  // a reader that names what it drops itself (the NIC's) is not repeated
  const nic = warnings('-netdev user,id=n0 -device virtio-net-pci,netdev=n0,id=net0,mac=52:54:00:00:00:01,x-made-up=7');
  expect(nic.filter((m) => m.includes('x-made-up'))).toEqual(["-device virtio-net-pci: property 'x-made-up' is not mapped and was dropped"]);
});

test("QEMU ids are libvirt's aliases, made up again: only a user alias (ua-) would be a fact", () => {
  expect(warnings('-device virtio-balloon-pci,id=balloon0').filter((m) => m.includes("'id'"))).toEqual([]);
});

test('options kept verbatim in <qemu:commandline> are not also reported property by property', () => {
  const w = warnings('-device made-up-device,id=x,foo=1');
  expect(w.some((m) => m.includes("property 'foo'"))).toBe(false);
  expect(w.some((m) => m.includes('<qemu:commandline>'))).toBe(true);
});
