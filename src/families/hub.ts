// <hub type='usb'>: a USB hub with 8 ports. Emitted with the hubs libvirt adds itself (see
// usbPlan / buildUsbHubs in input.ts); argv: -device usb-hub,id=hubN,bus=,port=.
import type { ArgvReader } from '../ir/argv-reader.js';
import type { Hub } from '../ir/domain.js';
import { propStr } from '../qemu/props.js';
import { child, el, type XmlElement } from '../xml/tree.js';
import { checkEnum } from '../xml/values.js';
import { readAddressXml, writeAddressXml } from './address.js';
import { usbAddressFromProps } from './usb-address.js';

export function readHubXml(e: XmlElement): Hub {
  const alias = child(e, 'alias');
  const address = child(e, 'address');
  return {
    type: checkEnum(e, 'hub type', e.attrs.type ?? '', ['usb'] as const),
    ...(alias?.attrs.name ? { alias: alias.attrs.name } : {}),
    ...(address ? { address: readAddressXml(address) } : {}),
    extra: e.children.filter((c) => c.name !== 'alias' && c.name !== 'address'),
    $span: e.span,
  };
}

export function writeHubXml(h: Hub): XmlElement {
  return el('hub', { type: h.type }, h.extra, h.alias !== undefined && el('alias', { name: h.alias }), writeAddressXml(h.address));
}

export function readHubsArgv(r: ArgvReader): void {
  const d = r.draft.devices;
  for (const dev of r.devices((drv) => drv === 'usb-hub')) {
    r.claim(dev.opt);
    const id = propStr(dev.props, 'id');
    const address = usbAddressFromProps(r, dev.props);
    d.hubs.push({ type: 'usb', ...(id?.startsWith('ua-') ? { alias: id } : {}), ...(address ? { address } : {}), extra: [], $span: dev.opt.span });
  }
}
