// <input>: mouse/keyboard/tablet on ps2/usb/virtio, virtio passthrough and evdev. argv: -device
// usb-tablet/usb-mouse/usb-kbd, virtio-*-pci, virtio-input-host-pci, -object input-linux; legacy
// -usbdevice tablet|mouse|keyboard. ps2 devices are built into x86 machines.
import type { ArgvReader } from '../ir/argv-reader.js';
import { optProps, optText } from '../ir/argv-reader.js';
import type { Address, Controller, Domain, Input } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import { propBool, propStr, props, type PropValue } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { fail } from '../errors.js';
import { child, el, type XmlElement } from '../xml/tree.js';
import { checkEnum, enumAttr, reqAttr } from '../xml/values.js';
import { acpiIndexFromProps, pciAddressFromProps, pciPlacementWithAcpi, readAcpiIndexXml, readAddressXml, virtioOptionsFromProps, writeAcpiXml, writeAddressXml, writeVirtioDriverXml } from './address.js';
import { usbAddressFromProps } from './usb-address.js';
import { controllerAlias } from './controller.js';
import { defaultUsbModel } from '../ir/pci-addresses.js';

const TYPES = ['mouse', 'keyboard', 'tablet', 'passthrough', 'evdev'] as const;
const BUSES = ['ps2', 'usb', 'virtio', 'xen', 'none'] as const;
const MODELS = ['virtio', 'virtio-transitional', 'virtio-non-transitional'] as const;
const KNOWN = new Set(['address', 'alias', 'acpi', 'source']);

export function readInputXml(e: XmlElement): Input {
  const type = checkEnum(e, 'input type', reqAttr(e, 'type'), TYPES);
  const address = child(e, 'address');
  const alias = child(e, 'alias');
  const src = child(e, 'source');
  const model = enumAttr(e, 'model', MODELS);
  // NB: libvirt's default bus: tablets on usb, passthrough on virtio, evdev has none, the rest ps2
  const bus = enumAttr(e, 'bus', BUSES) ?? (type === 'tablet' ? 'usb' : type === 'passthrough' ? 'virtio' : type === 'evdev' ? undefined : 'ps2');
  const source = src && {
    ...(src.attrs.evdev !== undefined ? { evdev: src.attrs.evdev } : {}),
    ...(src.attrs.dev !== undefined ? { dev: src.attrs.dev } : {}),
    ...(src.attrs.grab === 'all' ? { grab: 'all' as const } : {}),
    ...(src.attrs.repeat !== undefined ? { repeat: src.attrs.repeat === 'on' } : {}),
    ...(src.attrs.grabToggle !== undefined ? { grabToggle: src.attrs.grabToggle } : {}),
  };
  return {
    type,
    ...(bus ? { bus } : {}),
    ...(model ? { model } : {}),
    ...(source ? { source } : {}),
    ...(alias?.attrs.name ? { alias: alias.attrs.name } : {}),
    ...readAcpiIndexXml(e),
    ...(address ? { address: readAddressXml(address) } : {}),
    extra: e.children.filter((c) => !KNOWN.has(c.name)),
    $span: e.span,
  };
}

export function writeInputXml(i: Input): XmlElement {
  const s = i.source;
  return el(
    'input',
    { type: i.type, bus: i.bus, model: i.model },
    i.extra,
    s && el('source', { evdev: s.evdev, dev: s.dev, grab: s.grab, grabToggle: s.grabToggle, repeat: s.repeat === undefined ? undefined : s.repeat ? 'on' : 'off' }),
    i.alias !== undefined && el('alias', { name: i.alias }),
    writeAcpiXml(i.acpiIndex),
    writeAddressXml(i.address),
  );
}

// --- USB ports --------------------------------------------------------------------------------

/** Ports on the root hub of each USB controller model (virDomainUSBAddressControllerModelToPorts). */
const ROOT_PORTS: Record<string, number> = {
  'piix3-uhci': 2, 'piix4-uhci': 2, 'vt82c686b-uhci': 2, 'ich9-uhci1': 2, 'ich9-uhci2': 2, 'ich9-uhci3': 2,
  ehci: 6, 'ich9-ehci1': 6, 'pci-ohci': 3, 'nec-xhci': 4, 'qemu-xhci': 4,
};
const MAX_XHCI_PORTS = 15;
/** NB: only the xhci models take <controller ports=…>; the others have fixed root hubs. */
const SIZED = new Set(['nec-xhci', 'qemu-xhci']);
const HUB_PORTS = 8;

interface UsbDevice {
  readonly dev: object;
  readonly address?: Address;
  /** a usb-hub: takes a port and gives HUB_PORTS more */
  readonly hub?: { readonly alias?: string };
}

/**
 * The USB devices of a domain in the order libvirt gives them ports (virDomainUSBDeviceDefForeach:
 * hubs, host devices, disks, ccid controllers, inputs, usb-serial ports, sound cards, redirected
 * devices), each with the address the XML gave it, if any.
 */
function usbDevices(dom: Domain): UsbDevice[] {
  const d = dom.devices;
  const withAddr = <T extends { address?: Address }>(x: T): UsbDevice => ({ dev: x, ...(x.address ? { address: x.address } : {}) });
  return [
    ...d.hubs.map((h) => ({ ...withAddr(h), hub: h.alias !== undefined ? { alias: h.alias } : {} })),
    ...d.hostdevs.filter((h) => h.source.type === 'usb').map(withAddr),
    ...d.disks.filter((x) => x.target.bus === 'usb').map(withAddr),
    ...d.controllers.filter((c) => c.type === 'ccid').map(withAddr),
    ...d.inputs.filter((i) => i.bus === 'usb').map(withAddr),
    ...d.serials.filter((s) => s.targetType === 'usb-serial').map(withAddr),
    ...d.sounds.filter((s) => s.model === 'usb').map(withAddr),
    ...d.redirdevs.map(withAddr),
  ];
}

/** A hub's ports: undefined = free, null = a device, a nested Hub = a usb-hub. */
interface Hub {
  readonly ports: Array<Hub | null | undefined>;
}

export interface UsbPlan {
  /** usb-hub devices to create (the XML's, then the ones libvirt adds), with their ports ("1", "1.2") */
  readonly hubs: readonly { readonly id: string; readonly bus: number; readonly port: string }[];
  readonly ports: ReadonlyMap<object, { readonly bus: number; readonly port: string }>;
}

const usbPlans = new WeakMap<Domain, UsbPlan>();

/**
 * libvirt's USB port assignment (qemuDomainAssignUSBAddresses): explicit addresses are kept; when
 * the devices outnumber the ports of the controllers and hubs, usb-hubs are added
 * (qemuDomainUSBAddressAddHubs); then, in device order (hubs first), each device takes the first
 * free port of the first USB bus with one: a root hub's own ports, then its hubs' in port order.
 */
export function usbPlan(dom: Domain): UsbPlan {
  const cached = usbPlans.get(dom);
  if (cached) return cached;
  const q35 = /^(q35|pc-q35)/.test(dom.os.machine ?? '');
  // NB: companion controllers (<master startport>) share their master's ports
  const ctls = dom.devices.controllers.filter((c) => c.type === 'usb' && c.masterStartport === undefined && c.model !== 'none').sort((a, b) => a.index - b.index);
  const rootPorts = (c: Controller): number => {
    const model = c.model ?? defaultUsbModel(q35);
    if (!SIZED.has(model) || c.ports === undefined) return ROOT_PORTS[model] ?? 2;
    // NB: an xHCI root hub has at most 15 ports (QEMU's MAXPORTS): the bound also keeps a hostile count from sizing the table
    if (!(c.ports >= 1 && c.ports <= MAX_XHCI_PORTS)) return fail('AddressOutOfRange', { what: 'USB controller ports', value: c.ports, limit: MAX_XHCI_PORTS }, c.$span);
    return c.ports;
  };
  const roots = new Map<number, Hub>(ctls.map((c) => [c.index, { ports: new Array<Hub | null | undefined>(rootPorts(c)).fill(undefined) }]));
  const devices = usbDevices(dom);
  const ports = new Map<object, { bus: number; port: string }>();
  const hubs: Array<{ id: string; bus: number; port: string }> = [];
  const newHub = (): Hub => ({ ports: new Array<Hub | null | undefined>(HUB_PORTS).fill(undefined) });
  const mark = (bus: number, path: string, what: Hub | null) => {
    const nums = path.split('.').map(Number);
    let h: Hub | null | undefined = roots.get(bus);
    for (const n of nums.slice(0, -1)) h = h?.ports[n - 1];
    if (h && nums[nums.length - 1]! <= h.ports.length) h.ports[nums[nums.length - 1]! - 1] = what;
  };
  const free = (h: Hub, prefix: string): string | undefined => {
    const i = h.ports.findIndex((x) => x === undefined);
    if (i >= 0) return `${prefix}${i + 1}`;
    for (let j = 0; j < h.ports.length; j++) {
      const sub = h.ports[j];
      const found = sub ? free(sub, `${prefix}${j + 1}.`) : undefined;
      if (found) return found;
    }
    return undefined;
  };
  const all = [...devices];
  if (ctls.length) {
    const available = [...roots.values()].reduce((n, h) => n + h.ports.length, 0) + HUB_PORTS * dom.devices.hubs.length;
    if (devices.length > available) {
      const needed = Math.ceil((devices.length - available + 1) / (HUB_PORTS - 1));
      for (let i = 0; i < needed; i++) all.splice(dom.devices.hubs.length + i, 0, { dev: {}, hub: {} });
    }
  }
  let hubIndex = 0;
  const hubIds = new Map<object, string>();
  for (const x of all) if (x.hub) hubIds.set(x.dev, x.hub.alias ?? `hub${hubIndex++}`);
  for (const x of all) {
    if (x.address?.type === 'usb' && x.address.port) {
      ports.set(x.dev, { bus: x.address.bus, port: x.address.port });
      mark(x.address.bus, x.address.port, x.hub ? newHub() : null);
    }
  }
  for (const x of all) {
    if (!ports.has(x.dev)) {
      for (const [bus, root] of roots) {
        const port = free(root, '');
        if (!port) continue;
        mark(bus, port, x.hub ? newHub() : null);
        ports.set(x.dev, { bus, port });
        break;
      }
    }
    const at = ports.get(x.dev);
    if (x.hub && at) hubs.push({ id: hubIds.get(x.dev)!, ...at });
  }
  const plan = { hubs, ports };
  usbPlans.set(dom, plan);
  return plan;
}

/** The USB bus/port libvirt gives a device: its own <address type='usb'>, else the next free port. */
export function usbPortOf(dom: Domain, dev: object): { bus: number; port: string } | undefined {
  return usbPlan(dom).ports.get(dev);
}

/** The QEMU name of USB bus N: its controller's alias (usb, usb1, a user's ua-…) and ".0". */
export function usbBusName(dom: Domain, bus: number): string {
  const ctl = dom.devices.controllers.find((c) => c.type === 'usb' && c.index === bus && c.masterStartport === undefined);
  return `${ctl ? controllerAlias(ctl, dom) : `usb${bus || ''}`}.0`;
}

/** The usb-hub devices: the XML's and the ones libvirt adds when ports run short (right after the controllers). */
export function buildUsbHubs(ctx: EmitContext): void {
  if (!has(ctx.caps, 'device')) {
    for (const h of ctx.dom.devices.hubs) ctx.diag.warn('UnsupportedForTarget', { what: "<hub type='usb'>", target: 'QEMU without -device' }, h.$span);
    return;
  }
  for (const h of usbPlan(ctx.dom).hubs) ctx.out.object('-device', props({ driver: 'usb-hub', id: h.id, bus: usbBusName(ctx.dom, h.bus), port: h.port }));
}

// --- IR -> argv -------------------------------------------------------------------------------

const USB_DRIVER: Partial<Record<Input['type'], string>> = { mouse: 'usb-mouse', tablet: 'usb-tablet', keyboard: 'usb-kbd' };
const VIRTIO_DRIVER: Partial<Record<Input['type'], string>> = { mouse: 'virtio-mouse', tablet: 'virtio-tablet', keyboard: 'virtio-keyboard', passthrough: 'virtio-input-host' };

/** virtio-* options of <driver> (iommu, ats, packed, page_per_vq), as QEMU names them. */
function virtioOptions(e: readonly XmlElement[]): Record<string, PropValue> {
  const drv = e.find((c) => c.name === 'driver');
  const out: Record<string, PropValue> = {};
  for (const [xml, qemu] of [['iommu', 'iommu_platform'], ['ats', 'ats'], ['packed', 'packed'], ['page_per_vq', 'page-per-vq']] as const) {
    const v = drv?.attrs[xml];
    if (v !== undefined) out[qemu] = v === 'on';
  }
  return out;
}

export function buildInputs(ctx: EmitContext): void {
  ctx.dom.devices.inputs.forEach((i, n) => {
    const id = i.alias ?? `input${n}`;
    // NB: a virtio input's <driver> is kept in extra and read by virtioOptions
    for (const e of i.extra) if (e.name !== 'driver' || i.bus !== 'virtio') ctx.diag.warn('XmlUnsupportedElement', { element: e.name, detail: `of ${id}` }, e.span);
    if (i.type === 'evdev') {
      const s = i.source ?? {};
      ctx.out.object('-object', props({ 'qom-type': 'input-linux', id, evdev: s.dev, repeat: s.repeat, grab_all: s.grab === 'all' ? true : undefined, 'grab-toggle': s.grabToggle }));
      return;
    }
    if (i.bus === 'ps2' || i.bus === 'none' || i.bus === 'xen' || i.bus === undefined) return;
    if (!has(ctx.caps, 'device')) {
      if (i.bus === 'usb') ctx.out.raw('-usbdevice', i.type);
      else ctx.diag.warn('UnsupportedForTarget', { what: `<input bus='${i.bus}'>`, target: 'QEMU without -device' }, i.$span);
      return;
    }
    if (i.bus === 'usb') {
      const a = usbPortOf(ctx.dom, i);
      ctx.out.object('-device', props({ driver: USB_DRIVER[i.type] ?? 'usb-tablet', id, bus: usbBusName(ctx.dom, a?.bus ?? 0), port: a?.port }));
    } else if (i.bus === 'virtio') {
      // NB: virtio input devices are virtio 1.0 only: QEMU has no (non-)transitional variants
      if (i.model && i.model !== 'virtio') {
        return fail('UnsupportedDevice', { what: `virtio (non-)transitional model for input type=${i.type}` }, i.$span);
      }
      ctx.out.object('-device', props({
        driver: `${VIRTIO_DRIVER[i.type] ?? 'virtio-tablet'}-pci`,
        ...virtioOptions(i.extra),
        id,
        evdev: i.type === 'passthrough' ? i.source?.evdev : undefined,
        ...pciPlacementWithAcpi(ctx.dom, i),
      }));
    }
  });
}

// --- argv -> IR -------------------------------------------------------------------------------

export function readInputsArgv(r: ArgvReader): void {
  const inputs = r.draft.devices.inputs;
  for (const o of r.take('-usbdevice')) {
    const v = optText(o);
    if (v === 'tablet' || v === 'mouse' || v === 'keyboard') inputs.push({ type: v, bus: 'usb', extra: [], $span: o.span });
    else r.unclaim(o);
  }
  const byDriver: Record<string, [Input['type'], Input['bus']]> = {
    'usb-tablet': ['tablet', 'usb'], 'usb-mouse': ['mouse', 'usb'], 'usb-kbd': ['keyboard', 'usb'],
  };
  for (const [t, base] of Object.entries(VIRTIO_DRIVER)) byDriver[`${base}-pci`] = [t as Input['type'], 'virtio'];
  for (const dev of r.devices((drv) => drv in byDriver)) {
    r.claim(dev.opt);
    const [type, bus] = byDriver[dev.driver]!;
    const address = bus === 'virtio' ? pciAddressFromProps(dev.props) : bus === 'usb' ? usbAddressFromProps(r, dev.props, dev.opt.span) : undefined;
    const evdev = propStr(dev.props, 'evdev');
    // NB: a virtio input's <driver> (transport options) is kept as written in the IR (see buildInputs)
    const transport = bus === 'virtio' ? virtioOptionsFromProps(dev.props) : {};
    inputs.push({
      type,
      bus,
      ...(evdev ? { source: { evdev } } : {}),
      ...(bus === 'virtio' ? acpiIndexFromProps(dev.props) : {}),
      ...(address ? { address } : {}),
      extra: Object.keys(transport).length ? [writeVirtioDriverXml(transport)!] : [],
      $span: dev.opt.span,
    });
  }
  for (const o of r.take('-object')) {
    const p = optProps(o);
    if (propStr(p, 'qom-type') !== 'input-linux') {
      r.unclaim(o);
      continue;
    }
    const repeat = propBool(p, 'repeat');
    inputs.push({
      type: 'evdev',
      source: {
        ...(propStr(p, 'evdev') !== undefined ? { dev: propStr(p, 'evdev')! } : {}),
        ...(propBool(p, 'grab_all') ? { grab: 'all' as const } : {}),
        ...(repeat !== undefined ? { repeat } : {}),
        ...(propStr(p, 'grab-toggle') !== undefined ? { grabToggle: propStr(p, 'grab-toggle')! } : {}),
      },
      extra: [],
      $span: o.span,
    });
  }
}
