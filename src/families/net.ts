// <interface>: user/network/bridge/ethernet/… NICs. argv: -netdev + -device (modern),
// -net nic + -net user|tap (legacy), -net none when a legacy guest has no NIC.
import type { ArgvReader } from '../ir/argv-reader.js';
import type { NetInterface, NetType } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import type { EmitContext } from '../emit/context.js';
import { child, el, type XmlElement } from '../xml/tree.js';
import { checkEnum, intAttr, reqAttr } from '../xml/values.js';
import { readAddressXml, writeAddressXml } from './address.js';
import type { Bootable } from './boot-order.js';

const TYPES = ['user', 'network', 'bridge', 'ethernet', 'direct', 'vhostuser', 'server', 'client', 'mcast', 'udp', 'hostdev', 'vdpa', 'null', 'vds'] as const;
const KNOWN = new Set(['mac', 'source', 'target', 'model', 'boot', 'alias', 'address']);

export function readInterfaceXml(e: XmlElement): NetInterface {
  const type: NetType = checkEnum(e, 'interface type', reqAttr(e, 'type'), TYPES);
  const mac = child(e, 'mac');
  const source = child(e, 'source');
  const target = child(e, 'target');
  const model = child(e, 'model');
  const boot = child(e, 'boot');
  const alias = child(e, 'alias');
  const address = child(e, 'address');
  return {
    type,
    ...(mac?.attrs.address ? { mac: mac.attrs.address.toLowerCase() } : {}),
    ...(source ? { source: { ...source.attrs } } : {}),
    ...(target?.attrs.dev ? { targetDev: target.attrs.dev } : {}),
    ...(model?.attrs.type ? { model: model.attrs.type } : {}),
    ...(boot ? { bootOrder: intAttr(boot, 'order') } : {}),
    ...(alias?.attrs.name ? { alias: alias.attrs.name } : {}),
    ...(address ? { address: readAddressXml(address) } : {}),
    extra: e.children.filter((c) => !KNOWN.has(c.name)),
    $span: e.span,
  };
}

export function writeInterfaceXml(n: NetInterface): XmlElement {
  return el(
    'interface',
    { type: n.type },
    n.mac !== undefined && el('mac', { address: n.mac }),
    n.source && el('source', n.source),
    n.targetDev !== undefined && el('target', { dev: n.targetDev }),
    n.model !== undefined && el('model', { type: n.model }),
    n.bootOrder !== undefined && el('boot', { order: n.bootOrder }),
    n.extra,
    n.alias !== undefined && el('alias', { name: n.alias }),
    writeAddressXml(n.address),
  );
}

export function buildNetworks(ctx: EmitContext, _boot: ReadonlyMap<Bootable, number>): void {
  const nics = ctx.dom.devices.interfaces;
  // NB: without -nodefaults QEMU adds a NIC of its own; "-net none" stops it.
  if (!nics.length && !has(ctx.caps, 'nodefaults')) ctx.out.raw('-net', 'none');
}

export function readNetworksArgv(r: ArgvReader): void {
  for (const o of r.take('-net')) {
    if (o.value.kind === 'props' && o.value.props.type === 'none') continue;
    r.unclaim(o);
  }
}
