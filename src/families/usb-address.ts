// USB placement of a -device: bus=<controller alias>.0,port=N (IR address <-> argv), shared by the
// families with USB devices (hostdev, redirdev, ccid controllers).
import { optProps, type ArgvReader } from '../ir/argv-reader.js';
import type { Span } from '../errors.js';
import type { Address, Domain } from '../ir/domain.js';
import { propStr, type Props } from '../qemu/props.js';
import { usbBusName, usbPortOf } from './input.js';

/** bus=/port= for a USB device: its own <address type='usb'>, else the port libvirt assigns it. */
export function usbPlacement(dom: Domain, dev: object & { address?: Address }): { bus?: string; port?: string } {
  const a = dev.address?.type === 'usb' && dev.address.port ? { bus: dev.address.bus, port: dev.address.port } : usbPortOf(dom, dev);
  return a ? { bus: usbBusName(dom, a.bus), port: a.port } : {};
}

/** The <address type='usb'> a -device's bus=/port= names: the USB controller read from the
 * -device with that id (whatever the alias), else libvirt's own names usb, usb1… */
export function usbAddressFromProps(r: ArgvReader, p: Props, span?: Span): Address | undefined {
  const busProp = propStr(p, 'bus');
  if (busProp === undefined) return undefined;
  const bus = /^(.+)\.0$/.exec(busProp)?.[1];
  const opt = bus === undefined ? undefined : r.cmd.options.find((o) => o.name === '-device' && propStr(optProps(o), 'id') === bus);
  const ctl = opt && r.draft.devices.controllers.find((c) => c.type === 'usb' && c.$span === opt.span);
  const numbered = bus === undefined ? null : /^usb(\d*)$/.exec(bus);
  const index = ctl?.index ?? (numbered ? Number(numbered[1] || 0) : undefined);
  if (index === undefined) {
    // NB: a bus no USB controller of the command line provides (one from -readconfig, say) is dropped, said so
    r.diag.warn('IgnoredProperty', { option: '-device', property: `bus=${busProp}` }, span);
    return undefined;
  }
  const port = propStr(p, 'port');
  return { type: 'usb', bus: index, ...(port !== undefined ? { port } : {}) };
}
