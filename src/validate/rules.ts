// Semantic checks of domain XML beyond the schema: the consistency rules libvirt enforces when it defines or starts a domain.
import { existsSync } from 'node:fs';
import type { ValidationSeverity } from './diagnostic.js';
import { attr, child, children, type XmlElement } from '../xml/tree.js';
import { Diagnostics, DomxmlError, type Span } from '../errors.js';
import type { Domain } from '../ir/domain.js';
import { checkFirmwareConfig } from '../families/firmware.js';
import { checkNumaConfig } from '../families/memory.js';
import { checkShmemConfig } from '../families/shmem.js';
import { domainFromElement } from '../ir/from-xml.js';

export interface RuleDoc {
  readonly severity: ValidationSeverity;
  /** One line for the documentation: what the rule checks and why. */
  readonly doc: string;
}

/** Every diagnostic code `domxml validate` reports, with its default severity and documentation. */
export const RULE_DOCS: Readonly<Record<string, RuleDoc>> = {
  XmlSyntax: { severity: 'error', doc: 'The file is not well-formed XML.' },
  UnknownElement: { severity: 'error', doc: 'An element the schema does not know in that parent (a typo: see the suggestion).' },
  MisplacedElement: { severity: 'error', doc: 'A known element in a parent that does not take it (the message says where it belongs).' },
  UnknownAttribute: { severity: 'error', doc: 'An attribute the element does not have in any variant.' },
  UnexpectedText: { severity: 'error', doc: 'Text inside an element that only takes child elements or nothing.' },
  BadValue: { severity: 'error', doc: 'A value outside the enumeration the schema allows there.' },
  BadFormat: { severity: 'error', doc: 'A value of the wrong form: a number out of range, a malformed UUID, MAC, PCI address part, unit…' },
  MissingAttribute: { severity: 'error', doc: 'A required attribute is absent.' },
  MissingElement: { severity: 'error', doc: 'A required child element is absent.' },
  MissingText: { severity: 'error', doc: 'An element that needs a value is empty.' },
  TooMany: { severity: 'error', doc: 'An element appears more often than its parent allows.' },
  TooFew: { severity: 'error', doc: 'An element appears less often than its parent needs.' },
  NotAllowedHere: { severity: 'error', doc: 'A name that exists, but not in the variant the rest of the element selects (e.g. source dev= on a file disk).' },
  Conflict: { severity: 'error', doc: 'Parts of two mutually exclusive variants in one element.' },
  DuplicateDiskTarget: { severity: 'error', doc: 'Two disks with the same <target dev>: libvirt refuses the second ("target X already exists").' },
  BootOrderWithOsBoot: { severity: 'error', doc: '<os><boot dev> and per-device <boot order> cannot be combined (libvirt: "per-device boot elements cannot be used together with os/boot elements").' },
  DuplicateBootOrder: { severity: 'error', doc: 'Two devices with the same <boot order>.' },
  DuplicatePciAddress: { severity: 'error', doc: 'Two devices at the same PCI domain:bus:slot.function.' },
  DuplicateDriveAddress: { severity: 'error', doc: 'Two disks at the same drive controller:bus:target:unit on one bus type.' },
  CurrentMemoryAboveMemory: { severity: 'warning', doc: '<currentMemory> exceeds <memory>: libvirt lowers it to <memory>.' },
  VcpuCurrentAboveCount: { severity: 'error', doc: "<vcpu current='N'> exceeds the vcpu count (libvirt: maxvcpus must not be less than current vcpus)." },
  DiskBusInvalid: { severity: 'error', doc: 'A disk bus or source the device kind cannot use: floppies only on fdc, fdc only for floppies, lun only on virtio or scsi with a block source, cdrom not on virtio.' },
  GraphicsListenMismatch: { severity: 'error', doc: "<graphics listen='A'> differs from its first <listen address>: libvirt refuses it." },
  DuplicateGraphics: { severity: 'error', doc: 'Two graphics devices of one type (QEMU supports one each of vnc, spice, sdl, dbus, egl-headless).' },
  DuplicateAlias: { severity: 'error', doc: 'Two devices with the same <alias name>: aliases must be unique.' },
  DuplicateMac: { severity: 'warning', doc: 'Two interfaces with the same MAC address: guests on one network would clash.' },
  NumaInvalid: { severity: 'error', doc: "Guest NUMA settings libvirt refuses: cells not numbered 0…N-1, distances out of range, cache levels other than 1-3 or repeated, HMAT interconnects naming missing nodes or caches, from nodes without CPUs, or given twice; <numatune><memory> without nodeset when not placed automatically; <memnode> with automatic placement." },
  NumaCacheUnitIgnored: { severity: 'warning', doc: "A unit on a NUMA cell's <cache><size> or <line> other than KiB / B: libvirt 9.0 ignores it (it reads ./size/unit, not @unit) and takes the value in KiB / bytes." },
  ShmemInvalid: { severity: 'error', doc: "<shmem> settings libvirt refuses: a size under 1 MiB or not a power of two, <msi> without a <server>, ivshmem-doorbell without a server or with a <size>, ivshmem-plain with a server, a name with '/' (or '.', '..'), a non-PCI address." },
  FirmwareConflict: { severity: 'error', doc: "<os> firmware settings libvirt refuses: a loader path, type or readonly with firmware autoselection, enrolled keys without secure boot, UEFI without ACPI, secure boot off q35 or without SMM, NVRAM with a stateless loader." },
  KvmUnavailable: { severity: 'error', doc: "type='kvm' but this host has no /dev/kvm (checked only with --host)." },
};

export interface RuleOptions {
  /** Check against this host (e.g. /dev/kvm). */
  readonly host?: boolean;
  /** For tests: whether /dev/kvm exists (default: look). */
  readonly kvmAvailable?: boolean;
}

type Report = (code: keyof typeof RULE_DOCS, message: string, element: XmlElement, attribute?: string) => void;

/** Element paths (/domain/devices/disk[2]) for every element of the tree. */
export function elementPaths(root: XmlElement): Map<XmlElement, string> {
  const out = new Map<XmlElement, string>();
  const walk = (e: XmlElement, path: string): void => {
    out.set(e, path);
    const counts = new Map<string, number>();
    for (const c of e.children) counts.set(c.name, (counts.get(c.name) ?? 0) + 1);
    const seen = new Map<string, number>();
    for (const c of e.children) {
      const n = (seen.get(c.name) ?? 0) + 1;
      seen.set(c.name, n);
      walk(c, `${path}/${c.name}${counts.get(c.name)! > 1 ? `[${n}]` : ''}`);
    }
  };
  walk(root, `/${root.name}`);
  return out;
}

export function semanticCheck(root: XmlElement, report: Report, options: RuleOptions = {}): void {
  if (root.name !== 'domain') return;
  const devices = child(root, 'devices');
  const devs = devices ? devices.children : [];
  checkDiskTargets(devs, report);
  checkBootOrder(root, devs, report);
  checkPciAddresses(devs, report);
  checkDriveAddresses(devs, report);
  checkMemory(root, report);
  checkVcpu(root, report);
  checkDiskBus(devs, report);
  checkGraphics(devs, report);
  checkAliasesAndMacs(devs, report);
  checkFirmware(root, report);
  checkNuma(root, report);
  checkShmems(root, devs, report);
  if (options.host && root.attrs.type === 'kvm' && !(options.kvmAvailable ?? existsSync('/dev/kvm'))) {
    report('KvmUnavailable', "type='kvm' needs /dev/kvm, which this host does not have (use type='qemu' for emulation)", root, 'type');
  }
}

/** The firmware rules are the compiler's own (src/families/firmware.ts), run on the domain as read. */
function checkFirmware(root: XmlElement, report: Report): void {
  const os = child(root, 'os');
  if (os) compilerRule(root, 'FirmwareConflict', checkFirmwareConfig, report, () => os);
}

/**
 * Runs one of the compiler's own checks on the domain as read and reports the error it raises
 * (code) at the element locate() picks from the error's span.
 */
function compilerRule(root: XmlElement, code: 'FirmwareConflict' | 'NumaInvalid' | 'ShmemInvalid', check: (dom: Domain) => void, report: Report, locate: (span: Span | undefined) => XmlElement): void {
  let dom;
  try {
    dom = domainFromElement(root, new Diagnostics());
  } catch {
    return; // what keeps the domain from being read is the schema check's to report
  }
  try {
    check(dom);
  } catch (err) {
    if (!(err instanceof DomxmlError) || err.diagnostic.code !== code) throw err;
    report(code, err.diagnostic.message, locate(err.diagnostic.span));
  }
}

/** The NUMA rules are the compiler's own (src/families/memory.ts), run on the domain as read. */
function checkNuma(root: XmlElement, report: Report): void {
  const cpu = child(root, 'cpu');
  const numa = cpu && child(cpu, 'numa');
  for (const cache of numa ? children(numa, 'cell').flatMap((c) => children(c, 'cache')) : []) {
    for (const [name, unit] of [['size', 'kib'], ['line', 'b']] as const) {
      const e = child(cache, name);
      const written = attr(e, 'unit');
      if (e && written !== undefined && written.toLowerCase() !== unit) {
        report('NumaCacheUnitIgnored', `libvirt 9.0 ignores unit='${written}' here: value='${attr(e, 'value') ?? ''}' is read as ${name === 'size' ? 'KiB' : 'bytes'}`, e, 'unit');
      }
    }
  }
  const at = numa ?? child(root, 'numatune');
  if (!at) return;
  // the element the rule names (a <latency>, a <cache>, <numatune>), else <numa>
  compilerRule(root, 'NumaInvalid', checkNumaConfig, report, (span) => (span && [...elementPaths(root).keys()].find((e) => e.span?.line === span.line && e.span?.column === span.column)) || at);
}

/** The shared memory rules are the compiler's own (src/families/shmem.ts), run on the domain as read. */
function checkShmems(root: XmlElement, devs: readonly XmlElement[], report: Report): void {
  const shmems = devs.filter((d) => d.name === 'shmem');
  if (!shmems.length) return;
  compilerRule(root, 'ShmemInvalid', checkShmemConfig, report, (span) => shmems.find((e) => e.span?.line === span?.line && e.span?.column === span?.column) ?? shmems[0]!);
}

function checkDiskTargets(devs: readonly XmlElement[], report: Report): void {
  const seen = new Map<string, XmlElement>();
  for (const d of devs) {
    if (d.name !== 'disk') continue;
    const t = child(d, 'target');
    const dev = attr(t, 'dev');
    if (!t || !dev) continue;
    const first = seen.get(dev);
    if (first) report('DuplicateDiskTarget', `disk target '${dev}' is already used by the disk at line ${first.span?.line ?? '?'}`, t, 'dev');
    else seen.set(dev, t);
  }
}

/** Every <boot order> under a device (disks, interfaces, hostdevs, redirdevs…), in document order. */
function bootOrders(devs: readonly XmlElement[]): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement): void => {
    for (const c of e.children) {
      if (c.name === 'boot' && c.attrs.order !== undefined) out.push(c);
      else walk(c);
    }
  };
  devs.forEach(walk);
  return out;
}

function checkBootOrder(root: XmlElement, devs: readonly XmlElement[], report: Report): void {
  const orders = bootOrders(devs);
  const os = child(root, 'os');
  const osBoot = os ? children(os, 'boot') : [];
  if (orders.length && osBoot.length) {
    report('BootOrderWithOsBoot', `per-device <boot order> (line ${orders[0]!.span?.line ?? '?'}) cannot be used together with <os><boot dev>`, osBoot[0]!, 'dev');
  }
  const seen = new Map<string, XmlElement>();
  for (const b of orders) {
    const n = b.attrs.order!;
    const first = seen.get(n);
    if (first) report('DuplicateBootOrder', `boot order ${n} is already used by the device at line ${first.span?.line ?? '?'}`, b, 'order');
    else seen.set(n, b);
  }
}

function num(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = /^0x/i.test(v) ? parseInt(v, 16) : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function checkPciAddresses(devs: readonly XmlElement[], report: Report): void {
  const pci = new Map<string, XmlElement>();
  // NB: only a device's own <address>; hostdev <source><address> names a host device, not a guest
  // slot, and a <console> that mirrors a serial port repeats that port's address
  for (const a of devs.filter((d) => d.name !== 'console').flatMap((d) => children(d, 'address'))) {
    if (a.attrs.type === 'pci') {
      const parts = ['domain', 'bus', 'slot', 'function'].map((k) => num(a.attrs[k]) ?? 0);
      if (a.attrs.slot === undefined) continue;
      const key = `${parts[0]!.toString(16).padStart(4, '0')}:${parts[1]!.toString(16).padStart(2, '0')}:${parts[2]!.toString(16).padStart(2, '0')}.${parts[3]}`;
      const first = pci.get(key);
      if (first) report('DuplicatePciAddress', `PCI address ${key} is already used by the device at line ${first.span?.line ?? '?'}`, a, 'slot');
      else pci.set(key, a);
    }
  }
}

function checkDriveAddresses(devs: readonly XmlElement[], report: Report): void {
  const seen = new Map<string, XmlElement>();
  for (const d of devs) {
    if (d.name !== 'disk' && d.name !== 'hostdev' && d.name !== 'controller') continue;
    const a = child(d, 'address');
    if (!a || a.attrs.type !== 'drive') continue;
    const bus = d.name === 'disk' ? attr(child(d, 'target'), 'bus') ?? '' : 'scsi';
    const parts = ['controller', 'bus', 'target', 'unit'].map((k) => num(a.attrs[k]) ?? 0);
    const key = `${bus} ${parts.join(':')}`;
    const first = seen.get(key);
    if (first) report('DuplicateDriveAddress', `drive address ${parts.join(':')} on the ${bus || 'default'} bus is already used by the device at line ${first.span?.line ?? '?'}`, a, 'unit');
    else seen.set(key, a);
  }
}

const UNIT: Record<string, number> = {
  b: 1, bytes: 1,
  kb: 1e3, k: 1024, kib: 1024,
  mb: 1e6, m: 1024 ** 2, mib: 1024 ** 2,
  gb: 1e9, g: 1024 ** 3, gib: 1024 ** 3,
  tb: 1e12, t: 1024 ** 4, tib: 1024 ** 4,
  pb: 1e15, p: 1024 ** 5, pib: 1024 ** 5,
  eb: 1e18, e: 1024 ** 6, eib: 1024 ** 6,
};

/** A scaled size in bytes; libvirt's default unit for memory is KiB. */
function bytes(e: XmlElement | undefined): number | undefined {
  if (!e) return undefined;
  const n = Number(e.text.trim());
  const unit = UNIT[(e.attrs.unit ?? 'KiB').toLowerCase()];
  return Number.isFinite(n) && unit !== undefined ? n * unit : undefined;
}

function checkMemory(root: XmlElement, report: Report): void {
  const mem = child(root, 'memory');
  const cur = child(root, 'currentMemory');
  const m = bytes(mem);
  const c = bytes(cur);
  if (cur && m !== undefined && c !== undefined && c > m) {
    report('CurrentMemoryAboveMemory', `<currentMemory> (${cur.text.trim()} ${cur.attrs.unit ?? 'KiB'}) exceeds <memory> (${mem!.text.trim()} ${mem!.attrs.unit ?? 'KiB'}); libvirt will lower it`, cur);
  }
}

function checkVcpu(root: XmlElement, report: Report): void {
  const v = child(root, 'vcpu');
  if (!v || v.attrs.current === undefined) return;
  const count = Number(v.text.trim() || '1');
  const current = Number(v.attrs.current);
  if (Number.isFinite(count) && Number.isFinite(current) && current > count) {
    report('VcpuCurrentAboveCount', `vcpu current=${current} exceeds the vcpu count ${count}`, v, 'current');
  }
}

function checkDiskBus(devs: readonly XmlElement[], report: Report): void {
  for (const d of devs) {
    if (d.name !== 'disk') continue;
    const t = child(d, 'target');
    const bus = attr(t, 'bus');
    if (!t || !bus) continue;
    const device = d.attrs.device ?? 'disk';
    let problem: string | undefined;
    if (device === 'floppy' && bus !== 'fdc') problem = `a floppy disk must use bus 'fdc', not '${bus}'`;
    else if (device !== 'floppy' && bus === 'fdc') problem = `bus 'fdc' is only for floppy disks, not device '${device}'`;
    else if (device === 'lun' && bus !== 'virtio' && bus !== 'scsi') problem = `disk device 'lun' needs bus 'virtio' or 'scsi', not '${bus}'`;
    else if (device === 'lun' && d.attrs.type !== 'block' && d.attrs.type !== 'network') problem = "disk device 'lun' is only valid for a block (or network iSCSI) source";
    else if (device === 'cdrom' && bus === 'virtio') problem = "a cdrom cannot use bus 'virtio': virtio-blk does not support ejectable media";
    if (problem) report('DiskBusInvalid', problem, t, 'bus');
  }
}

function checkGraphics(devs: readonly XmlElement[], report: Report): void {
  const byType = new Map<string, XmlElement>();
  for (const g of devs) {
    if (g.name !== 'graphics') continue;
    const type = g.attrs.type ?? '';
    const first = byType.get(type);
    if (first) report('DuplicateGraphics', `a second '${type}' graphics device (the first is at line ${first.span?.line ?? '?'})`, g, 'type');
    else byType.set(type, g);
    const listen = g.attrs.listen;
    const firstListen = children(g, 'listen')[0];
    if (listen !== undefined && firstListen && firstListen.attrs.type === 'address' && firstListen.attrs.address !== undefined && firstListen.attrs.address !== listen) {
      report('GraphicsListenMismatch', `graphics listen='${listen}' does not match the first <listen address='${firstListen.attrs.address}'>`, g, 'listen');
    }
  }
}

function checkAliasesAndMacs(devs: readonly XmlElement[], report: Report): void {
  const aliases = new Map<string, XmlElement>();
  const macs = new Map<string, XmlElement>();
  for (const d of devs) {
    const alias = child(d, 'alias');
    const name = attr(alias, 'name');
    if (alias && name !== undefined) {
      const first = aliases.get(name);
      if (first) report('DuplicateAlias', `alias '${name}' is already used at line ${first.span?.line ?? '?'}`, alias, 'name');
      else aliases.set(name, alias);
    }
    if (d.name === 'interface') {
      const mac = child(d, 'mac');
      const addr = attr(mac, 'address')?.toLowerCase();
      if (mac && addr) {
        const first = macs.get(addr);
        if (first) report('DuplicateMac', `MAC address ${addr} is already used by the interface at line ${first.span?.line ?? '?'}`, mac, 'address');
        else macs.set(addr, mac);
      }
    }
  }
}
