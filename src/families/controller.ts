// <controller>: usb, pci, ide, sata, scsi, virtio-serial, fdc, ccid.
// argv: -device piix3-usb-uhci/…, virtio-scsi-pci, ahci, virtio-serial-pci, pci bridges; legacy -usb.
import type { ArgvReader } from '../ir/argv-reader.js';
import type { Controller, ControllerType } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import { propStr, props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { child, el, type XmlElement } from '../xml/tree.js';
import { checkEnum, intAttr, reqAttr } from '../xml/values.js';
import { parsePciAddr, pciAddrText, pciBusName, readAddressXml, writeAddressXml } from './address.js';

const TYPES = ['ide', 'fdc', 'scsi', 'sata', 'virtio-serial', 'ccid', 'usb', 'pci', 'xenbus', 'isa'] as const;
const KNOWN = new Set(['address', 'alias', 'master']);

export function readControllerXml(e: XmlElement): Controller {
  const type = checkEnum(e, 'controller type', reqAttr(e, 'type'), TYPES);
  const address = child(e, 'address');
  const master = child(e, 'master');
  const alias = child(e, 'alias');
  return {
    type,
    index: intAttr(e, 'index') ?? 0,
    ...(e.attrs.model !== undefined ? { model: e.attrs.model } : {}),
    ...(e.attrs.ports !== undefined ? { ports: intAttr(e, 'ports') } : {}),
    ...(e.attrs.vectors !== undefined ? { vectors: intAttr(e, 'vectors') } : {}),
    ...(master ? { masterStartport: intAttr(master, 'startport') ?? 0 } : {}),
    ...(alias?.attrs.name ? { alias: alias.attrs.name } : {}),
    ...(address ? { address: readAddressXml(address) } : {}),
    extra: e.children.filter((c) => !KNOWN.has(c.name)),
    $span: e.span,
  };
}

export function writeControllerXml(c: Controller): XmlElement {
  return el(
    'controller',
    { type: c.type, index: c.index, model: c.model, ports: c.ports, vectors: c.vectors },
    c.extra,
    c.masterStartport !== undefined && el('master', { startport: c.masterStartport }),
    c.alias !== undefined && el('alias', { name: c.alias }),
    writeAddressXml(c.address),
  );
}

/** QEMU device for a USB controller model (libvirt's qemuControllerModelUSB table). */
const USB_MODELS: Record<string, string> = {
  piix3: 'piix3-usb-uhci', piix4: 'piix4-usb-uhci', ehci: 'usb-ehci', ich9_ehci1: 'ich9-usb-ehci1',
  ich9_uhci1: 'ich9-usb-uhci1', ich9_uhci2: 'ich9-usb-uhci2', ich9_uhci3: 'ich9-usb-uhci3',
  vt82c686b_uhci: 'vt82c686b-usb-uhci', 'pci-ohci': 'pci-ohci', 'nec-xhci': 'nec-usb-xhci',
  'qemu-xhci': 'qemu-xhci', 'qusb1': 'qusb1', 'qusb2': 'qusb2',
};

/** libvirt's alias for a controller: the first USB controller is plain "usb". */
export function controllerAlias(c: Controller): string {
  if (c.alias) return c.alias;
  if (c.type === 'usb' && c.index === 0) return 'usb';
  if (c.type === 'pci') return `pci.${c.index}`;
  if (c.type === 'ide') return 'ide';
  return `${c.type}${c.index}`;
}

export function buildControllers(ctx: EmitContext): void {
  for (const c of ctx.dom.devices.controllers) {
    if (c.type === 'usb') buildUsbController(ctx, c);
    else if (c.type === 'scsi' && has(ctx.caps, 'device')) buildPciController(ctx, c, c.model === 'lsilogic' ? 'lsi' : 'virtio-scsi-pci');
    else if (c.type === 'virtio-serial' && has(ctx.caps, 'device')) buildPciController(ctx, c, 'virtio-serial-pci');
    else if (c.type === 'sata' && has(ctx.caps, 'device') && c.address) buildPciController(ctx, c, 'ahci');
  }
}

function pciPlacement(c: Controller): Record<string, string> {
  const a = c.address;
  return a?.type === 'pci' ? { bus: pciBusName(a.bus), addr: pciAddrText(a) } : {};
}

function buildPciController(ctx: EmitContext, c: Controller, driver: string): void {
  ctx.out.object('-device', props({ driver, id: controllerAlias(c), ...pciPlacement(c) }));
}

function buildUsbController(ctx: EmitContext, c: Controller): void {
  if (c.model === 'none') return;
  if (!has(ctx.caps, 'device')) {
    ctx.out.flag('-usb');
    return;
  }
  const driver = USB_MODELS[c.model ?? 'piix3'] ?? 'piix3-usb-uhci';
  ctx.out.object('-device', props({ driver, id: controllerAlias(c), ...pciPlacement(c) }));
}

export function readControllersArgv(r: ArgvReader): void {
  const d = r.draft.devices;
  if (r.take('-usb').length) d.controllers.push({ type: 'usb', index: 0, extra: [] });
  const byDriver = new Map(Object.entries(USB_MODELS).map(([model, drv]) => [drv, model]));
  const add = (type: ControllerType, model: string | undefined, dev: ReturnType<ArgvReader['devices']>[number]) => {
    const index = d.controllers.filter((c) => c.type === type).length;
    const addr = parsePciAddr(propStr(dev.props, 'addr') ?? '');
    const bus = /^pci\.(\d+)$/.exec(propStr(dev.props, 'bus') ?? '');
    d.controllers.push({
      type,
      index,
      ...(model ? { model } : {}),
      ...(addr ? { address: { type: 'pci', domain: 0, bus: bus ? Number(bus[1]) : 0, slot: addr.slot, function: addr.function } } : {}),
      extra: [],
      $span: dev.opt.span,
    });
    r.claim(dev.opt);
  };
  for (const dev of r.devices((drv) => byDriver.has(drv))) {
    if (d.controllers.some((c) => c.type === 'usb' && c.index === 0 && !c.model)) d.controllers.shift();
    add('usb', byDriver.get(dev.driver), dev);
  }
  for (const dev of r.devices((drv) => drv === 'virtio-scsi-pci' || drv === 'lsi')) add('scsi', dev.driver === 'lsi' ? 'lsilogic' : 'virtio-scsi', dev);
  for (const dev of r.devices((drv) => drv === 'virtio-serial-pci' || drv === 'virtio-serial')) add('virtio-serial', undefined, dev);
  for (const dev of r.devices((drv) => drv === 'ahci')) add('sata', undefined, dev);
}
