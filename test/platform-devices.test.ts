// Watchdog, panic and IOMMU devices, root-bus ACPI hotplug and the qemu: namespace elements
// (<qemu:deprecation>, <qemu:override>, <qemu:capabilities>): XML round trip, argv both ways.
import { argvWords } from '../src/emit/argv.js';
import { domainToArgv } from '../src/emit/to-argv.js';
import { domainFromArgvText } from '../src/ir/from-argv.js';
import { domainFromXml } from '../src/ir/from-xml.js';
import { domainToXml } from '../src/ir/to-xml.js';
import { DEFAULT_CONF, parseQemuConf } from '../src/qemu/config.js';

const NS = "xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'";
const xml = (devices: string, machine = 'pc', tail = '', features = '') =>
  `<domain type='qemu' ${NS}><name>g</name><memory>131072</memory>
    <os><type arch='x86_64' machine='${machine}'>hvm</type></os>${features}
    <devices><emulator>/usr/bin/qemu-system-x86_64</emulator><memballoon model='none'/>${devices}</devices>${tail}</domain>`;

const words = (text: string, opts: Parameters<typeof domainToArgv>[1] = {}) => {
  const { argv, diagnostics } = domainToArgv(domainFromXml(text).domain, opts);
  return { words: argvWords({ ...argv, env: [] }), warnings: diagnostics.items.map((d) => d.code) };
};
/** The value after each occurrence of `opt`. */
const values = (w: string[], opt: string) => w.flatMap((x, i) => (x === opt ? [w[i + 1]!] : []));

describe('watchdog', () => {
  test('ib700 with action dump: QEMU pauses, libvirt dumps', () => {
    const w = words(xml("<watchdog model='ib700' action='dump'/>")).words;
    expect(values(w, '-device')).toContain('{"driver":"ib700","id":"watchdog0"}');
    expect(values(w, '-watchdog-action')).toEqual(['pause']);
  });
  test('no action: reset', () => {
    expect(values(words(xml("<watchdog model='ib700'/>")).words, '-watchdog-action')).toEqual(['reset']);
  });
  test('i6300esb takes a PCI slot', () => {
    const w = words(xml("<watchdog model='i6300esb' action='poweroff'/>")).words;
    expect(values(w, '-device')).toContain('{"driver":"i6300esb","id":"watchdog0","bus":"pci.0","addr":"0x2"}');
  });
  test('QEMU 0.12: -watchdog MODEL', () => {
    const w = words(xml("<watchdog model='i6300esb' action='shutdown'/>"), { qemuVersion: '0.12' }).words;
    expect(values(w, '-watchdog')).toEqual(['i6300esb']);
    expect(values(w, '-watchdog-action')).toEqual(['shutdown']);
  });
  test('two watchdogs with different actions cannot share -watchdog-action', () => {
    expect(() => words(xml("<watchdog model='ib700' action='reset'/><watchdog model='i6300esb' action='poweroff'/>"))).toThrow(/different actions/);
  });
  test('itco is the q35 chipset\'s own', () => {
    const w = words(xml("<watchdog model='itco' action='reset'/>", 'q35')).words;
    expect(values(w, '-global')).toContain('ICH9-LPC.noreboot=off');
    expect(values(w, '-device').some((d) => d.includes('itco'))).toBe(false);
    expect(() => words(xml("<watchdog model='itco'/>"))).toThrow(/q35/);
  });
  test('legacy -watchdog/-watchdog-action read back', () => {
    const { domain } = domainFromArgvText('/usr/bin/qemu-system-x86_64 -m 128 -watchdog ib700 -watchdog-action poweroff', undefined, { minimal: true });
    expect(domain.devices.watchdogs).toEqual([expect.objectContaining({ model: 'ib700', action: 'poweroff' })]);
    expect(domain.qemuCommandline).toBeUndefined();
  });
  test('XML round trip keeps alias and address', () => {
    const text = xml("<watchdog model='i6300esb' action='none'><alias name='ua-wd'/><address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/></watchdog>");
    expect(domainToXml(domainFromXml(text).domain)).toContain(
      "<watchdog model='i6300esb' action='none'>\n      <alias name='ua-wd'/>\n      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>\n    </watchdog>",
    );
    const w = words(text).words;
    expect(values(w, '-device')).toContain('{"driver":"i6300esb","id":"ua-wd","bus":"pci.0","addr":"0x5"}');
  });
});

describe('panic', () => {
  test('x86 default model is isa; the ioport comes from the ISA address', () => {
    const w = words(xml("<panic><address type='isa' iobase='0x505'/></panic><panic model='hyperv'/>")).words;
    expect(values(w, '-device')).toContain('{"driver":"pvpanic","ioport":1285}');
    expect(values(w, '-cpu')[0]).toMatch(/,hv-crash$/);
    // NB: the pvpanic device follows -sandbox
    expect(w.indexOf('{"driver":"pvpanic","ioport":1285}')).toBeGreaterThan(w.indexOf('-sandbox'));
  });
  test('read back', () => {
    const { domain } = domainFromArgvText('/usr/bin/qemu-system-x86_64 -cpu qemu64,hv-crash -device pvpanic,ioport=1285', undefined, { minimal: true });
    expect(domain.devices.panics).toEqual([
      { model: 'hyperv', extra: [] },
      expect.objectContaining({ model: 'isa', address: { type: 'isa', iobase: 0x505 } }),
    ]);
  });
});

describe('iommu', () => {
  const features = "<features><ioapic driver='qemu'/></features>";
  test('intel: on/off strings for intremap/eim, booleans for the rest; before the controllers', () => {
    const w = words(xml("<iommu model='intel'><driver intremap='on' caching_mode='on' eim='off' iotlb='on' aw_bits='48'/></iommu>", 'q35', '', features)).words;
    const dev = '{"driver":"intel-iommu","id":"iommu0","intremap":"on","caching-mode":true,"eim":"off","device-iotlb":true,"aw-bits":48}';
    expect(values(w, '-device')[0]).toBe(dev);
    expect(w.indexOf(dev)).toBeGreaterThan(w.indexOf('-boot'));
  });
  test('virtio-iommu sits on pcie-root, after the root ports (virsh)', () => {
    const w = words(xml("<iommu model='virtio'/>", 'q35', '', '<features><acpi/></features>')).words;
    expect(values(w, '-device')).toContain('{"driver":"virtio-iommu","id":"iommu0","bus":"pcie.0","addr":"0x2"}');
  });
  test("libvirt's rules: intel needs q35 and a split I/O APIC for intremap, virtio needs ACPI", () => {
    expect(() => words(xml("<iommu model='intel'/>", 'pc'))).toThrow(/q35/);
    expect(() => words(xml("<iommu model='intel'><driver intremap='on'/></iommu>", 'q35'))).toThrow(/ioapic/);
    expect(() => words(xml("<iommu model='intel'><driver eim='on'/></iommu>", 'q35', '', features))).toThrow(/intremap/);
    expect(() => words(xml("<iommu model='virtio'/>", 'q35'))).toThrow(/ACPI/);
  });
  test('XML and argv round trip', () => {
    const text = xml("<iommu model='intel'><driver intremap='on' caching_mode='off' aw_bits='39'/></iommu>", 'q35', '', features);
    expect(domainToXml(domainFromXml(text).domain)).toContain("<iommu model='intel'>\n      <driver intremap='on' caching_mode='off' aw_bits='39'/>\n    </iommu>");
    const { domain } = domainFromArgvText(['/usr/bin/qemu-system-x86_64', ...words(text).words].map((x) => `'${x}'`).join(' '), undefined, { minimal: true });
    expect(domain.devices.iommu).toEqual(expect.objectContaining({ model: 'intel', driver: { intremap: true, cachingMode: false, awBits: 39 } }));
    // kernel_irqchip=split reads back as the <ioapic driver='qemu'/> interrupt remapping needs
    expect(domainToXml(domain)).toContain("<ioapic driver='qemu'/>");
  });
});

describe('pci-root hotplug', () => {
  test('-global PIIX4_PM.acpi-root-pci-hotplug, both ways', () => {
    const w = words(xml("<controller type='pci' index='0' model='pci-root'><target hotplug='off'/></controller>")).words;
    expect(values(w, '-global')).toEqual(['PIIX4_PM.acpi-root-pci-hotplug=off']);
    const { domain } = domainFromArgvText('/usr/bin/qemu-system-x86_64 -global PIIX4_PM.acpi-root-pci-hotplug=on', undefined, { minimal: true });
    expect(domain.devices.controllers.filter((c) => c.type === 'pci')).toEqual([expect.objectContaining({ type: 'pci', model: 'pci-root', pci: { hotplug: true } })]);
  });
});

describe('qemu: namespace', () => {
  const disk = "<disk type='file' device='disk'><source file='/i.img'/><target dev='vda' bus='virtio'/><alias name='ua-d'/></disk>";
  const override = `<qemu:override><qemu:device alias='ua-d'><qemu:frontend>
      <qemu:property name='serial' type='string' value='s1'/><qemu:property name='num-queues' type='signed' value='-1'/>
      <qemu:property name='bootindex' type='remove'/></qemu:frontend></qemu:device></qemu:override>`;
  test('deprecation behaviours give -compat after -name', () => {
    const w = (b: string) => words(xml('', 'pc', `<qemu:deprecation behavior='${b}'/>`)).words;
    const crash = w('crash');
    expect(crash.slice(crash.indexOf('-name') + 2, crash.indexOf('-name') + 4)).toEqual(['-compat', '{"deprecated-output":"hide","deprecated-input":"crash"}']);
    expect(values(w('omit'), '-compat')).toEqual(['{"deprecated-output":"hide"}']);
    expect(values(w('none'), '-compat')).toEqual([]);
  });
  test('qemu.conf deprecation_behavior applies to domains without one', () => {
    const config = parseQemuConf('deprecation_behavior = "reject"\n');
    expect(values(words(xml(''), { config }).words, '-compat')).toEqual(['{"deprecated-output":"hide","deprecated-input":"reject"}']);
    expect(values(words(xml(''), { config: DEFAULT_CONF }).words, '-compat')).toEqual([]);
    expect(() => parseQemuConf('deprecation_behavior = "sometimes"\n')).toThrow(/deprecation_behavior/);
  });
  test('override: properties replaced, appended and removed on the -device with that id', () => {
    const w = words(xml(disk, 'pc', override)).words;
    const dev = values(w, '-device').find((d) => d.includes('ua-d'))!;
    expect(dev).toBe('{"driver":"virtio-blk-pci","bus":"pci.0","addr":"0x2","drive":"libvirt-1-format","id":"ua-d","serial":"s1","num-queues":-1}');
  });
  test('an override for no device is reported', () => {
    expect(words(xml('', 'pc', override)).warnings).toContain('UnsupportedForTarget');
  });
  test('capabilities, override and deprecation survive XML -> IR -> XML in libvirt\'s order', () => {
    const tail = `<qemu:commandline><qemu:arg value='-x'/></qemu:commandline><qemu:capabilities><qemu:add capability='a'/><qemu:del capability='b'/></qemu:capabilities>${override}<qemu:deprecation behavior='reject'/>`;
    const out = domainToXml(domainFromXml(xml(disk, 'pc', tail)).domain);
    const order = ['qemu:commandline', 'qemu:capabilities', 'qemu:override', 'qemu:deprecation'].map((n) => out.indexOf(`<${n}`));
    expect(order.every((x, i) => x > 0 && (i === 0 || x > order[i - 1]!))).toBe(true);
    expect(out).toContain("<qemu:property name='bootindex' type='remove'/>");
    expect(out).toContain("<qemu:del capability='b'/>");
  });
  test('-compat read back; an empty environment value reads back as none', () => {
    const { domain } = domainFromArgvText(`BAR='' /usr/bin/qemu-system-x86_64 -compat '{"deprecated-output":"hide","deprecated-input":"crash"}'`, undefined, { minimal: true });
    expect(domain.qemuDeprecation).toBe('crash');
    expect(domain.qemuCommandline?.env).toEqual([{ name: 'BAR' }]);
  });
});

describe('passt', () => {
  test('a unix stream netdev (the socket libvirt started passt on) reads back as the passt backend', () => {
    const { domain, diagnostics } = domainFromArgvText(
      `/usr/bin/qemu-system-x86_64 -netdev '{"type":"stream","addr":{"type":"unix","path":"/run/libvirt/qemu/passt/-1-g-net0.socket"},"server":false,"id":"hostnet0"}' -device '{"driver":"rtl8139","netdev":"hostnet0","id":"net0","mac":"00:11:22:33:44:55"}'`,
      undefined,
      { minimal: true },
    );
    expect(domain.devices.interfaces).toEqual([expect.objectContaining({ type: 'user', backend: { type: 'passt' }, model: 'rtl8139', mac: '00:11:22:33:44:55' })]);
    expect(diagnostics.items.map((d) => d.code)).toContain('HostSideUnknown');
    const w = words(xml("<interface type='user'><mac address='00:11:22:33:44:55'/><model type='rtl8139'/><backend type='passt'/></interface>")).words;
    expect(values(w, '-netdev')).toEqual(['{"type":"stream","addr":{"type":"unix","path":"/run/libvirt/qemu/passt/-1-g-net0.socket"},"server":false,"id":"hostnet0"}']);
  });
});

test('an s390-ccw machine gets its built-in panic device, as libvirt lists it, and no option for it', () => {
  const { domain } = domainFromArgvText('/usr/bin/qemu-system-s390x -machine s390-ccw-virtio -m 64 -nodefaults');
  expect(domain.devices.panics).toEqual([{ model: 's390', extra: [] }]);
  expect(domainToXml(domain)).toContain("<panic model='s390'/>");
  const { argv } = domainToArgv(domain, { qemuVersion: '7.2', arch: 's390x' });
  expect(argv.options.some((o) => o.name === '-device' && JSON.stringify(o.value).includes('panic'))).toBe(false);
  // a minimal read leaves it implicit
  expect(domainFromArgvText('/usr/bin/qemu-system-s390x -machine s390-ccw-virtio -m 64', 'x', { minimal: true }).domain.devices.panics).toEqual([]);
});

test("from-native: q35's iTCO watchdog is libvirt 9.1's <watchdog model='itco'/>: kept as written; -machine acpi=off is no <acpi/>", () => {
  const r = domainFromArgvText('/usr/bin/qemu-system-x86_64 -machine q35,acpi=off -global ICH9-LPC.noreboot=off -watchdog-action reset', 'x');
  expect(r.domain.devices.watchdogs).toEqual([]);
  expect(r.domain.qemuCommandline?.args).toEqual(['-global', 'ICH9-LPC.noreboot=off', '-watchdog-action', 'reset']);
  expect(r.diagnostics.items.map((d) => d.code)).toContain('NewerThanLibvirt');
  expect(r.domain.features.some((f) => f.kind === 'acpi')).toBe(false);
  expect(domainFromArgvText('/usr/bin/qemu-system-x86_64 -machine q35,acpi=on', 'x').domain.features.some((f) => f.kind === 'acpi')).toBe(true);
});
