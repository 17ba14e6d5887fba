// XML -> to-native -> from-native -> XML, and the comparison of the result with the input after
// libvirt's define-time defaults, less what a QEMU command line cannot say (each rule says why).
import { bootIndexes } from '../../src/families/boot-order.js';
import { applyDefaults, capsFor, DEBIAN_OVMF, DEFAULT_CONF, domainFromArgvText, domainFromXml, domainToArgv, printArgvLine, type Domain } from '../../src/index.js';
import { resolveFirmware } from '../../src/families/firmware.js';
import { isQ35 } from '../../src/ir/defaults.js';
import { defaultUsbModel } from '../../src/ir/pci-addresses.js';
import { has } from '../../src/qemu/caps.js';
import { domainToElement } from '../../src/ir/to-xml.js';
import type { XmlElement } from '../../src/xml/tree.js';
import { writeXml } from '../../src/xml/write.js';

interface Node {
  name: string;
  attrs: Record<string, string>;
  children: Node[];
  text: string;
}

const copy = (e: XmlElement): Node => ({ name: e.name, attrs: { ...e.attrs }, children: e.children.map(copy), text: e.text });
const kids = (n: Node | undefined, name: string): Node[] => n?.children.filter((c) => c.name === name) ?? [];
const drop = (n: Node | undefined, pred: (c: Node) => boolean): void => {
  if (n) n.children = n.children.filter((c) => !pred(c));
};
function walk(n: Node, f: (n: Node) => void): void {
  f(n);
  for (const c of n.children) walk(c, f);
}

/** Each bootable device (by target or MAC) and its boot index, as to-native computes them. */
function bootMap(d: Domain): string[] {
  return [...bootIndexes(d)].map(([dev, i]) => `${'target' in dev ? dev.target.dev : dev.mac ?? '?'}=${i}`).sort();
}

function canon(d: Domain, other: Node | undefined, version: string): Node {
  const root = copy(domainToElement(d));
  // since QEMU 6.0 libvirt sets the reboot and crash actions over QMP (set-action) when the
  // guest starts: the command line only has -no-shutdown
  if (has(capsFor(version, d.os.arch ?? 'x86_64'), 'set-action')) drop(root, (c) => c.name === 'on_reboot' || c.name === 'on_crash');
  const devices = kids(root, 'devices')[0];
  // never on a command line: descriptive elements and applications' metadata
  drop(root, (c) => ['metadata', 'title', 'description'].includes(c.name));
  const os = kids(root, 'os')[0];
  // the command line has the guest's NVRAM copy, not the template it was made from
  for (const n of kids(os, 'nvram')) delete n.attrs.template;
  // -machine names the machine type libvirt resolved the alias to (pc -> pc-i440fx-7.2, Arm's virt -> virt-7.2)
  for (const t of kids(os, 'type')) {
    if (t.attrs.machine) t.attrs.machine = t.attrs.machine.replace(/^pc-i440fx-[\d.]+$/, 'pc').replace(/^pc-q35-[\d.]+$/, 'q35').replace(/^virt-[\d.]+$/, 'virt');
  }
  // <boot dev> and per-device <boot order> are two spellings of the same bootindex values,
  // compared on their own (bootMap)
  drop(os, (c) => c.name === 'boot');
  if (devices) for (const dev of devices.children) drop(dev, (c) => c.name === 'boot');
  // x86 guests always have a local APIC: <apic/> has no QEMU option
  drop(kids(root, 'features')[0], (c) => c.name === 'apic');
  if (!kids(root, 'features')[0]?.children.length) drop(root, (c) => c.name === 'features');
  const cpu = kids(root, 'cpu')[0];
  if (cpu) {
    // mode='custom' is the default mode; match/check/fallback are libvirt's checks of the host CPU
    if (cpu.attrs.mode === 'custom') delete cpu.attrs.mode;
    delete cpu.attrs.match;
    delete cpu.attrs.check;
    for (const m of kids(cpu, 'model')) delete m.attrs.fallback;
    // qemu64 is the emulator's default model: no <cpu> and libvirt's defined <cpu>qemu64 print alike
    drop(cpu, (c) => c.name === 'model' && c.text === 'qemu64');
    // -smp always spells the topology out: one socket per vCPU is what no <topology> means
    const vcpus = Number(kids(root, 'vcpu')[0]?.text ?? 1);
    drop(cpu, (c) => c.name === 'topology' && Number(c.attrs.sockets) === vcpus && c.attrs.cores === '1' && c.attrs.threads === '1' && (c.attrs.dies ?? '1') === '1');
    // one die per socket is the default, which -smp …,dies=1 states and from-native leaves out
    for (const t of kids(cpu, 'topology')) if (t.attrs.dies === '1') delete t.attrs.dies;
    if (!cpu.children.length && !Object.keys(cpu.attrs).length) drop(root, (c) => c === cpu);
  }
  // the timers are spread over -cpu (hypervclock), -rtc, -global (pit) and -machine/-no-hpet
  const clock = kids(root, 'clock')[0];
  if (clock) clock.children = [...clock.children].sort((a, b) => (a.attrs.name! < b.attrs.name! ? -1 : a.attrs.name! > b.attrs.name! ? 1 : 0));
  const caps = capsFor(version, d.os.arch ?? 'x86_64');
  // QEMU before 1.5 had no discard= (to-native warns that it drops it)
  if (devices && !has(caps, 'drive.discard')) for (const disk of kids(devices, 'disk')) for (const drv of kids(disk, 'driver')) delete drv.attrs.discard;
  // QEMU before 1.2 had no PIIX4_PM.disable_s3/disable_s4 (to-native warns that it drops <pm>)
  if (!has(caps, 'pm.disable-s3')) drop(root, (c) => c.name === 'pm');
  if (devices) {
    // the define-time defaults leave the machine's default USB controller model implicit (as
    // libvirt 5.4's argv2xml did); the command line names the device
    const usbDefault = defaultUsbModel(isQ35(d.os.machine));
    for (const c of kids(devices, 'controller')) if (c.attrs.type === 'usb' && c.attrs.model === usbDefault && !kids(c, 'master').length) delete c.attrs.model;
    // autoport becomes a concrete port, and the listen address comes from qemu.conf at start
    for (const g of kids(devices, 'graphics')) {
      delete g.attrs.port;
      delete g.attrs.autoport;
      delete g.attrs.listen;
      for (const l of kids(g, 'listen')) delete l.attrs.address;
      // …and a listen of type address without an address is what no <listen> means
      drop(g, (l) => l.name === 'listen' && l.attrs.type === 'address' && Object.keys(l.attrs).length === 1 && !l.children.length);
    }
    // a shmem peer is QEMU's default role: libvirt prints master=on only
    for (const s of kids(devices, 'shmem')) if (s.attrs.role === 'peer') delete s.attrs.role;
    // a USB host device is never detached from the host, so managed= leaves no trace
    for (const h of kids(devices, 'hostdev')) if (h.attrs.type === 'usb') delete h.attrs.managed;
    // libvirt picks the audio backend when the guest starts (none, or the display's)
    if (other && !kids(kids(other, 'devices')[0], 'audio').length) drop(devices, (c) => c.name === 'audio');
    // libvirt numbers controllers per type; their order in the XML is the order of definition
    const rank = (c: Node) => `${c.attrs.type ?? ''}\0${(c.attrs.index ?? '').padStart(4, '0')}\0${c.attrs.model ?? ''}`;
    const ctrls = kids(devices, 'controller').sort((a, b) => (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0));
    let k = 0;
    devices.children = devices.children.map((c) => (c.name === 'controller' ? ctrls[k++]! : c));
  }
  if (!has(caps, 'uuid')) drop(root, (c) => c.name === 'uuid'); // libvirt's QEMU 0.12 line has no -uuid
  if (!has(caps, 'device')) {
    // without -device, QEMU places the devices itself: no PCI address is on the command line;
    // and libvirt 0.7 printed no balloon
    walk(root, (n) => drop(n, (c) => c.name === 'address' && c.attrs.type === 'pci'));
    drop(devices, (c) => c.name === 'memballoon');
  }
  // USB ports are assigned when the guest starts
  walk(root, (n) => drop(n, (c) => c.name === 'address' && c.attrs.type === 'usb'));
  return root;
}

export interface NativeRoundTrip {
  readonly line: string;
  readonly want: string;
  readonly got: string;
  readonly wantBoot: string[];
  readonly gotBoot: string[];
  /** from-native's warnings: options it could not map back. */
  readonly warnings: string[];
}

/** to-native for QEMU VERSION, from-native of the printed line, both sides canonical. */
export function nativeRoundTrip(xml: string, version: string, file = 'domain.xml'): NativeRoundTrip {
  const domain = domainFromXml(xml, file).domain;
  const line = printArgvLine(domainToArgv(domain, { qemuVersion: version }).argv);
  const back = domainFromArgvText(line, `${file}.args`);
  const caps = capsFor(version, domain.os.arch ?? 'x86_64');
  // NB: libvirt resolves <os firmware> as the guest starts: the command line has the firmware it picked
  const before = resolveFirmware(applyDefaults(domain, { virtioTransitional: has(caps, 'virtio-transitional') }), { caps, firmware: DEBIAN_OVMF, nvramDir: DEFAULT_CONF.nvramDir });
  const gotRaw = copy(domainToElement(back.domain));
  const want = canon(before, gotRaw, version);
  const got = canon(back.domain, copy(domainToElement(before)), version);
  const wantBoot = bootMap(before);
  return {
    line,
    want: writeXml(want),
    got: writeXml(got),
    wantBoot,
    // NB: boot devices that match nothing give no bootindex at all, which from-native reads as
    // libvirt's default <boot dev='hd'/>
    gotBoot: wantBoot.length ? bootMap(back.domain) : [],
    warnings: back.diagnostics.items.map((d) => d.message),
  };
}
