// Device addresses: <address type='pci'|'drive'|'usb'|…> in XML, bus=/addr=/unit= on -device.
import type { Address, Domain, VirtioDriverOpts, VirtioModel, VirtioOptions } from '../ir/domain.js';
import { has, type Caps } from '../qemu/caps.js';
import { propBool, propNum, propStr, type Props } from '../qemu/props.js';
import { fail, type Span } from '../errors.js';
import { el, type XmlElement } from '../xml/tree.js';
import { boolAttr, intAttr } from '../xml/values.js';

export function readAddressXml(e: XmlElement): Address {
  const n = (k: string) => intAttr(e, k) ?? 0;
  switch (e.attrs.type) {
    case 'pci': {
      const mf = boolAttr(e, 'multifunction');
      return { type: 'pci', domain: n('domain'), bus: n('bus'), slot: n('slot'), function: n('function'), ...(mf !== undefined ? { multifunction: mf } : {}) };
    }
    case 'drive': {
      // NB: every controller index below a disk's gets an implicit controller (as in libvirt), so
      // the index is bounded like a PCI controller's (0-255) rather than left to run away.
      const controller = n('controller');
      if (controller < 0 || controller > 255) fail('XmlBadValue', { what: 'drive address controller', value: String(controller), expected: 'an index from 0 to 255' }, e.span);
      return { type: 'drive', controller, bus: n('bus'), target: n('target'), unit: n('unit') };
    }
    case 'usb':
      return { type: 'usb', bus: n('bus'), ...(e.attrs.port !== undefined ? { port: e.attrs.port } : {}) };
    case 'virtio-serial':
      return { type: 'virtio-serial', controller: n('controller'), bus: n('bus'), ...(e.attrs.port !== undefined ? { port: n('port') } : {}) };
    case 'ccid':
      return { type: 'ccid', controller: n('controller'), slot: n('slot') };
    case 'isa':
      return { type: 'isa', ...(e.attrs.iobase !== undefined ? { iobase: n('iobase') } : {}), ...(e.attrs.irq !== undefined ? { irq: n('irq') } : {}) };
    case 'dimm':
      return { type: 'dimm', ...(e.attrs.slot !== undefined ? { slot: n('slot') } : {}), ...(e.attrs.base !== undefined ? { base: n('base') } : {}) };
    default:
      return { type: 'other', attrs: e.attrs };
  }
}

const hex = (v: number, width: number) => `0x${v.toString(16).padStart(width, '0')}`;

export function writeAddressXml(a: Address | undefined): XmlElement | undefined {
  if (!a) return undefined;
  switch (a.type) {
    case 'pci':
      return el('address', {
        type: 'pci', domain: hex(a.domain, 4), bus: hex(a.bus, 2), slot: hex(a.slot, 2), function: hex(a.function, 1),
        multifunction: a.multifunction === undefined ? undefined : a.multifunction ? 'on' : 'off',
      });
    case 'drive':
      return el('address', { type: 'drive', controller: a.controller, bus: a.bus, target: a.target, unit: a.unit });
    case 'usb':
      return el('address', { type: 'usb', bus: a.bus, port: a.port });
    case 'virtio-serial':
      return el('address', { type: 'virtio-serial', controller: a.controller, bus: a.bus, port: a.port });
    case 'ccid':
      return el('address', { type: 'ccid', controller: a.controller, slot: a.slot });
    case 'isa':
      return el('address', { type: 'isa', iobase: a.iobase === undefined ? undefined : hex(a.iobase, 0), irq: a.irq === undefined ? undefined : hex(a.irq, 0) });
    case 'dimm':
      return el('address', { type: 'dimm', slot: a.slot, base: a.base === undefined ? undefined : hex(a.base, 0) });
    case 'other':
      return el('address', a.attrs);
  }
}

/** The highest drive controller index accepted (libvirt numbers them; QEMU has no use for more). */
export const MAX_DRIVE_CONTROLLER = 255;

/**
 * A drive address's controller index, checked: implicit controllers are added up to the highest
 * one used, so the bound keeps a hostile index from looping.
 */
export function driveController(controller: number, what: string, span?: Span): number {
  if (!(controller >= 0 && controller <= MAX_DRIVE_CONTROLLER)) return fail('AddressOutOfRange', { what, value: controller, limit: MAX_DRIVE_CONTROLLER }, span);
  return controller;
}

/** QEMU's addr= for a PCI address: "0x2", or "0x1.0x2" when the function is not 0. */
export function pciAddrText(a: { slot: number; function: number }): string {
  return a.function ? `${hex(a.slot, 0)}.${hex(a.function, 0)}` : hex(a.slot, 0);
}

/** Reads QEMU's addr= ("0x1.0x2", "2", "02.1") back into slot/function. */
export function parsePciAddr(text: string): { slot: number; function: number } | undefined {
  const m = /^(?:0x)?([0-9a-f]+)(?:\.(?:0x)?([0-7]))?$/i.exec(text.trim());
  if (!m) return undefined;
  return { slot: parseInt(m[1]!, 16), function: m[2] ? parseInt(m[2], 16) : 0 };
}

/**
 * bus=pci.N,addr=S[.F] of a -device as a PCI address (undefined without an addr); with
 * `multifunction`, the device's multifunction=on|off is kept on the address.
 */
export function pciAddressFromProps(p: Props, opts: { readonly multifunction?: boolean } = {}): Address | undefined {
  const addr = parsePciAddr(propStr(p, 'addr') ?? '');
  if (!addr) return undefined;
  const bus = /^pci\.(\d+)$/.exec(propStr(p, 'bus') ?? '');
  const multifunction = opts.multifunction ? propBool(p, 'multifunction') : undefined;
  return { type: 'pci', domain: 0, bus: bus ? Number(bus[1]) : 0, slot: addr.slot, function: addr.function, ...(multifunction !== undefined ? { multifunction } : {}) };
}

/** The name of PCI bus N as QEMU/libvirt call it on x86 (pci.0 is the root bus). */
export function pciBusName(bus: number): string {
  return `pci.${bus}`;
}

/** The id of PCI bus N: its controller's alias (pcie.0 for q35's root, pci.0 for pc's, pci.N). */
export function pciBusAlias(dom: Domain, bus: number): string {
  const c = dom.devices.controllers.find((x) => x.type === 'pci' && x.index === bus);
  // NB: the root bus is QEMU's own; a user alias on its controller does not rename it
  if (c?.alias && c.model !== 'pci-root' && c.model !== 'pcie-root') return c.alias;
  return c?.model === 'pcie-root' ? 'pcie.0' : pciBusName(bus);
}

/** -device bus=, multifunction=, addr= for a device with a PCI address (in libvirt's order). */
export function pciPlacement(dom: Domain, a: Address | undefined): { bus?: string; multifunction?: boolean; addr?: string } {
  if (a?.type !== 'pci') return {};
  return { bus: pciBusAlias(dom, a.bus), ...(a.multifunction !== undefined ? { multifunction: a.multifunction } : {}), addr: pciAddrText(a) };
}

/** <acpi index> of a device element, as a field of its IR. */
export function readAcpiIndexXml(e: XmlElement): { acpiIndex?: number } {
  const acpi = e.children.find((c) => c.name === 'acpi');
  const index = acpi ? intAttr(acpi, 'index') : undefined;
  return index !== undefined ? { acpiIndex: index } : {};
}

export function writeAcpiXml(acpiIndex: number | undefined): XmlElement | undefined {
  return acpiIndex === undefined ? undefined : el('acpi', { index: acpiIndex });
}

/**
 * pciPlacement plus acpi-index, which libvirt prints with the PCI address (qemuBuildDeviceAddressProps)
 * and only there: a device off PCI has no ACPI index.
 */
export function pciPlacementWithAcpi(dom: Domain, d: { readonly address?: Address; readonly acpiIndex?: number }): ReturnType<typeof pciPlacement> & { 'acpi-index'?: number } {
  const p = pciPlacement(dom, d.address);
  return p.addr !== undefined && d.acpiIndex !== undefined ? { ...p, 'acpi-index': d.acpiIndex } : p;
}

/** acpi-index= of a -device, as the IR field. */
export function acpiIndexFromProps(p: Props): { acpiIndex?: number } {
  const n = propNum(p, 'acpi-index');
  return n !== undefined ? { acpiIndex: n } : {};
}

/** The virtio transport options of a <driver> (iommu= ats= packed= page_per_vq=), only those set. */
export function readVirtioOptionsXml(e: XmlElement | undefined): VirtioOptions {
  if (!e) return {};
  const b = (k: string) => (e.attrs[k] !== undefined ? e.attrs[k] === 'on' : undefined);
  const o: Record<string, boolean | undefined> = { iommu: b('iommu'), ats: b('ats'), packed: b('packed'), pagePerVq: b('page_per_vq') };
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/** <driver> attributes of the virtio transport options, in libvirt's order (virDomainVirtioOptionsFormat). */
export function virtioOptionsAttrs(o: VirtioOptions | undefined): Record<string, string | undefined> {
  const oo = (v: boolean | undefined) => (v === undefined ? undefined : v ? 'on' : 'off');
  return { iommu: oo(o?.iommu), ats: oo(o?.ats), packed: oo(o?.packed), page_per_vq: oo(o?.pagePerVq) };
}

/** <driver queues= cmd_per_lun= max_sectors= ioeventfd= iothread= iommu= ats= packed= page_per_vq=> of a virtio device. */
export function readVirtioDriverXml(e: XmlElement | undefined): { driver?: VirtioDriverOpts } {
  if (!e) return {};
  const n = (k: string) => (e.attrs[k] !== undefined ? intAttr(e, k) : undefined);
  const b = (k: string) => (e.attrs[k] !== undefined ? e.attrs[k] === 'on' : undefined);
  const d: Record<string, number | boolean | undefined> = {
    queues: n('queues'), cmdPerLun: n('cmd_per_lun'), maxSectors: n('max_sectors'), ioeventfd: b('ioeventfd'),
    iothread: n('iothread'), ...readVirtioOptionsXml(e),
  };
  for (const k of Object.keys(d)) if (d[k] === undefined) delete d[k];
  return Object.keys(d).length ? { driver: d as VirtioDriverOpts } : {};
}

export function writeVirtioDriverXml(d: VirtioDriverOpts | undefined): XmlElement | undefined {
  if (!d) return undefined;
  const oo = (v: boolean | undefined) => (v === undefined ? undefined : v ? 'on' : 'off');
  return el('driver', {
    queues: d.queues, cmd_per_lun: d.cmdPerLun, max_sectors: d.maxSectors, ioeventfd: oo(d.ioeventfd),
    iothread: d.iothread, ...virtioOptionsAttrs(d),
  });
}

/** The -device properties of the virtio transport options (iommu_platform, ats, packed, page-per-vq). */
export function virtioTransportProps(d: VirtioOptions | undefined): Record<string, boolean | undefined> {
  return { iommu_platform: d?.iommu, ats: d?.ats, packed: d?.packed, 'page-per-vq': d?.pagePerVq };
}

/**
 * The -device driver of a virtio PCI device of this <model> (qemuBuildVirtioDevGetConfig):
 * BASE-transitional / BASE-non-transitional where QEMU has them (4.0+); before that, the plain
 * device told which interfaces to offer with disable-legacy/disable-modern.
 */
export function virtioModelProps(ctx: { readonly caps: Caps }, base: string, model: VirtioModel | undefined): Record<string, string | boolean | undefined> {
  if (model === undefined || model === 'virtio') return { driver: base };
  if (has(ctx.caps, 'virtio-transitional')) return { driver: `${base}-${model.slice('virtio-'.length)}` };
  return { driver: base, 'disable-legacy': model === 'virtio-transitional' ? 'off' : 'on', 'disable-modern': false };
}

/**
 * The <model> a virtio -device says: its driver name (BASE, BASE-transitional,
 * BASE-non-transitional), or before QEMU 4.0 the plain device's disable-legacy with disable-modern=off.
 */
export function virtioModelOf(driver: string, p?: Props): { model?: VirtioModel } {
  if (driver.endsWith('-non-transitional')) return { model: 'virtio-non-transitional' };
  if (driver.endsWith('-transitional')) return { model: 'virtio-transitional' };
  const legacy = p && propBool(p, 'disable-modern') === false ? propBool(p, 'disable-legacy') : undefined;
  if (legacy !== undefined) return { model: legacy ? 'virtio-non-transitional' : 'virtio-transitional' };
  return {};
}

/** Reads the virtio transport options back from -device properties. */
export function virtioOptionsFromProps(p: Props): VirtioOptions {
  const o: Record<string, boolean | undefined> = { iommu: propBool(p, 'iommu_platform'), ats: propBool(p, 'ats'), packed: propBool(p, 'packed'), pagePerVq: propBool(p, 'page-per-vq') };
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}
