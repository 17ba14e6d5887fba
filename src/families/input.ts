// <input>: mouse/keyboard/tablet on ps2/usb/virtio, virtio passthrough and evdev. argv: -device
// usb-tablet/usb-mouse/usb-kbd, virtio-*-pci, virtio-input-host-pci, -object input-linux; legacy
// -usbdevice tablet|mouse|keyboard. ps2 devices are built into x86 machines.
import type { ArgvReader } from '../ir/argv-reader.js';
import { optProps, optText } from '../ir/argv-reader.js';
import type { Address, Domain, Input } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import { propBool, propStr, props, type PropValue } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { fail } from '../errors.js';
import { child, el, type XmlElement } from '../xml/tree.js';
import { checkEnum, enumAttr, reqAttr } from '../xml/values.js';
import { parsePciAddr, pciPlacement, readAddressXml, writeAddressXml } from './address.js';

const TYPES = ['mouse', 'keyboard', 'tablet', 'passthrough', 'evdev'] as const;
const BUSES = ['ps2', 'usb', 'virtio', 'xen', 'none'] as const;
const MODELS = ['virtio', 'virtio-transitional', 'virtio-non-transitional'] as const;
const KNOWN = new Set(['address', 'alias', 'source']);

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
    writeAddressXml(i.address),
  );
}

// --- USB ports --------------------------------------------------------------------------------

/** Ports on the root hub of each USB controller model (virDomainUSBAddressControllerModelToPorts). */
const ROOT_PORTS: Record<string, number> = {
  'piix3-uhci': 2, 'piix4-uhci': 2, 'vt82c686b-uhci': 2, 'ich9-uhci1': 2, 'ich9-uhci2': 2, 'ich9-uhci3': 2,
  ehci: 6, 'ich9-ehci1': 6, 'pci-ohci': 3, 'nec-xhci': 4, 'qemu-xhci': 15,
};
const HUB_PORTS = 8;

/**
 * The USB devices of a domain in the order libvirt gives them ports (virDomainUSBDeviceDefForeach:
 * hubs, host devices, disks, ccid controllers, inputs, usb-serial ports, sound cards, redirected
 * devices), each with the address the XML gave it, if any.
 */
function usbDevices(dom: Domain): Array<{ dev: object; address?: Address }> {
  const d = dom.devices;
  const fromXml = (name: string, test: (e: XmlElement) => boolean) =>
    d.extra.filter((e) => e.name === name && test(e)).map((e) => {
      const a = child(e, 'address');
      return { dev: e, ...(a ? { address: readAddressXml(a) } : {}) };
    });
  const withAddr = <T extends { address?: Address }>(x: T) => ({ dev: x, ...(x.address ? { address: x.address } : {}) });
  return [
    ...fromXml('hostdev', (e) => e.attrs.type === 'usb'),
    ...d.disks.filter((x) => x.target.bus === 'usb').map(withAddr),
    ...d.controllers.filter((c) => c.type === 'ccid').map(withAddr),
    ...d.inputs.filter((i) => i.bus === 'usb').map(withAddr),
    ...d.serials.filter((s) => s.targetType === 'usb-serial').map(withAddr),
    ...d.sounds.filter((s) => s.model === 'usb').map(withAddr),
    ...fromXml('redirdev', (e) => e.attrs.bus === 'usb'),
  ];
}

/** A hub's ports: undefined = free, null = a device, a nested Hub = a usb-hub. */
interface Hub {
  readonly ports: Array<Hub | null | undefined>;
}

export interface UsbPlan {
  /** usb-hub devices to create, with their ports ("1", "1.2") */
  readonly hubs: readonly { readonly id: string; readonly bus: number; readonly port: string }[];
  readonly ports: ReadonlyMap<object, { readonly bus: number; readonly port: string }>;
}

const usbPlans = new WeakMap<Domain, UsbPlan>();

/**
 * libvirt's USB port assignment (qemuDomainAssignUSBAddresses): explicit addresses are kept; when
 * the devices outnumber the root hub's ports a usb-hub is added (taking the first port); the
 * others take the first free port of the root hub, then of its hubs, in device order.
 */
export function usbPlan(dom: Domain): UsbPlan {
  const cached = usbPlans.get(dom);
  if (cached) return cached;
  const ctl = dom.devices.controllers.find((c) => c.type === 'usb' && c.index === 0);
  const devices = usbDevices(dom);
  const root: Hub = { ports: new Array<Hub | null | undefined>(ROOT_PORTS[ctl?.model ?? 'piix3-uhci'] ?? 2).fill(undefined) };
  const ports = new Map<object, { bus: number; port: string }>();
  const hubs: Array<{ id: string; bus: number; port: string }> = [];
  const mark = (path: string, what: Hub | null) => {
    const nums = path.split('.').map(Number);
    let h: Hub | null | undefined = root;
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
  for (const x of devices) {
    if (x.address?.type === 'usb' && x.address.port) {
      ports.set(x.dev, { bus: x.address.bus, port: x.address.port });
      if (x.address.bus === 0) mark(x.address.port, null);
    }
  }
  if (ctl && ctl.model !== 'none') {
    if (devices.length > root.ports.length) {
      const port = free(root, '');
      if (port) {
        const hub: Hub = { ports: new Array<Hub | null | undefined>(HUB_PORTS).fill(undefined) };
        mark(port, hub);
        hubs.push({ id: 'hub0', bus: 0, port });
      }
    }
    for (const x of devices) {
      if (ports.has(x.dev)) continue;
      const port = free(root, '');
      if (!port) continue;
      mark(port, null);
      ports.set(x.dev, { bus: 0, port });
    }
  }
  const plan = { hubs, ports };
  usbPlans.set(dom, plan);
  return plan;
}

/** The USB bus/port libvirt gives a device: its own <address type='usb'>, else the next free port. */
export function usbPortOf(dom: Domain, dev: object): { bus: number; port: string } | undefined {
  return usbPlan(dom).ports.get(dev);
}

/** The usb-hub devices libvirt adds when the root hub has too few ports (right after the controllers). */
export function buildUsbHubs(ctx: EmitContext): void {
  if (!has(ctx.caps, 'device')) return;
  for (const h of usbPlan(ctx.dom).hubs) ctx.out.object('-device', props({ driver: 'usb-hub', id: h.id, bus: `usb.${h.bus}`, port: h.port }));
}

// --- IR -> argv -------------------------------------------------------------------------------

const USB_DRIVER: Partial<Record<Input['type'], string>> = { mouse: 'usb-mouse', tablet: 'usb-tablet', keyboard: 'usb-kbd' };
const VIRTIO_DRIVER: Partial<Record<Input['type'], string>> = { mouse: 'virtio-mouse', tablet: 'virtio-tablet', keyboard: 'virtio-keyboard', passthrough: 'virtio-input-host' };

/** virtio-* options of <driver> (iommu, ats, packed), as QEMU names them. */
function virtioOptions(e: readonly XmlElement[]): Record<string, PropValue> {
  const drv = e.find((c) => c.name === 'driver');
  const out: Record<string, PropValue> = {};
  for (const [xml, qemu] of [['iommu', 'iommu_platform'], ['ats', 'ats'], ['packed', 'packed']] as const) {
    const v = drv?.attrs[xml];
    if (v !== undefined) out[qemu] = v === 'on';
  }
  return out;
}

export function buildInputs(ctx: EmitContext): void {
  ctx.dom.devices.inputs.forEach((i, n) => {
    const id = i.alias ?? `input${n}`;
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
      ctx.out.object('-device', props({ driver: USB_DRIVER[i.type] ?? 'usb-tablet', id, bus: `usb.${a?.bus ?? 0}`, port: a?.port }));
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
        ...pciPlacement(ctx.dom, i.address),
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
    const addr = bus === 'virtio' ? parsePciAddr(propStr(dev.props, 'addr') ?? '') : undefined;
    const pciBus = /^pci\.(\d+)$/.exec(propStr(dev.props, 'bus') ?? '');
    const evdev = propStr(dev.props, 'evdev');
    inputs.push({
      type,
      bus,
      ...(evdev ? { source: { evdev } } : {}),
      ...(addr ? { address: { type: 'pci' as const, domain: 0, bus: pciBus ? Number(pciBus[1]) : 0, slot: addr.slot, function: addr.function } } : {}),
      extra: [],
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
