// <input>: mouse/keyboard/tablet on ps2/usb/virtio. argv: -device usb-tablet/usb-mouse/usb-kbd,
// virtio-*-pci; legacy -usbdevice tablet|mouse|keyboard. ps2 devices are built into x86 machines.
import type { ArgvReader } from '../ir/argv-reader.js';
import { optText } from '../ir/argv-reader.js';
import type { Input } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import { props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { child, el, type XmlElement } from '../xml/tree.js';
import { checkEnum, enumAttr, reqAttr } from '../xml/values.js';
import { pciAddrText, pciBusName, readAddressXml, writeAddressXml } from './address.js';

const TYPES = ['mouse', 'keyboard', 'tablet', 'passthrough', 'evdev'] as const;
const BUSES = ['ps2', 'usb', 'virtio', 'xen', 'none'] as const;
const KNOWN = new Set(['address', 'alias']);

export function readInputXml(e: XmlElement): Input {
  const type = checkEnum(e, 'input type', reqAttr(e, 'type'), TYPES);
  const address = child(e, 'address');
  const alias = child(e, 'alias');
  const bus = enumAttr(e, 'bus', BUSES) ?? (type === 'tablet' ? 'usb' : 'ps2');
  return {
    type,
    bus,
    ...(alias?.attrs.name ? { alias: alias.attrs.name } : {}),
    ...(address ? { address: readAddressXml(address) } : {}),
    extra: e.children.filter((c) => !KNOWN.has(c.name)),
    $span: e.span,
  };
}

export function writeInputXml(i: Input): XmlElement {
  return el('input', { type: i.type, bus: i.bus }, i.extra, i.alias !== undefined && el('alias', { name: i.alias }), writeAddressXml(i.address));
}

const USB_DRIVER: Partial<Record<Input['type'], string>> = { mouse: 'usb-mouse', tablet: 'usb-tablet', keyboard: 'usb-kbd' };
const VIRTIO_DRIVER: Partial<Record<Input['type'], string>> = { mouse: 'virtio-mouse-pci', tablet: 'virtio-tablet-pci', keyboard: 'virtio-keyboard-pci' };

export function buildInputs(ctx: EmitContext): void {
  ctx.dom.devices.inputs.forEach((i, n) => {
    if (i.bus === 'ps2' || i.bus === 'none' || i.bus === 'xen') return;
    const id = i.alias ?? `input${n}`;
    if (!has(ctx.caps, 'device')) {
      if (i.bus === 'usb') ctx.out.raw('-usbdevice', i.type === 'keyboard' ? 'keyboard' : i.type);
      return;
    }
    if (i.bus === 'usb') {
      const a = i.address?.type === 'usb' ? i.address : undefined;
      ctx.out.object('-device', props({ driver: USB_DRIVER[i.type] ?? 'usb-tablet', id, bus: a ? `usb.${a.bus}` : 'usb.0', port: a?.port ?? String(n + 1) }));
    } else if (i.bus === 'virtio') {
      const a = i.address?.type === 'pci' ? i.address : undefined;
      ctx.out.object('-device', props({ driver: VIRTIO_DRIVER[i.type] ?? 'virtio-tablet-pci', id, ...(a ? { bus: pciBusName(a.bus), addr: pciAddrText(a) } : {}) }));
    }
  });
}

export function readInputsArgv(r: ArgvReader): void {
  const inputs = r.draft.devices.inputs;
  for (const o of r.take('-usbdevice')) {
    const v = optText(o);
    if (v === 'tablet' || v === 'mouse' || v === 'keyboard') inputs.push({ type: v, bus: 'usb', extra: [], $span: o.span });
    else r.unclaim(o);
  }
  const byDriver: Record<string, [Input['type'], Input['bus']]> = {
    'usb-tablet': ['tablet', 'usb'], 'usb-mouse': ['mouse', 'usb'], 'usb-kbd': ['keyboard', 'usb'],
    'virtio-tablet-pci': ['tablet', 'virtio'], 'virtio-mouse-pci': ['mouse', 'virtio'], 'virtio-keyboard-pci': ['keyboard', 'virtio'],
  };
  for (const dev of r.devices((drv) => drv in byDriver)) {
    r.claim(dev.opt);
    const [type, bus] = byDriver[dev.driver]!;
    inputs.push({ type, bus, extra: [], $span: dev.opt.span });
  }
}
