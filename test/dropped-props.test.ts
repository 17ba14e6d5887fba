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
  const rng = warnings('-object rng-random,id=objrng0,filename=/dev/urandom,x-made-up=7 -device virtio-rng-pci,rng=objrng0,id=rng0');
  expect(rng.filter((m) => m.includes('x-made-up'))).toEqual(["-object: property 'x-made-up' is not mapped and was dropped"]);
  // a reader that names what it drops itself (the NIC's back end) is not repeated
  const nic = warnings('-netdev user,id=n0,x-made-up=7 -device virtio-net-pci,netdev=n0,id=net0,mac=52:54:00:00:00:01');
  expect(nic.filter((m) => m.includes('x-made-up'))).toEqual(["-netdev user: property 'x-made-up' is not mapped and was dropped"]);
  // a -device's is kept as <qemu:override> instead (test/override-keep.test.ts)
});

test("QEMU ids are libvirt's aliases, made up again: only a user alias (ua-) would be a fact", () => {
  expect(warnings('-device virtio-balloon-pci,id=balloon0').filter((m) => m.includes("'id'"))).toEqual([]);
});

test('options kept verbatim in <qemu:commandline> are not also reported property by property', () => {
  const w = warnings('-device made-up-device,id=x,foo=1');
  expect(w.some((m) => m.includes("property 'foo'"))).toBe(false);
  expect(w.some((m) => m.includes('<qemu:commandline>'))).toBe(true);
});

const domainOf = (line: string) => domainFromArgvText(`/usr/bin/qemu-system-x86_64 ${line}`, 'x');
const unmapped = (line: string) => warnings(line).filter((m) => m.includes('is not mapped'));

test("a disk frontend's geometry, block sizes, rotation rate and USB port are read back", () => {
  const line =
    '-blockdev \'{"driver":"file","filename":"/a.img","node-name":"s1"}\' -blockdev \'{"node-name":"f1","driver":"raw","file":"s1"}\' ' +
    '-device \'{"driver":"ide-hd","bus":"ide.0","unit":0,"drive":"f1","id":"ide0-0-0","cyls":16383,"heads":16,"secs":63,"bios-chs-trans":"lba","logical_block_size":512,"physical_block_size":4096,"rotation_rate":1}\' ' +
    '-device \'{"driver":"piix3-usb-uhci","id":"usb","bus":"pci.0","addr":"0x1.0x2"}\' ' +
    '-blockdev \'{"driver":"file","filename":"/u.img","node-name":"s2"}\' -blockdev \'{"node-name":"f2","driver":"raw","file":"s2"}\' ' +
    '-device \'{"driver":"usb-storage","bus":"usb.0","port":"2","drive":"f2","id":"usb-disk0","removable":false}\'';
  expect(unmapped(line)).toEqual([]);
  const [ide, usb] = domainOf(line).domain.devices.disks;
  expect(ide?.geometry).toEqual({ cyls: 16383, heads: 16, secs: 63, trans: 'lba' });
  expect(ide?.blockio).toEqual({ logical: 512, physical: 4096 });
  expect(ide?.target.rotationRate).toBe(1);
  expect(usb?.address).toEqual({ type: 'usb', bus: 0, port: '2' });
});

test('-drive with -device reads the same frontend properties', () => {
  const d = domainOf('-drive file=/a.img,format=raw,if=none,id=drive0 -device ide-hd,bus=ide.0,unit=0,drive=drive0,rotation_rate=1,logical_block_size=4096').domain.devices.disks[0];
  expect(d?.target.rotationRate).toBe(1);
  expect(d?.blockio).toEqual({ logical: 4096 });
});

test('what libvirt derives from the domain is settled; another value is kept as an override or warned', () => {
  const hda = (cads: number[]) =>
    '-device \'{"driver":"ich9-intel-hda","id":"sound0","bus":"pci.0","addr":"0x4"}\' ' +
    cads.map((c, i) => `-device '{"driver":"hda-duplex","id":"sound0-codec${i}","bus":"sound0.0","cad":${c}}'`).join(' ');
  expect(unmapped(hda([0, 1]))).toEqual([]);
  // another codec address has no XML home: the device keeps it as an override
  expect(warnings(hda([0, 3])).filter((m) => m.includes("'cad'"))).toEqual(["-device hda-duplex: property 'cad' has no domain XML equivalent: kept in <qemu:override> of device 'sound0-codec1'"]);
  // a listening socket that does not wait; spicevmc/qemu-vdagent names
  expect(unmapped('-chardev socket,id=charredir0,path=/r.sock,server=on,wait=off -device usb-redir,chardev=charredir0,id=redir0')).toEqual([]);
  expect(unmapped('-chardev spicevmc,id=charredir0,name=usbredir -device usb-redir,chardev=charredir0,id=redir0')).toEqual([]);
  expect(unmapped('-chardev spicevmc,id=charredir0,name=vdagent -device usb-redir,chardev=charredir0,id=redir0')).toEqual(["-chardev: property 'name' is not mapped and was dropped"]);
  expect(unmapped('-device virtio-serial-pci,id=virtio-serial0 -chardev qemu-vdagent,id=charchannel0,name=vdagent,clipboard=on -device virtserialport,bus=virtio-serial0.0,nr=1,chardev=charchannel0,id=channel0,name=com.redhat.spice.0')).toEqual([]);
  // fd sets named ALIAS-ROLE
  expect(unmapped('-add-fd set=0,fd=1750,opaque=serial0-source -chardev file,id=charserial0,path=/dev/fdset/0,append=on -device isa-serial,chardev=charserial0,id=serial0')).toEqual([]);
});

test('the TCG translation cache, video resolution and virtio options have XML homes', () => {
  const dom = domainOf('-accel tcg,tb-size=100 -device virtio-vga,id=video0,xres=1920,yres=1080 -device virtio-serial-pci,id=virtio-serial0,ats=on').domain;
  const tcg = dom.features.find((f) => f.kind === 'other' && f.element.name === 'tcg');
  expect(tcg && tcg.kind === 'other' ? tcg.element.children[0] : undefined).toMatchObject({ name: 'tb-cache', attrs: { unit: 'KiB' } });
  expect(dom.devices.videos[0]?.resolution).toEqual({ x: 1920, y: 1080 });
  expect(dom.devices.controllers.find((c) => c.type === 'virtio-serial')?.driver).toEqual({ ats: true });
});

test("user networking's host port forwards are named one by one, with passt's <portForward> for them", () => {
  const fwd = (line: string) => warnings(line).filter((m) => m.includes('hostfwd='));
  // QemuOpts repeats the key; the parsed props alone would keep only the last rule
  expect(fwd('-netdev user,id=n0,hostfwd=tcp::2222-:22,hostfwd=udp:127.0.0.1:5353-:53 -device virtio-net-pci,netdev=n0')).toEqual([
    "-netdev user: hostfwd=tcp::2222-:22 was dropped: libvirt 9.0 forwards host ports only with the passt backend of <interface type='user'>; there it is <backend type='passt'/> with <portForward proto='tcp'><range start='2222' to='22'/></portForward>",
    "-netdev user: hostfwd=udp:127.0.0.1:5353-:53 was dropped: libvirt 9.0 forwards host ports only with the passt backend of <interface type='user'>; there it is <backend type='passt'/> with <portForward proto='udp' address='127.0.0.1'><range start='5353' to='53'/></portForward>",
  ]);
  // JSON -netdev: a list of {str}; -nic: backend and NIC in one option; same port both sides
  expect(fwd('-netdev \'{"type":"user","id":"n0","hostfwd":[{"str":"tcp::8080-:8080"}]}\' -device virtio-net-pci,netdev=n0 -nic user,hostfwd=:10.0.0.1:80-:8080')).toEqual([
    "-netdev user: hostfwd=tcp::8080-:8080 was dropped: libvirt 9.0 forwards host ports only with the passt backend of <interface type='user'>; there it is <backend type='passt'/> with <portForward proto='tcp'><range start='8080'/></portForward>",
    "-nic user: hostfwd=:10.0.0.1:80-:8080 was dropped: libvirt 9.0 forwards host ports only with the passt backend of <interface type='user'>; there it is <backend type='passt'/> with <portForward proto='tcp' address='10.0.0.1'><range start='80' to='8080'/></portForward>",
  ]);
});
