// <controller>: usb, pci, ide, sata, scsi, virtio-serial, fdc, ccid.
// argv: -device piix3-usb-uhci/…, virtio-scsi-pci, ahci, virtio-serial-pci, pci bridges; legacy -usb.
import { fail } from '../errors.js';
import { optText, type ArgvReader, type DeviceOption } from '../ir/argv-reader.js';
import type { Controller, ControllerType, Domain, PciControllerOpts, VirtioDriverOpts } from '../ir/domain.js';
import { isI440fx, isQ35, isX86 } from '../ir/defaults.js';
import { DEFAULT_SCSI_MODEL, defaultUsbModel } from '../ir/pci-addresses.js';
import { has } from '../qemu/caps.js';
import { propBool, propNum, propStr, props, type Props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { child, el, textEl, type XmlElement } from '../xml/tree.js';
import { checkEnum, intAttr, parseIntValue, reqAttr, sizeKiB } from '../xml/values.js';
import { acpiIndexFromProps, pciAddressFromProps, pciPlacementWithAcpi, readAcpiIndexXml, readAddressXml, readVirtioDriverXml, writeAcpiXml, virtioOptionsFromProps, virtioTransportProps, writeAddressXml, writeVirtioDriverXml } from './address.js';

const TYPES = ['ide', 'fdc', 'scsi', 'sata', 'virtio-serial', 'ccid', 'usb', 'pci', 'xenbus', 'isa'] as const;
const KNOWN = new Set(['address', 'alias', 'acpi', 'master', 'model', 'target', 'driver', 'pcihole64']);

/** index=: PCI bus numbers are 8-bit (libvirt: "PCI controller index N too high, maximum is 255"). */
function controllerIndex(e: XmlElement, type: ControllerType): number | undefined {
  const index = intAttr(e, 'index');
  const max = type === 'pci' ? 255 : 0x7fffffff;
  if (index !== undefined && (index < 0 || index > max)) {
    return fail('XmlBadValue', { what: `${type} controller index`, value: String(index), expected: `0 to ${max}` }, e.span);
  }
  return index;
}

/** `before`: the controllers read so far; one without index= takes the lowest free index of its type. */
export function readControllerXml(e: XmlElement, before: readonly Controller[] = []): Controller {
  const type = checkEnum(e, 'controller type', reqAttr(e, 'type'), TYPES);
  const address = child(e, 'address');
  const master = child(e, 'master');
  const alias = child(e, 'alias');
  return {
    type,
    index: controllerIndex(e, type) ?? lowestFreeIndex(before.filter((c) => c.type === type)),
    ...(e.attrs.model !== undefined ? { model: e.attrs.model } : {}),
    ...(e.attrs.ports !== undefined ? { ports: intAttr(e, 'ports') } : {}),
    ...(e.attrs.vectors !== undefined ? { vectors: intAttr(e, 'vectors') } : {}),
    ...(master ? { masterStartport: intAttr(master, 'startport') ?? 0 } : {}),
    ...(type === 'pci' ? readPciOpts(e) : {}),
    ...readVirtioDriverXml(child(e, 'driver')),
    ...(alias?.attrs.name ? { alias: alias.attrs.name } : {}),
    ...readAcpiIndexXml(e),
    ...(address ? { address: readAddressXml(address) } : {}),
    extra: e.children.filter((c) => !KNOWN.has(c.name)),
    $span: e.span,
  };
}

function lowestFreeIndex(same: readonly Controller[]): number {
  let i = 0;
  while (same.some((c) => c.index === i)) i++;
  return i;
}

function readPciOpts(e: XmlElement): { pci?: PciControllerOpts } {
  const model = child(e, 'model');
  const target = child(e, 'target');
  const node = target && child(target, 'node');
  const hole = child(e, 'pcihole64');
  const pci: PciControllerOpts = {
    ...(model?.attrs.name ? { modelName: model.attrs.name } : {}),
    ...(target?.attrs.chassisNr !== undefined ? { chassisNr: intAttr(target, 'chassisNr') } : {}),
    ...(target?.attrs.chassis !== undefined ? { chassis: intAttr(target, 'chassis') } : {}),
    ...(target?.attrs.port !== undefined ? { port: intAttr(target, 'port') } : {}),
    ...(target?.attrs.busNr !== undefined ? { busNr: intAttr(target, 'busNr') } : {}),
    ...(target?.attrs.index !== undefined ? { targetIndex: intAttr(target, 'index') } : {}),
    ...(target?.attrs.hotplug !== undefined ? { hotplug: target.attrs.hotplug === 'on' } : {}),
    ...(node ? { numaNode: parseIntValue(node, 'controller target node', node.text) } : {}),
    ...(hole ? { pcihole64: sizeKiB(hole) } : {}),
  };
  return Object.keys(pci).length ? { pci } : {};
}

export function writeControllerXml(c: Controller): XmlElement {
  const p = c.pci;
  const hex = (n: number | undefined) => (n === undefined ? undefined : `0x${n.toString(16)}`);
  const target = p && { chassisNr: p.chassisNr, chassis: p.chassis, port: hex(p.port), busNr: p.busNr, index: p.targetIndex, hotplug: p.hotplug === undefined ? undefined : p.hotplug ? 'on' : 'off' };
  return el(
    'controller',
    { type: c.type, index: c.index, model: c.model, ports: c.ports, vectors: c.vectors },
    c.extra,
    writeVirtioDriverXml(c.driver),
    p?.modelName !== undefined && el('model', { name: p.modelName }),
    target && (Object.values(target).some((v) => v !== undefined) || p.numaNode !== undefined) && el('target', target, textEl('node', p.numaNode)),
    p?.pcihole64 !== undefined && el('pcihole64', { unit: 'KiB' }, String(p.pcihole64)),
    c.masterStartport !== undefined && el('master', { startport: c.masterStartport }),
    c.alias !== undefined && el('alias', { name: c.alias }),
    writeAcpiXml(c.acpiIndex),
    writeAddressXml(c.address),
  );
}

/** QEMU device for a USB controller model (libvirt's qemuControllerModelUSB table). */
const USB_MODELS: Record<string, string> = {
  'piix3-uhci': 'piix3-usb-uhci', 'piix4-uhci': 'piix4-usb-uhci', ehci: 'usb-ehci', 'ich9-ehci1': 'ich9-usb-ehci1',
  'ich9-uhci1': 'ich9-usb-uhci1', 'ich9-uhci2': 'ich9-usb-uhci2', 'ich9-uhci3': 'ich9-usb-uhci3',
  'vt82c686b-uhci': 'vt82c686b-usb-uhci', 'pci-ohci': 'pci-ohci', 'nec-xhci': 'nec-usb-xhci', 'qemu-xhci': 'qemu-xhci',
};

/** <controller type='pci' model> of the QEMU devices libvirt adds as PCI(e) buses, by driver. */
const PCI_CONTROLLER_MODELS: Readonly<Record<string, string>> = {
  'pcie-root-port': 'pcie-root-port', ioh3420: 'pcie-root-port', 'pci-bridge': 'pci-bridge', 'pcie-pci-bridge': 'pcie-to-pci-bridge',
  'i82801b11-bridge': 'dmi-to-pci-bridge', 'x3130-upstream': 'pcie-switch-upstream-port', 'xio3130-downstream': 'pcie-switch-downstream-port',
  pxb: 'pci-expander-bus', 'pxb-pcie': 'pcie-expander-bus',
};

/** QEMU device for a SCSI controller model; ncr53c90 is built into the machine. */
const SCSI_MODELS: Record<string, string> = {
  lsilogic: 'lsi', 'virtio-scsi': 'virtio-scsi-pci', 'virtio-transitional': 'virtio-scsi-pci-transitional',
  'virtio-non-transitional': 'virtio-scsi-pci-non-transitional', lsisas1068: 'mptsas1068', lsisas1078: 'megasas',
  vmpvscsi: 'pvscsi', am53c974: 'am53c974', dc390: 'dc390', ibmvscsi: 'spapr-vscsi',
};

/** spapr-vio registers: SCSI HBAs start at 0x2000; libvirt moves a clash up by 0x1000. */
const VIO_SCSI_REG = 0x2000;

/** libvirt's alias for a controller (qemuAssignDeviceControllerAlias). */
export function controllerAlias(c: Controller, dom?: Domain): string {
  // NB: the chipset's own controllers have fixed QEMU ids, whatever user alias the XML gives
  // them: the PCI root is pci.0/pcie.0, PIIX3's IDE and q35's AHCI are "ide"
  if (c.type === 'pci' && (c.model === 'pci-root' || c.model === 'pcie-root')) return c.model === 'pcie-root' ? 'pcie.0' : `pci.${c.index}`;
  if (c.index === 0 && ((c.type === 'ide' && !isQ35(dom?.os.machine)) || (c.type === 'sata' && isQ35(dom?.os.machine)))) return 'ide';
  if (c.alias) return c.alias;
  if (c.type === 'pci') return `pci.${c.index}`;
  if (c.index === 0 && c.type === 'usb') return 'usb';
  return `${c.type}${c.index}`;
}

/** NB: libvirt prints controllers type by type in this order, each type in index order. */
const BUILD_ORDER: readonly ControllerType[] = ['pci', 'usb', 'scsi', 'ide', 'sata', 'virtio-serial'];

export function buildControllers(ctx: EmitContext): void {
  const all = ctx.dom.devices.controllers;
  if (!has(ctx.caps, 'device')) {
    if (all.some((c) => c.type === 'usb' && c.model !== 'none')) ctx.out.flag('-usb');
    for (const c of all) if (c.acpiIndex !== undefined) ctx.diag.warn('UnsupportedForTarget', { what: `<acpi index> of <controller type='${c.type}' index='${c.index}'>`, target: 'QEMU without -device' }, c.$span);
    // NB: -usb is PIIX3's own UHCI controller; any other controller needs a -device
    const usbDefault = defaultUsbModel(isQ35(ctx.dom.os.machine));
    for (const c of all) {
      if (!controllerDriver(ctx, c) || (c.type === 'usb' && (c.model ?? usbDefault) === defaultUsbModel(false))) continue;
      const what = `<controller type='${c.type}'${c.model ? ` model='${c.model}'` : ''} index='${c.index}'>`;
      ctx.diag.warn('UnsupportedForTarget', { what, target: 'QEMU without -device' }, c.$span);
    }
    return;
  }
  for (const c of all) {
    for (const e of c.extra) ctx.diag.warn('XmlUnsupportedElement', { element: e.name, detail: `of controller ${controllerAlias(c, ctx.dom)}` }, e.span);
    // NB: only a pSeries host bridge (spapr-pci-host-bridge index=) has a target index
    if (c.pci?.targetIndex !== undefined) ctx.diag.warn('XmlUnsupportedAttribute', { element: 'target', attribute: 'index', detail: `of controller ${controllerAlias(c, ctx.dom)} (pSeries PHBs only)` }, c.$span);
  }
  for (const type of BUILD_ORDER) {
    for (const c of all.filter((x) => x.type === type)) {
      const driver = controllerDriver(ctx, c);
      if (driver) ctx.out.object('-device', controllerProps(ctx, c, driver));
    }
  }
}

function controllerDriver(ctx: EmitContext, c: Controller): string | undefined {
  const q35 = isQ35(ctx.dom.os.machine);
  switch (c.type) {
    case 'pci':
      return c.model === 'pci-root' || c.model === 'pcie-root' ? undefined : c.pci?.modelName;
    case 'usb':
      return USB_MODELS[c.model ?? defaultUsbModel(q35)];
    case 'scsi':
      return SCSI_MODELS[c.model ?? DEFAULT_SCSI_MODEL];
    case 'sata':
      // the q35 chipset's own AHCI is built in
      return q35 && c.index === 0 ? undefined : 'ahci';
    case 'virtio-serial':
      return c.model === 'virtio-transitional' ? 'virtio-serial-pci-transitional' : c.model === 'virtio-non-transitional' ? 'virtio-serial-pci-non-transitional' : 'virtio-serial-pci';
    default:
      // the primary IDE controller is PIIX3's; QEMU has no other IDE controller for libvirt to add
      return undefined;
  }
}

function controllerProps(ctx: EmitContext, c: Controller, driver: string): Props {
  const dom = ctx.dom;
  const place = pciPlacementWithAcpi(dom, c);
  const id = controllerAlias(c, dom);
  const p = c.pci;
  switch (c.type) {
    case 'pci':
      if (c.model === 'pci-bridge') return props({ driver, chassis_nr: p?.chassisNr, id, ...place });
      if (c.model === 'pci-expander-bus' || c.model === 'pcie-expander-bus') return props({ driver, bus_nr: p?.busNr, id, numa_node: p?.numaNode, ...place });
      if (c.model === 'pcie-root-port' || c.model === 'pcie-switch-downstream-port') {
        return props({ driver, port: p?.port, chassis: p?.chassis, id, hotplug: p?.hotplug === false ? false : undefined, ...place });
      }
      return props({ driver, id, ...place });
    case 'usb': {
      const master = c.masterStartport !== undefined ? dom.devices.controllers.find((x) => x.type === 'usb' && x.index === c.index && x.masterStartport === undefined) : undefined;
      if (master) return props({ driver, masterbus: `${controllerAlias(master, dom)}.0`, firstport: c.masterStartport, ...place });
      const xhci = driver === 'qemu-xhci' || driver === 'nec-usb-xhci';
      return props({ driver, ...(xhci && c.ports !== undefined ? { p2: c.ports, p3: c.ports } : {}), id, ...place });
    }
    case 'virtio-serial':
      return props({ driver, ...virtioTransportProps(c.driver), id, max_ports: c.ports, vectors: c.vectors, ...place });
    case 'scsi':
      if (driver === 'spapr-vscsi') {
        const before = dom.devices.controllers.filter((x) => x.type === 'scsi' && x.model === 'ibmvscsi' && x.index < c.index).length;
        return props({ driver, id, reg: VIO_SCSI_REG + 0x1000 * before });
      }
      if (driver.startsWith('virtio-scsi')) {
        const d = c.driver;
        return props({
          driver, ...virtioTransportProps(d), iothread: d?.iothread !== undefined ? `iothread${d.iothread}` : undefined, id,
          num_queues: d?.queues, cmd_per_lun: d?.cmdPerLun, max_sectors: d?.maxSectors, ioeventfd: d?.ioeventfd, ...place,
        });
      }
      return props({ driver, id, ...place });
    default:
      return props({ driver, id, ...place });
  }
}

/**
 * -global options of controllers (qemuBuildGlobalControllerCommandLine): hotplug on i440fx's root
 * bus is switched in the PIIX4 power-management device's ACPI tables.
 */
export function buildGlobalControllers(ctx: EmitContext): void {
  for (const c of ctx.dom.devices.controllers) {
    // <pcihole64>: a property of the machine's host bridge (qemuBuildGlobalControllerCommandLine)
    if (c.type === 'pci' && (c.model === 'pci-root' || c.model === 'pcie-root') && c.pci?.pcihole64 !== undefined) {
      ctx.out.raw('-global', `${c.model === 'pci-root' ? 'i440FX' : 'q35'}-pcihost.pci-hole64-size=${c.pci.pcihole64}K`);
    }
    if (c.type !== 'pci' || c.model !== 'pci-root' || c.pci?.hotplug === undefined) continue;
    if (!has(ctx.caps, 'piix.acpi-root-pci-hotplug')) {
      ctx.diag.warn('UnsupportedForTarget', { what: "<target hotplug> of the pci-root controller", target: 'QEMU before 5.2' }, c.$span);
      continue;
    }
    ctx.out.raw('-global', `PIIX4_PM.acpi-root-pci-hotplug=${c.pci.hotplug ? 'on' : 'off'}`);
  }
}

export function readControllersArgv(r: ArgvReader): void {
  const d = r.draft.devices;
  for (const g of r.take('-global')) {
    const m = /^PIIX4_PM\.acpi-root-pci-hotplug=(on|off|true|false|yes|no)$/.exec(optText(g));
    const hole = /^(i440FX|q35)-pcihost\.pci-hole64-size=(\d+)K$/.exec(optText(g));
    if (!m && !hole) {
      r.unclaim(g);
      continue;
    }
    const root = d.controllers.find((c) => c.type === 'pci' && c.index === 0);
    const pci = { ...root?.pci, ...(m ? { hotplug: ['on', 'true', 'yes'].includes(m[1]!) } : { pcihole64: Number(hole![2]) }) };
    d.controllers = d.controllers.filter((c) => c !== root);
    d.controllers.push({ type: 'pci', index: 0, model: m || hole![1] === 'i440FX' ? 'pci-root' : 'pcie-root', pci, extra: [], $span: g.span });
  }
  // NB: -usb turns on the machine's own USB controller; libvirt 5.4 read it without a model
  const usbFlag: Controller | undefined = r.take('-usb').length ? { type: 'usb', index: 0, extra: [] } : undefined;
  if (usbFlag) d.controllers.push(usbFlag);
  const pc = isX86(r.draft.os.arch) && isI440fx(r.draft.os.machine ?? 'pc');
  const byDriver = new Map(Object.entries(USB_MODELS).map(([model, drv]) => [drv, model]));
  const add = (type: ControllerType, model: string | undefined, dev: ReturnType<ArgvReader['devices']>[number], more: Partial<Controller> = {}) => {
    // NB: USB companions share their master's index: they do not count; q35's own AHCI is SATA
    // controller 0, so an added one is 1 or more
    const first = type === 'sata' && isQ35(r.draft.os.machine) ? 1 : 0;
    const index = more.index ?? first + d.controllers.filter((c) => c.type === type && c.masterStartport === undefined).length;
    const address = pciAddressFromProps(dev.props, { multifunction: true });
    // user aliases (ua-…) are the only ids the XML carries (companions name their master by it)
    const id = propStr(dev.props, 'id');
    if (id !== undefined) r.controllerIds.set(id, { type, index });
    d.controllers.push({
      type,
      index,
      ...(model ? { model } : {}),
      ...(id?.startsWith('ua-') ? { alias: id } : {}),
      ...more,
      ...acpiIndexFromProps(dev.props),
      ...(address ? { address } : {}),
      extra: [],
      $span: dev.opt.span,
    });
    r.claim(dev.opt);
  };
  // PCI(e) buses: libvirt's id pci.N is the controller's index
  for (const dev of r.devices((drv) => Object.hasOwn(PCI_CONTROLLER_MODELS, drv))) {
    const index = /^pci\.(\d+)$/.exec(propStr(dev.props, 'id') ?? '');
    if (!index) continue;
    const chassis = propNum(dev.props, 'chassis');
    const port = propNum(dev.props, 'port');
    const chassisNr = propNum(dev.props, 'chassis_nr');
    // an expander bus's first bus number and NUMA node (<target busNr><node>)
    const busNr = propNum(dev.props, 'bus_nr');
    const numaNode = propNum(dev.props, 'numa_node');
    const hotplug = propBool(dev.props, 'hotplug');
    add('pci', PCI_CONTROLLER_MODELS[dev.driver], dev, {
      index: Number(index[1]),
      pci: {
        modelName: dev.driver,
        ...(chassisNr !== undefined ? { chassisNr } : {}), ...(chassis !== undefined ? { chassis } : {}), ...(port !== undefined ? { port } : {}),
        ...(busNr !== undefined ? { busNr } : {}), ...(numaNode !== undefined ? { numaNode } : {}), ...(hotplug === false ? { hotplug: false } : {}),
      },
    });
  }
  const usbDevices = r.devices((drv) => byDriver.has(drv));
  // NB: a -device names the controller -usb stood for
  if (usbFlag && usbDevices.length) d.controllers = d.controllers.filter((c) => c !== usbFlag);
  for (const dev of usbDevices) {
    // NB: a UHCI companion (masterbus=usb.0,firstport=N) shares its EHCI master's index
    const master = /^(.*)\.0$/.exec(propStr(dev.props, 'masterbus') ?? '');
    const owner = master ? d.controllers.find((c) => c.type === 'usb' && controllerAlias(c) === master[1]) : undefined;
    const ports = propNum(dev.props, 'p2') ?? propNum(dev.props, 'p3');
    add('usb', isImplicitPcUsb(dev, pc) ? undefined : byDriver.get(dev.driver), dev, {
      ...(owner ? { index: owner.index, masterStartport: propNum(dev.props, 'firstport') ?? 0 } : {}),
      ...(ports !== undefined ? { ports } : {}),
    });
  }
  if (!d.controllers.some((c) => c.type === 'usb')) {
    const implicit = implicitUsbController(r, pc);
    if (implicit) d.controllers.push(implicit);
  }
  for (const dev of r.devices((drv) => drv === 'virtio-scsi-pci' || drv === 'lsi')) {
    const driver = dev.driver === 'virtio-scsi-pci' ? virtioScsiDriver(dev.props, r.iothreads) : undefined;
    add('scsi', dev.driver === 'lsi' ? 'lsilogic' : 'virtio-scsi', dev, driver ? { driver } : {});
  }
  for (const dev of r.devices((drv) => drv === 'virtio-serial-pci' || drv === 'virtio-serial')) {
    // the inverse of controllerProps': virtio transport options, ports and MSI vectors
    const driver = virtioOptionsFromProps(dev.props);
    const [ports, vectors] = [propNum(dev.props, 'max_ports'), propNum(dev.props, 'vectors')];
    add('virtio-serial', undefined, dev, { ...(Object.keys(driver).length ? { driver } : {}), ...(ports !== undefined ? { ports } : {}), ...(vectors !== undefined ? { vectors } : {}) });
  }
  // NB: ahci is QEMU's alias of ich9-ahci (what OSX-KVM and other scripts write)
  for (const dev of r.devices((drv) => drv === 'ahci' || drv === 'ich9-ahci')) add('sata', undefined, dev);
}

/** virtio-scsi's <driver>: the inverse of controllerProps' (queues, I/O thread, virtio transport). */
function virtioScsiDriver(p: Props, iothreads: ReadonlyMap<string, number>): VirtioDriverOpts | undefined {
  const thread = propStr(p, 'iothread');
  const d: VirtioDriverOpts = {
    ...virtioOptionsFromProps(p),
    ...(propNum(p, 'num_queues') !== undefined ? { queues: propNum(p, 'num_queues') } : {}),
    ...(propNum(p, 'cmd_per_lun') !== undefined ? { cmdPerLun: propNum(p, 'cmd_per_lun') } : {}),
    ...(propNum(p, 'max_sectors') !== undefined ? { maxSectors: propNum(p, 'max_sectors') } : {}),
    ...(propBool(p, 'ioeventfd') !== undefined ? { ioeventfd: propBool(p, 'ioeventfd') } : {}),
    ...(thread !== undefined && iothreads.has(thread) ? { iothread: iothreads.get(thread) } : {}),
  };
  return Object.keys(d).length ? d : undefined;
}

/** QEMU properties of the USB controller libvirt puts on an i440fx machine by default. */
const IMPLICIT_PC_USB_KEYS = new Set(['driver', 'id', 'bus', 'addr']);

/**
 * The USB controller libvirt adds to an i440fx machine has no model in the domain XML: libvirt
 * picks piix3-uhci when it builds the command line and puts it on PIIX3's function 1.2. Exactly
 * that device is read back without a model, as libvirt 5.4 read -usb; a model given any other
 * way (another driver, address or option) is kept. NB: q35's implicit controller is defined with
 * model='qemu-xhci' (qemuDomainDefAddDefaultDevices), so its model stays.
 */
function isImplicitPcUsb(dev: DeviceOption, pc: boolean): boolean {
  if (!pc || dev.driver !== USB_MODELS[defaultUsbModel(false)] || propStr(dev.props, 'id') !== 'usb') return false;
  if (Object.keys(dev.props).some((k) => !IMPLICIT_PC_USB_KEYS.has(k))) return false;
  const a = pciAddressFromProps(dev.props);
  return a?.type === 'pci' && a.bus === 0 && a.slot === 1 && a.function === 2;
}

/**
 * A command line without any USB controller on an i440fx or q35 machine: QEMU gives these
 * machines none unless -usb or a -device asks (libvirt also writes -machine usb=off), and libvirt
 * prints nothing only for <controller type='usb' model='none'/>, since it always gives these
 * machines a USB controller (qemuDomainDefAddDefaultDevices). NB: libvirt 5.4 added its default
 * controller here instead, which would put a USB controller the command line never had into the
 * domain (and -usb into its next command line).
 */
function implicitUsbController(r: ArgvReader, pc: boolean): Controller | undefined {
  const q35 = isX86(r.draft.os.arch) && isQ35(r.draft.os.machine);
  return pc || q35 ? { type: 'usb', index: 0, model: 'none', extra: [] } : undefined;
}
