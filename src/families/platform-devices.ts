// <watchdog>, <panic> and <iommu>: -device ib700/i6300esb/diag288 + -watchdog-action (legacy -watchdog), -device pvpanic(-pci), -device intel-iommu/virtio-iommu.
import type { ArgvReader, DeviceOption } from '../ir/argv-reader.js';
import { optText } from '../ir/argv-reader.js';
import type { Address, Domain, Iommu, Panic, PanicModel, Watchdog, WatchdogAction, WatchdogModel } from '../ir/domain.js';
import type { EmitContext } from '../emit/context.js';
import { fail } from '../errors.js';
import { has } from '../qemu/caps.js';
import { propBool, propNum, propStr, props } from '../qemu/props.js';
import { child, el, type XmlElement } from '../xml/tree.js';
import { boolAttr, checkEnum, enumAttr, intAttr, onOff, reqAttr } from '../xml/values.js';
import { featureElement, hasFeature } from './features.js';
import { acpiIndexFromProps, pciAddressFromProps, pciPlacementWithAcpi, readAcpiIndexXml, readAddressXml, writeAcpiXml, writeAddressXml } from './address.js';
import { isArmVirt, isQ35 } from '../ir/defaults.js';

const KNOWN = new Set(['alias', 'acpi', 'address']);
const WATCHDOG_MODELS = ['i6300esb', 'ib700', 'diag288', 'itco'] as const;
const WATCHDOG_ACTIONS = ['reset', 'shutdown', 'poweroff', 'pause', 'none', 'dump', 'inject-nmi'] as const;
const PANIC_MODELS = ['isa', 'pseries', 'hyperv', 's390', 'pvpanic'] as const;
const IOMMU_MODELS = ['intel', 'smmuv3', 'virtio'] as const;

/** <alias>/<acpi>/<address> children, the part every one of these devices shares; the children a
 * family reads itself (`modelled`) and alias/acpi/address stay out of `extra`. */
function common(e: XmlElement, modelled: readonly string[] = []): { alias?: string; acpiIndex?: number; address?: Address; extra: XmlElement[] } {
  const alias = child(e, 'alias')?.attrs.name;
  const address = child(e, 'address');
  return {
    ...(alias ? { alias } : {}),
    ...readAcpiIndexXml(e),
    ...(address ? { address: readAddressXml(address) } : {}),
    extra: e.children.filter((c) => !KNOWN.has(c.name) && !modelled.includes(c.name)),
  };
}

const writeCommon = (d: { alias?: string; acpiIndex?: number; address?: Address }) => [d.alias !== undefined && el('alias', { name: d.alias }), writeAcpiXml(d.acpiIndex), writeAddressXml(d.address)];

/** The elements of a device this converter keeps but does not compile. */
function warnExtra(ctx: EmitContext, d: { readonly extra: readonly XmlElement[] }, of: string): void {
  for (const e of d.extra) ctx.diag.warn('XmlUnsupportedElement', { element: e.name, detail: `of ${of}` }, e.span);
}

// --- watchdog --------------------------------------------------------------------------------

export function readWatchdogXml(e: XmlElement): Watchdog {
  const action = enumAttr(e, 'action', WATCHDOG_ACTIONS);
  return {
    model: checkEnum(e, 'watchdog model', reqAttr(e, 'model'), WATCHDOG_MODELS),
    ...(action ? { action } : {}),
    ...common(e),
    $span: e.span,
  };
}

export function writeWatchdogXml(w: Watchdog): XmlElement {
  return el('watchdog', { model: w.model, action: w.action }, w.extra, ...writeCommon(w));
}

/** NB: QEMU has no 'dump' action: libvirt has QEMU pause and takes the dump itself on the event. */
const qemuAction = (a: WatchdogAction | undefined): string => (a === 'dump' ? 'pause' : a ?? 'reset');

export function buildWatchdogs(ctx: EmitContext): void {
  const dogs = ctx.dom.devices.watchdogs;
  if (!dogs.length) return;
  if (dogs.some((w) => qemuAction(w.action) !== qemuAction(dogs[0]!.action))) {
    return fail('UnsupportedDevice', { what: 'watchdogs with different actions (QEMU has one -watchdog-action)' }, dogs[1]!.$span);
  }
  const legacy = !has(ctx.caps, 'device');
  dogs.forEach((w, i) => {
    warnExtra(ctx, w, `watchdog ${w.model}`);
    if (w.model === 'itco') {
      // NB: iTCO is the ICH9 chipset's own watchdog: q35 always has it, and it only acts once
      // the LPC bridge stops ignoring its reboot request (libvirt 9.2+)
      if (!isQ35(ctx.dom.os.machine)) return fail('UnsupportedDevice', { what: "watchdog model 'itco' outside a q35 machine" }, w.$span);
      ctx.out.raw('-global', 'ICH9-LPC.noreboot=off');
      return;
    }
    if (legacy && w.acpiIndex !== undefined) ctx.diag.warn('UnsupportedForTarget', { what: `<acpi index> of <watchdog model='${w.model}'>`, target: 'QEMU without -device (-watchdog)' }, w.$span);
    if (legacy) ctx.out.raw('-watchdog', w.model);
    else ctx.out.object('-device', props({ driver: w.model, id: w.alias ?? `watchdog${i}`, ...pciPlacementWithAcpi(ctx.dom, w) }));
  });
  ctx.out.raw('-watchdog-action', qemuAction(dogs[0]!.action));
}

const DEVICE_WATCHDOGS = new Set<string>(['i6300esb', 'ib700', 'diag288']);

export function readWatchdogsArgv(r: ArgvReader): void {
  const d = r.draft.devices;
  // NB: a model or action libvirt has no name for stays in <qemu:commandline> (with a warning)
  for (const o of r.take('-watchdog')) {
    const model = optText(o).trim();
    if (DEVICE_WATCHDOGS.has(model)) d.watchdogs.push({ model: model as WatchdogModel, extra: [], $span: o.span });
    else r.unclaim(o);
  }
  for (const dev of r.devices((drv) => DEVICE_WATCHDOGS.has(drv))) {
    r.claim(dev.opt);
    d.watchdogs.push({ model: dev.driver as WatchdogModel, ...userAlias(dev, /^watchdog\d+$/), ...pciAddress(dev), extra: [], $span: dev.opt.span });
  }
  // NB: q35's own iTCO watchdog (ICH9-LPC.noreboot=off) is <watchdog model='itco'/> only from
  // libvirt 9.1: kept as written, saying so
  for (const g of r.take('-global')) {
    if (/^ICH9-LPC\.noreboot=(off|false|no)$/.test(optText(g))) r.diag.warn('NewerThanLibvirt', { what: "q35's iTCO watchdog (-global ICH9-LPC.noreboot=off)", instead: "kept on the command line (libvirt 9.1 writes <watchdog model='itco'/>)" }, g.span);
    r.unclaim(g);
  }
  if (!d.watchdogs.length) return;
  const o = r.takeLast('-watchdog-action');
  if (!o) return;
  const action = optText(o).trim();
  // 'dump' is libvirt's own action, never QEMU's
  if (!(WATCHDOG_ACTIONS as readonly string[]).includes(action) || action === 'dump') {
    r.unclaim(o);
    return;
  }
  d.watchdogs = d.watchdogs.map((w) => ({ ...w, action: action as WatchdogAction }));
}

// --- panic -----------------------------------------------------------------------------------

export function readPanicXml(e: XmlElement): Panic {
  const model = enumAttr(e, 'model', PANIC_MODELS);
  return { ...(model ? { model } : {}), ...common(e), $span: e.span };
}

export function writePanicXml(p: Panic): XmlElement {
  return el('panic', { model: p.model }, p.extra, ...writeCommon(p));
}

/** The model libvirt gives a <panic> without one (qemuDomainDefaultPanicModel). */
export function panicModel(dom: Domain, p: Panic): PanicModel {
  if (p.model) return p.model;
  const arch = dom.os.arch ?? 'x86_64';
  if (arch.startsWith('ppc64')) return 'pseries';
  if (arch.startsWith('s390')) return 's390';
  return 'isa';
}

export function buildPanics(ctx: EmitContext): void {
  for (const p of ctx.dom.devices.panics) {
    const model = panicModel(ctx.dom, p);
    warnExtra(ctx, p, `panic ${model}`);
    if ((model === 'isa' || model === 'pvpanic') && !has(ctx.caps, 'device')) {
      ctx.diag.warn('UnsupportedForTarget', { what: `<panic model='${model}'>`, target: 'QEMU without -device' }, p.$span);
      continue;
    }
    switch (model) {
      case 'isa':
        // NB: pvpanic calls its I/O port 'ioport', not iobase, so it has no generic ISA address
        ctx.out.object('-device', props({ driver: 'pvpanic', ioport: p.address?.type === 'isa' ? p.address.iobase : undefined }));
        break;
      case 'pvpanic':
        ctx.out.object('-device', props({ driver: 'pvpanic-pci', ...pciPlacementWithAcpi(ctx.dom, p) }));
        break;
      default:
        // hyperv: CPU flag hv-crash (cpu.ts); pseries and s390: built into the machine
        break;
    }
  }
}

export function readPanicsArgv(r: ArgvReader): void {
  const d = r.draft.devices;
  for (const dev of r.devices((drv) => drv === 'pvpanic' || drv === 'pvpanic-pci')) {
    r.claim(dev.opt);
    if (dev.driver === 'pvpanic-pci') {
      d.panics.push({ model: 'pvpanic', ...pciAddress(dev), extra: [], $span: dev.opt.span });
      continue;
    }
    const iobase = propNum(dev.props, 'ioport');
    d.panics.push({ model: 'isa', ...(iobase !== undefined ? { address: { type: 'isa', iobase } } : {}), extra: [], $span: dev.opt.span });
  }
}

// --- iommu -----------------------------------------------------------------------------------

export function readIommuXml(e: XmlElement): Iommu {
  const drv = child(e, 'driver');
  const driver = drv && {
    ...opt('intremap', boolAttr(drv, 'intremap')),
    ...opt('cachingMode', boolAttr(drv, 'caching_mode')),
    ...opt('eim', boolAttr(drv, 'eim')),
    ...opt('iotlb', boolAttr(drv, 'iotlb')),
    ...opt('awBits', intAttr(drv, 'aw_bits')),
  };
  return {
    model: checkEnum(e, 'iommu model', reqAttr(e, 'model'), IOMMU_MODELS),
    ...(driver ? { driver } : {}),
    ...common(e, ['driver']),
    $span: e.span,
  };
}

export function writeIommuXml(i: Iommu): XmlElement {
  const d = i.driver;
  return el(
    'iommu',
    { model: i.model },
    d && el('driver', { intremap: onOff(d.intremap), caching_mode: onOff(d.cachingMode), eim: onOff(d.eim), iotlb: onOff(d.iotlb), aw_bits: d.awBits }),
    i.extra,
    ...writeCommon(i),
  );
}

export function buildIommu(ctx: EmitContext): void {
  const i = ctx.dom.devices.iommu;
  if (!i) return;
  if (!has(ctx.caps, 'device')) {
    ctx.diag.warn('UnsupportedForTarget', { what: `<iommu model='${i.model}'>`, target: 'QEMU without -device' }, i.$span);
    return;
  }
  const id = i.alias ?? 'iommu0';
  warnExtra(ctx, i, `iommu ${i.model}`);
  const x86 = ['i686', 'x86_64'].includes(ctx.dom.os.arch ?? ctx.caps.arch);
  switch (i.model) {
    case 'intel': {
      const d = i.driver;
      // libvirt's checks (qemuValidateDomainDeviceDefIOMMU)
      if (!isQ35(ctx.dom.os.machine)) return fail('UnsupportedDevice', { what: "IOMMU model 'intel' outside a q35 machine" }, i.$span);
      if (d?.intremap && featureElement(ctx.dom.features, 'ioapic')?.attrs.driver !== 'qemu') {
        return fail('UnsupportedDevice', { what: "IOMMU interrupt remapping without a split I/O APIC (<ioapic driver='qemu'/>)" }, i.$span);
      }
      if (d?.eim && !d.intremap) return fail('UnsupportedDevice', { what: "IOMMU eim without intremap='on'" }, i.$span);
      // NB: intremap and eim are on/off/auto properties (strings); the others are booleans
      ctx.out.object('-device', props({
        driver: 'intel-iommu', id, intremap: onOff(d?.intremap), 'caching-mode': d?.cachingMode, eim: onOff(d?.eim), 'device-iotlb': d?.iotlb, 'aw-bits': d?.awBits,
      }));
      break;
    }
    case 'virtio':
      if (x86 && !hasFeature(ctx.dom.features, 'acpi')) return fail('UnsupportedDevice', { what: "IOMMU model 'virtio' without ACPI" }, i.$span);
      ctx.out.object('-device', props({ driver: 'virtio-iommu', id, ...pciPlacementWithAcpi(ctx.dom, i) }));
      break;
    case 'smmuv3':
      // NB: an Arm virt machine property, printed with -machine (buildMachine): no device here
      if (!isArmVirt(ctx.dom.os.arch ?? ctx.caps.arch, ctx.dom.os.machine)) return fail('UnsupportedDevice', { what: "IOMMU model 'smmuv3' outside an Arm virt machine" }, i.$span);
      if (!has(ctx.caps, 'machine.virt-iommu')) return fail('UnsupportedDevice', { what: `IOMMU model 'smmuv3' with QEMU ${ctx.caps.version.join('.')} (its virt machine has it since 3.0)` }, i.$span);
      break;
  }
}

export function readIommuArgv(r: ArgvReader): void {
  const d = r.draft.devices;
  for (const dev of r.devices((drv) => drv === 'intel-iommu' || drv === 'virtio-iommu' || drv === 'virtio-iommu-pci')) {
    r.claim(dev.opt);
    const p = dev.props;
    if (dev.driver !== 'intel-iommu') {
      d.iommu = { model: 'virtio', ...userAlias(dev, /^iommu0$/), ...pciAddress(dev), extra: [], $span: dev.opt.span };
      continue;
    }
    const driver = {
      ...opt('intremap', propBool(p, 'intremap')),
      ...opt('cachingMode', propBool(p, 'caching-mode')),
      ...opt('eim', propBool(p, 'eim')),
      ...opt('iotlb', propBool(p, 'device-iotlb')),
      ...opt('awBits', propNum(p, 'aw-bits')),
    };
    d.iommu = { model: 'intel', ...(Object.keys(driver).length ? { driver } : {}), ...userAlias(dev, /^iommu0$/), extra: [], $span: dev.opt.span };
  }
}

// --- shared argv helpers ---------------------------------------------------------------------

function opt<K extends string, V>(key: K, v: V | undefined): Partial<Record<K, V>> {
  return v === undefined ? {} : ({ [key]: v } as Record<K, V>);
}

/** An id= that is not the one libvirt would assign is a user alias (ua-…) worth keeping. */
function userAlias(dev: DeviceOption, generated: RegExp): { alias?: string } {
  const id = propStr(dev.props, 'id');
  return id && !generated.test(id) ? { alias: id } : {};
}

/** bus=pci.N|pcie.0,addr=S.F of a -device, as a PCI address. */
function pciAddress(dev: DeviceOption): { address?: Address; acpiIndex?: number } {
  const address = pciAddressFromProps(dev.props);
  return address ? { address, ...acpiIndexFromProps(dev.props) } : {};
}
