// <memballoon>: the virtio balloon. argv: -device virtio-balloon-pci; legacy -balloon virtio.
import type { ArgvReader } from '../ir/argv-reader.js';
import type { Memballoon } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import { propBool, props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { child, el, type XmlElement } from '../xml/tree.js';
import { boolAttr, checkEnum, intAttr, reqAttr } from '../xml/values.js';
import { acpiIndexFromProps, pciAddressFromProps, pciPlacementWithAcpi, readAcpiIndexXml, readAddressXml, readVirtioDriverXml, writeAcpiXml, virtioOptionsFromProps, virtioTransportProps, writeAddressXml, writeVirtioDriverXml } from './address.js';

const MODELS = ['virtio', 'virtio-transitional', 'virtio-non-transitional', 'xen', 'none'] as const;
const KNOWN = new Set(['address', 'alias', 'acpi', 'stats', 'driver']);

export function readMemballoonXml(e: XmlElement): Memballoon {
  const address = child(e, 'address');
  const stats = child(e, 'stats');
  const alias = child(e, 'alias');
  return {
    model: checkEnum(e, 'memballoon model', reqAttr(e, 'model'), MODELS),
    ...(e.attrs.autodeflate !== undefined ? { autodeflate: boolAttr(e, 'autodeflate') } : {}),
    ...(e.attrs.freePageReporting !== undefined ? { freePageReporting: boolAttr(e, 'freePageReporting') } : {}),
    ...(stats ? { statsPeriod: intAttr(stats, 'period') } : {}),
    ...readVirtioDriverXml(child(e, 'driver')),
    ...(alias?.attrs.name ? { alias: alias.attrs.name } : {}),
    ...readAcpiIndexXml(e),
    ...(address ? { address: readAddressXml(address) } : {}),
    extra: e.children.filter((c) => !KNOWN.has(c.name)),
    $span: e.span,
  };
}

export function writeMemballoonXml(m: Memballoon): XmlElement {
  const onOff = (b: boolean | undefined) => (b === undefined ? undefined : b ? 'on' : 'off');
  return el(
    'memballoon',
    { model: m.model, autodeflate: onOff(m.autodeflate), freePageReporting: onOff(m.freePageReporting) },
    m.statsPeriod !== undefined && el('stats', { period: m.statsPeriod }),
    writeVirtioDriverXml(m.driver),
    m.extra,
    m.alias !== undefined && el('alias', { name: m.alias }),
    writeAcpiXml(m.acpiIndex),
    writeAddressXml(m.address),
  );
}

export function buildMemballoon(ctx: EmitContext): void {
  const m = ctx.dom.devices.memballoon;
  if (!m || m.model === 'none' || m.model === 'xen') return;
  if (!has(ctx.caps, 'device')) {
    if (m.acpiIndex !== undefined) ctx.diag.warn('UnsupportedForTarget', { what: '<acpi index> of <memballoon>', target: 'QEMU without -device' }, m.$span);
    return;
  }
  for (const e of m.extra) ctx.diag.warn('XmlUnsupportedElement', { element: e.name, detail: 'of memballoon' }, e.span);
  const suffix = m.model === 'virtio' ? '' : m.model.slice('virtio'.length);
  ctx.out.object('-device', props({
    driver: `virtio-balloon-pci${suffix}`,
    ...virtioTransportProps(m.driver),
    id: m.alias ?? 'balloon0',
    'deflate-on-oom': m.autodeflate,
    'free-page-reporting': m.freePageReporting,
    ...pciPlacementWithAcpi(ctx.dom, m),
  }));
}

export function readMemballoonArgv(r: ArgvReader): void {
  const d = r.draft.devices;
  for (const o of r.take('-balloon')) {
    const v = o.value.kind === 'raw' ? o.value.text : '';
    d.memballoon = { model: v.startsWith('none') ? 'none' : 'virtio', extra: [], $span: o.span };
  }
  for (const dev of r.devices((drv) => /^virtio-balloon(-pci|-ccw|-device)?(-transitional|-non-transitional)?$/.test(drv))) {
    r.claim(dev.opt);
    const address = pciAddressFromProps(dev.props);
    const deflate = propBool(dev.props, 'deflate-on-oom');
    const fpr = propBool(dev.props, 'free-page-reporting');
    const model = dev.driver.endsWith('-non-transitional') ? 'virtio-non-transitional' : dev.driver.endsWith('-transitional') ? 'virtio-transitional' : 'virtio';
    const driver = virtioOptionsFromProps(dev.props);
    d.memballoon = {
      model,
      ...(Object.keys(driver).length ? { driver } : {}),
      ...(deflate !== undefined ? { autodeflate: deflate } : {}),
      ...(fpr !== undefined ? { freePageReporting: fpr } : {}),
      ...acpiIndexFromProps(dev.props),
      ...(address ? { address } : {}),
      extra: [],
      $span: dev.opt.span,
    };
  }
}
