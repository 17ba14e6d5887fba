// <vsock>: a virtio socket to the host. argv: -device vhost-vsock-pci,guest-cid=N,vhostfd=FD.
import type { ArgvReader } from '../ir/argv-reader.js';
import type { Vsock } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import { propNum, propStr, props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { child, el, type XmlElement } from '../xml/tree.js';
import { boolAttr, enumAttr, intAttr, yesNo } from '../xml/values.js';
import {
  acpiIndexFromProps, pciAddressFromProps, pciPlacementWithAcpi, readAcpiIndexXml, readAddressXml, readVirtioOptionsXml, virtioModelOf, virtioModelProps, virtioOptionsAttrs, writeAcpiXml,
  virtioOptionsFromProps, virtioTransportProps, writeAddressXml,
} from './address.js';
import { passedFd } from './chardev.js';

const MODELS = ['virtio', 'virtio-transitional', 'virtio-non-transitional'] as const;
const KNOWN = new Set(['cid', 'driver', 'alias', 'acpi', 'address']);
/** The lowest CID a guest may have (0-2 are the hypervisor, reserved and the host). */
const FIRST_GUEST_CID = 3;

// --- XML -----------------------------------------------------------------------------------

export function readVsockXml(e: XmlElement): Vsock {
  const cid = child(e, 'cid');
  const driver = readVirtioOptionsXml(child(e, 'driver'));
  const alias = child(e, 'alias');
  const address = child(e, 'address');
  const auto = cid && boolAttr(cid, 'auto');
  const n = cid && intAttr(cid, 'address');
  const model = enumAttr(e, 'model', MODELS);
  return {
    ...(model !== undefined ? { model } : {}),
    ...(auto !== undefined ? { autoCid: auto } : {}),
    ...(n !== undefined ? { cid: n } : {}),
    ...(Object.keys(driver).length ? { driver } : {}),
    ...(alias?.attrs.name ? { alias: alias.attrs.name } : {}),
    ...readAcpiIndexXml(e),
    ...(address ? { address: readAddressXml(address) } : {}),
    extra: e.children.filter((c) => !KNOWN.has(c.name)),
    $span: e.span,
  };
}

/** NB: libvirt's order: cid, alias, acpi, address, then driver (virDomainVsockDefFormat). */
export function writeVsockXml(v: Vsock): XmlElement {
  const driver = virtioOptionsAttrs(v.driver);
  return el(
    'vsock',
    { model: v.model },
    (v.autoCid !== undefined || v.cid !== undefined) && el('cid', { auto: yesNo(v.autoCid), address: v.cid }),
    v.extra,
    v.alias !== undefined && el('alias', { name: v.alias }),
    writeAcpiXml(v.acpiIndex),
    writeAddressXml(v.address),
    Object.values(driver).some((x) => x !== undefined) && el('driver', driver),
  );
}

// --- IR -> argv ------------------------------------------------------------------------------

/**
 * The guest CID: the configured one, or for <cid auto='yes'> the one libvirt acquires when the
 * domain starts (the first free from 3 up). NB: libvirt's own domxml-to-native has none yet and
 * prints 0; a runnable command line needs a real one.
 */
function guestCid(ctx: EmitContext, v: Vsock): number {
  if (v.cid !== undefined) return v.cid;
  if (!ctx.runnable) return 0;
  ctx.diag.warn('RunnableSubstitute', { what: "<cid auto='yes'>", instead: `guest-cid=${FIRST_GUEST_CID}, the first CID libvirt would try` }, v.$span);
  return FIRST_GUEST_CID;
}

export function buildVsock(ctx: EmitContext): void {
  const v = ctx.dom.devices.vsock;
  if (!v) return;
  if (!has(ctx.caps, 'device')) return ctx.diag.warn('UnsupportedForTarget', { what: '<vsock>', target: 'QEMU without -device' }, v.$span);
  for (const e of v.extra) ctx.diag.warn('XmlUnsupportedElement', { element: e.name, detail: 'of vsock' }, e.span);
  ctx.out.object('-device', props({
    ...virtioModelProps(ctx, 'vhost-vsock-pci', v.model),
    ...virtioTransportProps(v.driver),
    id: v.alias ?? 'vsock0',
    'guest-cid': guestCid(ctx, v),
    // NB: libvirt opens /dev/vhost-vsock itself and passes the descriptor; QEMU opens it otherwise
    vhostfd: ctx.runnable ? undefined : String(passedFd(ctx)),
    ...pciPlacementWithAcpi(ctx.dom, v),
  }));
}

// --- argv -> IR ------------------------------------------------------------------------------

const DEVICE = /^vhost-vsock-pci(-transitional|-non-transitional)?$/;

export function readVsockArgv(r: ArgvReader): void {
  for (const dev of r.devices((drv) => DEVICE.test(drv))) {
    r.claim(dev.opt);
    const cid = propNum(dev.props, 'guest-cid');
    // NB: a vhostfd is /dev/vhost-vsock, which libvirt opens itself: nothing of the XML is lost
    r.settle(dev.opt, 'vhostfd');
    const address = pciAddressFromProps(dev.props, { multifunction: true });
    const driver = virtioOptionsFromProps(dev.props);
    const id = propStr(dev.props, 'id');
    r.draft.devices.vsock = {
      model: virtioModelOf(dev.driver, dev.props).model ?? 'virtio',
      // NB: CID 0 is what libvirt prints before it has acquired an automatic one
      ...(cid === undefined || cid === 0 ? { autoCid: true } : { autoCid: false, cid }),
      ...(Object.keys(driver).length ? { driver } : {}),
      ...(id?.startsWith('ua-') ? { alias: id } : {}),
      ...(address ? { address, ...acpiIndexFromProps(dev.props) } : {}),
      extra: [],
      $span: dev.opt.span,
    };
  }
}
