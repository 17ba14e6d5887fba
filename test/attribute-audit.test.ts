// The attributes the XML readers once skipped without a word: each is now compiled (the argv
// fragments are libvirt 9.0's, from virsh domxml-to-native, but for the vhost fd number, which
// is the harness's), reported, or kept through XML.
import { argvWords, printArgvLine } from '../src/emit/argv.js';
import { domainToArgv, type EmitOptions } from '../src/emit/to-argv.js';
import { domainFromArgvText } from '../src/ir/from-argv.js';
import { domainFromXml } from '../src/ir/from-xml.js';
import { domainToXml } from '../src/ir/to-xml.js';

const xml = (devices: string, opts: { head?: string; os?: string; cpu?: string; features?: string; type?: string; machine?: string } = {}) =>
  `<domain type='${opts.type ?? 'qemu'}'><name>g</name>${opts.head ?? "<memory unit='KiB'>219136</memory>"}<vcpu>1</vcpu>
    <os><type arch='x86_64' machine='${opts.machine ?? 'pc'}'>hvm</type>${opts.os ?? ''}</os>${opts.features ?? ''}${opts.cpu ?? ''}
    <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>${devices}<memballoon model='none'/></devices></domain>`;

const compile = (text: string, opts: EmitOptions = {}) => {
  const { argv, diagnostics } = domainToArgv(domainFromXml(text).domain, opts);
  return { words: argvWords({ ...argv, env: [] }), line: printArgvLine(argv), warnings: diagnostics.items.map((d) => `${d.code}: ${d.message}`) };
};
/** The value after each occurrence of `opt`. */
const values = (w: readonly string[], opt: string) => w.flatMap((x, i) => (x === opt ? [w[i + 1]!] : []));
/** domain XML -> argv -> domain XML, the from-native side reading what to-native printed. */
const backAgain = (text: string) => domainToXml(domainFromArgvText(compile(text).line, undefined, { minimal: true }).domain);

/** (a) compiled: [what, XML, option, argv value (libvirt 9.0's), a fragment of the XML read back from it] */
const COMPILED: ReadonlyArray<readonly [string, string, string, string, string]> = [
  ['<memory dumpCore>', xml('', { head: "<memory unit='KiB' dumpCore='on'>219136</memory>" }), '-machine', 'pc-i440fx-7.2,usb=off,dump-guest-core=on,memory-backend=pc.ram', "<memory dumpCore='on' unit='KiB'>"],
  ['<disk model>', xml("<disk type='file' device='disk' model='virtio-transitional'><source file='/a.img'/><target dev='vda' bus='virtio'/></disk>"), '-device', '{"driver":"virtio-blk-pci-transitional","bus":"pci.0","addr":"0x2","drive":"libvirt-1-format","id":"virtio-disk0","bootindex":1}', "<disk type='file' device='disk' model='virtio-transitional'>"],
  ['<disk><driver page_per_vq>', xml("<disk type='file' device='disk'><driver name='qemu' type='raw' page_per_vq='on'/><source file='/a.img'/><target dev='vda' bus='virtio'/></disk>"), '-device', '{"driver":"virtio-blk-pci","page-per-vq":true,"bus":"pci.0","addr":"0x2","drive":"libvirt-1-format","id":"virtio-disk0","bootindex":1}', "page_per_vq='on'"],
  ['<disk><driver io>', xml("<disk type='file' device='disk'><driver name='qemu' type='raw' io='threads'/><source file='/a.img'/><target dev='vda' bus='virtio'/></disk>"), '-blockdev', '{"driver":"file","filename":"/a.img","aio":"threads","node-name":"libvirt-1-storage","auto-read-only":true,"discard":"unmap"}', "io='threads'"],
  ['<input><driver page_per_vq>', xml("<input type='tablet' bus='virtio'><driver page_per_vq='on'/></input>"), '-device', '{"driver":"virtio-tablet-pci","page-per-vq":true,"id":"input0","bus":"pci.0","addr":"0x2"}', "<driver page_per_vq='on'/>"],
  ['<video><driver> on virtio-vga', xml("<video><model type='virtio'/><driver ats='on' page_per_vq='on'/></video>"), '-device', '{"driver":"virtio-vga","ats":true,"page-per-vq":true,"id":"video0","max_outputs":1,"bus":"pci.0","addr":"0x2"}', "<driver ats='on' page_per_vq='on'/>"],
  ['<bios useserial>', xml("<serial type='pty'/>", { os: "<bios useserial='yes'/>" }), '-machine', 'pc-i440fx-7.2,usb=off,dump-guest-core=off,memory-backend=pc.ram,graphics=off', "<bios useserial='yes'/>"],
  ['<cpu><maxphysaddr mode=passthrough>', xml('', { cpu: "<cpu mode='custom' match='exact'><model>qemu64</model><maxphysaddr mode='passthrough'/></cpu>" }), '-cpu', 'qemu64,host-phys-bits=on', "<maxphysaddr mode='passthrough'/>"],
  ['<cpu><maxphysaddr mode=emulate bits>', xml('', { cpu: "<cpu mode='custom' match='exact'><model>qemu64</model><cache level='3' mode='emulate'/><maxphysaddr mode='emulate' bits='42'/></cpu>" }), '-cpu', 'qemu64,l3-cache=on,phys-bits=42', "<maxphysaddr mode='emulate' bits='42'/>"],
  ['<vmcoreinfo state=on>', xml('', { features: "<features><acpi/><vmcoreinfo state='on'/></features>" }), '-device', '{"driver":"vmcoreinfo"}', "<vmcoreinfo state='on'/>"],
  ['<sound><acpi index>', xml("<sound model='ich9'><acpi index='9'/></sound>"), '-device', '{"driver":"ich9-intel-hda","id":"sound0","bus":"pci.0","addr":"0x2","acpi-index":9}', "<acpi index='9'/>"],
  ['<rng><acpi index>', xml("<rng model='virtio'><backend model='random'>/dev/urandom</backend><acpi index='12'/></rng>"), '-device', '{"driver":"virtio-rng-pci","rng":"objrng0","id":"rng0","bus":"pci.0","addr":"0x2","acpi-index":12}', "<acpi index='12'/>"],
  ['<controller><acpi index>', xml("<controller type='usb' model='qemu-xhci'><acpi index='21'/></controller>"), '-device', '{"driver":"qemu-xhci","id":"usb","bus":"pci.0","addr":"0x2","acpi-index":21}', "<acpi index='21'/>"],
  ['<input virtio><acpi index>', xml("<input type='keyboard' bus='virtio'><acpi index='25'/></input>"), '-device', '{"driver":"virtio-keyboard-pci","id":"input0","bus":"pci.0","addr":"0x2","acpi-index":25}', "<acpi index='25'/>"],
  ['<watchdog><acpi index>', xml("<watchdog model='i6300esb' action='poweroff'><acpi index='27'/></watchdog>"), '-device', '{"driver":"i6300esb","id":"watchdog0","bus":"pci.0","addr":"0x2","acpi-index":27}', "<acpi index='27'/>"],
  ['<filesystem><acpi index>', xml("<filesystem type='mount' accessmode='passthrough'><driver type='path'/><source dir='/tmp'/><target dir='tag0'/><alias name='ua-fs'/><acpi index='24'/></filesystem>"), '-device', '{"driver":"virtio-9p-pci","id":"ua-fs","fsdev":"fsdev-ua-fs","mount_tag":"tag0","bus":"pci.0","addr":"0x2","acpi-index":24}', "<acpi index='24'/>"],
  ['<serial pci-serial><acpi index>', xml("<serial type='pty'><target type='pci-serial'/><alias name='ua-pser'/><acpi index='26'/></serial>"), '-device', '{"driver":"pci-serial","chardev":"charua-pser","id":"ua-pser","bus":"pci.0","addr":"0x2","acpi-index":26}', "<acpi index='26'/>"],
  ['<shmem><acpi index>', xml("<shmem name='shm0'><model type='ivshmem-plain'/><size unit='M'>4</size><alias name='ua-shm'/><acpi index='28'/></shmem>"), '-device', '{"driver":"ivshmem-plain","id":"ua-shm","memdev":"shmmem-ua-shm","bus":"pci.0","addr":"0x2","acpi-index":28}', "<acpi index='28'/>"],
  ['<vsock><acpi index>', xml("<vsock model='virtio'><cid auto='no' address='4'/><alias name='ua-vsock'/><acpi index='29'/></vsock>"), '-device', '{"driver":"vhost-vsock-pci","id":"ua-vsock","guest-cid":4,"vhostfd":"100","bus":"pci.0","addr":"0x2","acpi-index":29}', "<acpi index='29'/>"],
  ['<controller><pcihole64>', xml("<controller type='pci' index='0' model='pci-root'><pcihole64 unit='KiB'>1048576</pcihole64></controller>"), '-global', 'i440FX-pcihost.pci-hole64-size=1048576K', "<pcihole64 unit='KiB'>1048576</pcihole64>"],
];

describe('(a) attributes libvirt turns into argv', () => {
  test.each(COMPILED)('%s', (_what, text, opt, value, readBack) => {
    const { words, warnings } = compile(text);
    expect(values(words, opt)).toContain(value);
    expect(warnings).toEqual([]);
    expect(backAgain(text)).toContain(readBack);
  });

  test('<memory dumpCore> wins over qemu.conf; off is its default', () => {
    const off = xml('', { head: "<memory unit='KiB' dumpCore='off'>219136</memory>" });
    expect(values(compile(off).words, '-machine')[0]).toContain('dump-guest-core=off');
    expect(backAgain(off)).toContain("<memory unit='KiB'>");
    expect(compile(off, { qemuVersion: '1.1' }).warnings).toEqual([expect.stringMatching(/^UnsupportedForTarget: <memory dumpCore='off'>/)]);
  });

  test('<driver io> is on every local image of the chain, not on network or vvfat nodes', () => {
    const text = xml(`<disk type='file' device='disk'><driver name='qemu' type='qcow2' io='io_uring'/><source file='/top.qcow2'/>
      <backingStore type='block'><format type='raw'/><source dev='/dev/sdz'/><backingStore/></backingStore><target dev='vda' bus='virtio'/></disk>
      <disk type='network' device='disk'><driver name='qemu' type='raw' io='threads'/><source protocol='nbd' name='x'><host name='h' port='1'/></source><target dev='vdb' bus='virtio'/></disk>`);
    const blockdevs = values(compile(text).words, '-blockdev');
    expect(blockdevs).toContain('{"driver":"host_device","filename":"/dev/sdz","aio":"io_uring","node-name":"libvirt-3-storage","auto-read-only":true,"discard":"unmap"}');
    expect(blockdevs).toContain('{"driver":"file","filename":"/top.qcow2","aio":"io_uring","node-name":"libvirt-2-storage","auto-read-only":true,"discard":"unmap"}');
    expect(blockdevs).toContain('{"driver":"nbd","server":{"type":"inet","host":"h","port":"1"},"export":"x","node-name":"libvirt-1-storage","auto-read-only":true,"discard":"unmap"}');
  });

  test('<driver io> on -drive (QEMU before -blockdev); io_uring needs QEMU 5.0', () => {
    const disk = (io: string) => xml(`<disk type='file' device='disk'><driver name='qemu' type='raw' io='${io}'/><source file='/a.img'/><target dev='vda' bus='virtio'/></disk>`);
    expect(values(compile(disk('native'), { qemuVersion: '2.12' }).words, '-drive')[0]).toMatch(/,aio=native$/);
    const old = compile(disk('io_uring'), { qemuVersion: '4.1' });
    expect(values(old.words, '-drive')[0]).not.toContain('aio=');
    expect(old.warnings).toEqual([expect.stringMatching(/^UnsupportedForTarget: <driver io> on vda/)]);
  });

  test('<kvm><dirty-ring>: -accel kvm,dirty-ring-size= (KVM guests only)', () => {
    const text = xml('', { type: 'kvm', features: "<features><acpi/><kvm><dirty-ring state='on' size='8192'/></kvm></features>" });
    expect(values(compile(text).words, '-accel')).toEqual(['kvm,dirty-ring-size=8192']);
    expect(backAgain(text)).toContain("<dirty-ring state='on' size='8192'/>");
    expect(values(compile(text.replace("type='kvm'", "type='qemu'")).words, '-accel')).toEqual(['tcg']);
    expect(compile(text, { qemuVersion: '6.0' }).warnings).toEqual([expect.stringMatching(/^UnsupportedForTarget: <kvm><dirty-ring>/)]);
  });

  test('<controller><target><node>: a PCI expander bus on a guest NUMA node', () => {
    const text = xml("<controller type='pci' index='1' model='pci-expander-bus'><model name='pxb'/><target busNr='252'><node>1</node></target></controller>", {
      head: "<memory unit='KiB'>2097152</memory>",
      cpu: "<cpu><numa><cell id='0' cpus='0' memory='1048576' unit='KiB'/><cell id='1' cpus='0' memory='1048576' unit='KiB'/></numa></cpu>",
    });
    expect(values(compile(text).words, '-device')).toContain('{"driver":"pxb","bus_nr":252,"id":"pci.1","numa_node":1,"bus":"pci.0","addr":"0x2"}');
    expect(domainToXml(domainFromXml(text).domain)).toContain("<target busNr='252'>\n        <node>1</node>\n      </target>");
  });
});

/** (c) affect libvirt's argv but are not compiled: a warning at the element. */
const WARNED: ReadonlyArray<readonly [string, string, RegExp]> = [
  ['<source fdgroup>', xml("<disk type='file' device='disk'><source file='/a.img' fdgroup='grp'/><target dev='vda' bus='virtio'/></disk>"), /^XmlUnsupportedAttribute: <source fdgroup> of disk vda/],
  ['<controller><target index>', xml("<controller type='pci' index='1' model='pci-bridge'><target chassisNr='1' index='1'/></controller>"), /^XmlUnsupportedAttribute: <target index> of controller pci.1/],
  ['<sound> child the IR does not model', xml("<sound model='ich9'><foo/></sound>"), /^XmlUnsupportedElement: <foo> of sound sound0/],
];

describe('(c) attributes not compiled are reported', () => {
  test.each(WARNED)('%s', (_what, text, warning) => {
    expect(compile(text).warnings).toEqual(expect.arrayContaining([expect.stringMatching(warning)]));
    // and the XML keeps them
    expect(domainToXml(domainFromXml(text).domain)).toMatch(/fdgroup='grp'|index='1'|<foo\/>/);
  });
});

/** (b) no argv effect in libvirt's QEMU driver: kept through XML -> IR -> XML, as libvirt's dumpxml keeps them. */
const KEPT: ReadonlyArray<readonly [string, string, string]> = [
  ['<source startupPolicy>', xml("<disk type='file' device='cdrom'><source file='/a.iso' startupPolicy='optional'/><target dev='hdc' bus='ide'/><readonly/></disk>"), "<source file='/a.iso' startupPolicy='optional'/>"],
  ['<boot loadparm> (s390 only)', xml("<disk type='file' device='disk'><source file='/a.img'/><target dev='vda' bus='virtio'/><boot order='1' loadparm='ABC'/></disk>"), "<boot order='1' loadparm='ABC'/>"],
  ['<interface trustGuestRxFilters>, <mac type check>', xml("<interface type='user' trustGuestRxFilters='yes'><mac address='52:54:00:11:22:33' type='static' check='yes'/><model type='virtio'/></interface>"), "<interface type='user' trustGuestRxFilters='yes'>\n      <mac address='52:54:00:11:22:33' type='static' check='yes'/>"],
  ['<timer><catchup>', xml('').replace('</devices>', "</devices><clock offset='utc'><timer name='rtc' tickpolicy='catchup'><catchup threshold='123' slew='120' limit='10000'/></timer></clock>"), "<catchup threshold='123' slew='120' limit='10000'/>"],
];

describe('(b) attributes without an argv effect survive the XML round trip', () => {
  test.each(KEPT)('%s', (_what, text, kept) => {
    expect(domainToXml(domainFromXml(text).domain)).toContain(kept);
    expect(compile(text).warnings).toEqual([]);
  });
});
