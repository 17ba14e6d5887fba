// <interface>: user/network/bridge/ethernet/direct/vhostuser/socket NICs. argv: -netdev + -device
// (modern), -net nic + -net user|tap|socket (legacy, paired by vlan), -nic, -net none.
import type { ArgvReader, DeviceOption } from '../ir/argv-reader.js';
import { optProps } from '../ir/argv-reader.js';
import type { Address, Domain, Draft, NetDriver, NetInterface, NetSource, NetType } from '../ir/domain.js';
import type { ParsedOption } from '../lexer/argv-parser.js';
import { fail } from '../errors.js';
import { has } from '../qemu/caps.js';
import { propBool, propNum, propObj, propStr, props, splitQemuOpts, type Props, type PropValue } from '../qemu/props.js';
import { domainShortName, type EmitContext } from '../emit/context.js';
import { child, children, el, type XmlElement } from '../xml/tree.js';
import { boolAttr, checkEnum, enumAttr, intAttr, onOff, reqAttr, yesNo } from '../xml/values.js';
import { pciAddressFromProps, pciPlacement, readAddressXml, virtioTransportProps, writeAddressXml } from './address.js';
import type { Bootable } from './boot-order.js';
import { usbBusName } from './input.js';

const TYPES = ['user', 'network', 'bridge', 'ethernet', 'direct', 'vhostuser', 'server', 'client', 'mcast', 'udp', 'hostdev', 'vdpa', 'null', 'vds'] as const;

/** NB: libvirt's order of <interface> children (virDomainNetDefFormat); unknown ones keep their place after <coalesce>. */
const CHILD_ORDER = [
  'mac', 'source', 'vlan', 'virtualport', 'bandwidth', 'ip', 'route', 'portForward', 'script', 'downscript',
  'backenddomain', 'target', 'guest', 'model', 'driver', 'backend', 'filterref', 'tune', 'teaming', 'link',
  'mtu', 'coalesce', 'boot', 'alias', 'rom', 'acpi', 'address',
];
const MODELLED = new Set(['mac', 'source', 'ip', 'script', 'downscript', 'target', 'model', 'driver', 'backend', 'tune', 'link', 'mtu', 'boot', 'alias', 'rom', 'acpi', 'address']);

/** <host>/<guest> offload attributes in libvirt's order, with the -device property each sets. */
const HOST_OFFLOADS: ReadonlyArray<readonly [string, string]> = [
  ['csum', 'csum'], ['gso', 'gso'], ['tso4', 'host_tso4'], ['tso6', 'host_tso6'], ['ecn', 'host_ecn'], ['ufo', 'host_ufo'], ['mrg_rxbuf', 'mrg_rxbuf'],
];
const GUEST_OFFLOADS: ReadonlyArray<readonly [string, string]> = [
  ['csum', 'guest_csum'], ['tso4', 'guest_tso4'], ['tso6', 'guest_tso6'], ['ecn', 'guest_ecn'], ['ufo', 'guest_ufo'],
];

// --- XML -> IR ---------------------------------------------------------------------------------

export function readInterfaceXml(e: XmlElement): NetInterface {
  const type: NetType = checkEnum(e, 'interface type', reqAttr(e, 'type'), TYPES);
  const mac = child(e, 'mac');
  const source = child(e, 'source');
  const target = child(e, 'target');
  const model = child(e, 'model');
  const driver = child(e, 'driver');
  const backend = child(e, 'backend');
  const sndbuf = child(e, 'tune') && child(child(e, 'tune')!, 'sndbuf');
  const link = child(e, 'link');
  const mtu = child(e, 'mtu');
  const boot = child(e, 'boot');
  const alias = child(e, 'alias');
  const rom = child(e, 'rom');
  const acpi = child(e, 'acpi');
  const address = child(e, 'address');
  const ips = children(e, 'ip').map((ip) => ({
    address: reqAttr(ip, 'address'),
    ...(ip.attrs.family ? { family: enumAttr(ip, 'family', ['ipv4', 'ipv6'] as const) } : {}),
    ...(ip.attrs.prefix !== undefined ? { prefix: intAttr(ip, 'prefix') } : {}),
  }));
  return {
    type,
    ...(mac?.attrs.address ? { mac: mac.attrs.address.toLowerCase() } : {}),
    ...(mac?.attrs.type ? { macType: enumAttr(mac, 'type', ['generated', 'static'] as const) } : {}),
    ...(mac?.attrs.check ? { macCheck: boolAttr(mac, 'check') } : {}),
    ...(e.attrs.trustGuestRxFilters ? { trustGuestRxFilters: boolAttr(e, 'trustGuestRxFilters') } : {}),
    ...(source && (type !== 'user' || backend?.attrs.type === 'passt') ? { source: readSourceXml(type, source) } : {}),
    ips,
    ...(child(e, 'script')?.attrs.path ? { script: child(e, 'script')!.attrs.path } : {}),
    ...(child(e, 'downscript')?.attrs.path ? { downscript: child(e, 'downscript')!.attrs.path } : {}),
    ...(target?.attrs.dev && !generatedTapName(type, target) ? { targetDev: target.attrs.dev } : {}),
    ...(target?.attrs.managed ? { targetManaged: boolAttr(target, 'managed') } : {}),
    ...(model?.attrs.type ? { model: model.attrs.type } : {}),
    ...(driver ? { driver: readDriverXml(driver) } : {}),
    ...(backend
      ? {
          backend: {
            ...(backend.attrs.type ? { type: enumAttr(backend, 'type', ['default', 'passt'] as const) } : {}),
            ...(backend.attrs.tap ? { tap: backend.attrs.tap } : {}),
            ...(backend.attrs.vhost ? { vhost: backend.attrs.vhost } : {}),
            ...(backend.attrs.logFile ? { logFile: backend.attrs.logFile } : {}),
          },
        }
      : {}),
    ...(sndbuf ? { sndbuf: Number(sndbuf.text.trim()) } : {}),
    ...(link?.attrs.state ? { linkState: enumAttr(link, 'state', ['up', 'down'] as const) } : {}),
    ...(mtu?.attrs.size ? { mtu: intAttr(mtu, 'size') } : {}),
    ...(boot ? { bootOrder: intAttr(boot, 'order') } : {}),
    ...(boot?.attrs.loadparm !== undefined ? { bootLoadparm: boot.attrs.loadparm } : {}),
    ...(alias?.attrs.name ? { alias: alias.attrs.name } : {}),
    ...(rom
      ? {
          rom: {
            ...(rom.attrs.bar ? { bar: boolAttr(rom, 'bar') } : {}),
            ...(rom.attrs.file !== undefined ? { file: rom.attrs.file } : {}),
            ...(rom.attrs.enabled ? { enabled: boolAttr(rom, 'enabled') } : {}),
          },
        }
      : {}),
    ...(acpi?.attrs.index ? { acpiIndex: intAttr(acpi, 'index') } : {}),
    ...(address ? { address: readAddressXml(address) } : {}),
    extra: e.children.filter((c) => !MODELLED.has(c.name)),
    $span: e.span,
  };
}

/**
 * libvirt names the taps it creates vnetN/macvtapN/macvlanN and drops such names from a
 * definition (the next start picks a fresh one), except for a tap the user manages.
 */
function generatedTapName(type: NetType, target: XmlElement): boolean {
  if (type === 'ethernet' && target.attrs.managed === 'no') return false;
  return /^(vnet|macvtap|macvlan)/.test(target.attrs.dev ?? '');
}

function readSourceXml(type: NetType, s: XmlElement): NetSource {
  const a = s.attrs;
  // NB: only udp has a local end; libvirt ignores <local> on the other socket types
  const local = type === 'udp' ? child(s, 'local') : undefined;
  const reconnect = child(s, 'reconnect');
  return {
    ...(a.network !== undefined ? { network: a.network } : {}),
    ...(a.portgroup !== undefined ? { portgroup: a.portgroup } : {}),
    ...(a.bridge !== undefined ? { bridge: a.bridge } : {}),
    ...(a.type !== undefined ? { type: a.type } : {}),
    ...(a.path !== undefined ? { path: a.path } : {}),
    ...(a.dev !== undefined ? { dev: a.dev } : {}),
    ...(a.mode !== undefined ? { mode: a.mode } : {}),
    ...(a.address !== undefined ? { address: a.address } : {}),
    ...(a.port !== undefined ? { port: intAttr(s, 'port') } : {}),
    ...(local ? { local: { address: reqAttr(local, 'address'), port: intAttr(local, 'port') ?? 0 } } : {}),
    ...(reconnect ? { reconnect: { enabled: boolAttr(reconnect, 'enabled') ?? false, ...(reconnect.attrs.timeout ? { timeout: intAttr(reconnect, 'timeout') } : {}) } } : {}),
    extra: s.children.filter((c) => c.name !== 'local' && c.name !== 'reconnect'),
  };
}

function readDriverXml(d: XmlElement): NetDriver {
  const b = (name: string) => boolAttr(d, name);
  const offloads = (e: XmlElement | undefined, list: typeof HOST_OFFLOADS) => {
    if (!e) return undefined;
    const out: Record<string, boolean> = {};
    for (const [attr] of list) if (e.attrs[attr] !== undefined) out[attr] = boolAttr(e, attr)!;
    return out;
  };
  const host = offloads(child(d, 'host'), HOST_OFFLOADS);
  const guest = offloads(child(d, 'guest'), GUEST_OFFLOADS);
  const drv: Draft<NetDriver> = {};
  if (d.attrs.name) drv.name = enumAttr(d, 'name', ['qemu', 'vhost', 'kvm', 'vfio', 'xen'] as const);
  if (d.attrs.txmode) drv.txmode = enumAttr(d, 'txmode', ['iothread', 'timer'] as const);
  if (d.attrs.ioeventfd) drv.ioeventfd = b('ioeventfd');
  if (d.attrs.event_idx) drv.eventIdx = b('event_idx');
  if (d.attrs.queues) drv.queues = intAttr(d, 'queues');
  if (d.attrs.rx_queue_size) drv.rxQueueSize = intAttr(d, 'rx_queue_size');
  if (d.attrs.tx_queue_size) drv.txQueueSize = intAttr(d, 'tx_queue_size');
  if (d.attrs.rss) drv.rss = b('rss');
  if (d.attrs.rss_hash_report) drv.rssHashReport = b('rss_hash_report');
  if (d.attrs.iommu) drv.iommu = b('iommu');
  if (d.attrs.ats) drv.ats = b('ats');
  if (d.attrs.packed) drv.packed = b('packed');
  if (d.attrs.page_per_vq) drv.pagePerVq = b('page_per_vq');
  if (host) drv.host = host;
  if (guest) drv.guest = guest;
  return drv;
}

// --- IR -> XML ---------------------------------------------------------------------------------

export function writeInterfaceXml(n: NetInterface): XmlElement {
  const s = n.source;
  const d = n.driver;
  const kids: Array<XmlElement | undefined | false> = [
    n.mac !== undefined && el('mac', { address: n.mac, type: n.macType, check: yesNo(n.macCheck) }),
    s &&
      el(
        'source',
        {
          network: s.network, portgroup: s.portgroup, bridge: s.bridge, type: s.type, path: s.path, dev: s.dev,
          mode: s.mode, address: s.address, port: s.port,
        },
        s.local && el('local', { address: s.local.address, port: s.local.port }),
        s.reconnect && el('reconnect', { enabled: s.reconnect.enabled ? 'yes' : 'no', timeout: s.reconnect.timeout }),
        s.extra,
      ),
    ...n.ips.map((ip) => el('ip', { address: ip.address, family: ip.family, prefix: ip.prefix })),
    n.script !== undefined && el('script', { path: n.script }),
    n.downscript !== undefined && el('downscript', { path: n.downscript }),
    (n.targetDev !== undefined || n.targetManaged !== undefined) &&
      el('target', { dev: n.targetDev, managed: n.targetManaged === undefined ? undefined : n.targetManaged ? 'yes' : 'no' }),
    n.model !== undefined && el('model', { type: n.model }),
    d &&
      el(
        'driver',
        {
          name: d.name, txmode: d.txmode, ioeventfd: onOff(d.ioeventfd), event_idx: onOff(d.eventIdx), queues: d.queues,
          rx_queue_size: d.rxQueueSize, tx_queue_size: d.txQueueSize, rss: onOff(d.rss), rss_hash_report: onOff(d.rssHashReport),
          iommu: onOff(d.iommu), ats: onOff(d.ats), packed: onOff(d.packed), page_per_vq: onOff(d.pagePerVq),
        },
        d.host && el('host', Object.fromEntries(Object.entries(d.host).map(([k, v]) => [k, onOff(v)]))),
        d.guest && el('guest', Object.fromEntries(Object.entries(d.guest).map(([k, v]) => [k, onOff(v)]))),
      ),
    n.backend && el('backend', { type: n.backend.type, tap: n.backend.tap, vhost: n.backend.vhost, logFile: n.backend.logFile }),
    n.sndbuf !== undefined && el('tune', {}, el('sndbuf', {}, String(n.sndbuf))),
    n.linkState !== undefined && el('link', { state: n.linkState }),
    n.mtu !== undefined && el('mtu', { size: n.mtu }),
    n.bootOrder !== undefined && el('boot', { order: n.bootOrder, loadparm: n.bootLoadparm }),
    n.alias !== undefined && el('alias', { name: n.alias }),
    n.rom && el('rom', { enabled: n.rom.enabled === undefined ? undefined : n.rom.enabled ? 'yes' : 'no', bar: onOff(n.rom.bar), file: n.rom.file }),
    n.acpiIndex !== undefined && el('acpi', { index: n.acpiIndex }),
    writeAddressXml(n.address),
    ...n.extra,
  ];
  const rank = (name: string) => {
    const i = CHILD_ORDER.indexOf(name);
    return i < 0 ? CHILD_ORDER.indexOf('coalesce') + 0.5 : i;
  };
  const ordered = kids.filter((k): k is XmlElement => !!k).map((k, i) => ({ k, i })).sort((a, b) => rank(a.k.name) - rank(b.k.name) || a.i - b.i);
  return el('interface', { type: n.type, trustGuestRxFilters: yesNo(n.trustGuestRxFilters) }, ordered.map((x) => x.k));
}

// --- define-time defaults ------------------------------------------------------------------------

/**
 * libvirt's NIC defaults at define time: the model the arch/machine implies
 * (qemuDomainDefaultNetModel: rtl8139 on x86) and a MAC address in QEMU/KVM's 52:54:00 range.
 * NB: libvirt draws the MAC at random; here it is derived from the domain's UUID (or name) and
 * the NIC's position, so that the same XML always gives the same command line.
 */
export function interfacesWithDefaults(dom: Domain, arch: string, machine: string | undefined): NetInterface[] {
  const used = new Set(dom.devices.interfaces.map((n) => n.mac).filter((m): m is string => !!m));
  return dom.devices.interfaces.map((n, i) => {
    let out = n;
    if (out.model === undefined && out.type !== 'hostdev' && out.type !== 'vdpa') {
      const model = defaultNetModel(arch, machine);
      if (model) out = { ...out, model };
    }
    if (out.mac === undefined) {
      let mac: string;
      let salt = 0;
      do mac = generatedMac(`${dom.uuid ?? dom.name}/${i}/${salt++}`);
      while (used.has(mac));
      used.add(mac);
      out = { ...out, mac };
    }
    return out;
  });
}

function defaultNetModel(arch: string, machine: string | undefined): string | undefined {
  if (arch.startsWith('s390')) return 'virtio';
  if (arch === 'aarch64' || arch.startsWith('arm')) {
    if (machine === 'versatilepb') return 'smc91c111';
    return machine && /^virt/.test(machine) ? 'virtio' : 'lan9118';
  }
  if (arch.startsWith('ppc64') && machine && /^pseries/.test(machine)) return 'spapr-vlan';
  return 'rtl8139';
}

function generatedMac(seed: string): string {
  // FNV-1a: a stable spread of the seed over the three free bytes
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193) >>> 0;
  const b = [(h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff];
  return ['52', '54', '00', ...b.map((x) => x.toString(16).padStart(2, '0'))].join(':');
}

// --- IR -> argv --------------------------------------------------------------------------------

const VIRTIO_MODELS: Readonly<Record<string, string>> = {
  virtio: 'virtio-net-pci',
  'virtio-transitional': 'virtio-net-pci-transitional',
  'virtio-non-transitional': 'virtio-net-pci-non-transitional',
};
const isVirtio = (n: NetInterface) => n.model !== undefined && n.model in VIRTIO_MODELS;

/** libvirt's harness numbers pre-opened fds from these: tap fds 3, 4, …; vhost-net fds 44, 45, … */
const FIRST_TAP_FD = 3;
const FIRST_VHOST_FD = 44;

/**
 * Device aliases as libvirt assigns them: a user alias ("ua-…") is kept, every other NIC gets
 * netN with N one above the highest netN so far (qemuAssignDeviceNetAlias).
 */
function nicAliases(nics: readonly NetInterface[], legacy: boolean): string[] {
  let next = 0;
  return nics.map((n, i) => {
    if (n.alias?.startsWith('ua-')) return n.alias;
    // NB: libvirt 0.x numbered NICs by position instead
    const id = legacy ? i : next;
    next = Math.max(next, id) + 1;
    return `net${id}`;
  });
}

export function buildNetworks(ctx: EmitContext, boot: ReadonlyMap<Bootable, number>): void {
  const nics = ctx.dom.devices.interfaces;
  if (!has(ctx.caps, 'device')) {
    buildLegacyNetworks(ctx);
    return;
  }
  const aliases = nicAliases(nics, false);
  nics.forEach((n, i) => buildNic(ctx, n, aliases[i]!, boot.get(n)));
}

function buildNic(ctx: EmitContext, n: NetInterface, alias: string, bootindex: number | undefined): void {
  for (const e of n.extra) warnHostSide(ctx, e);
  if (n.linkState === 'down') {
    // NB: libvirt sets the link down over QMP (set_link) right after QEMU starts
    ctx.diag.warn('UnsupportedForTarget', { what: "<link state='down'>", target: 'the command line (libvirt sets it over QMP once QEMU runs)' }, n.$span);
  }
  const netdev = netdevProps(ctx, n, alias);
  if (!netdev) return;
  ctx.out.object('-netdev', { ...netdev, id: `host${alias}` });
  ctx.out.object('-device', nicDeviceProps(ctx.dom, n, alias, bootindex));
}

/** Elements libvirt applies on the host side (bandwidth, vlan, filters…) never reach QEMU's command line. */
function warnHostSide(ctx: EmitContext, e: XmlElement): void {
  ctx.diag.warn('XmlUnsupportedElement', { element: e.name, detail: 'in <interface> (set up by libvirt on the host, not on the command line)' }, e.span);
}

/** Whether libvirt opens /dev/vhost-net for this NIC: KVM guests with virtio models, unless <driver name='qemu'>. */
function usesVhost(ctx: EmitContext, n: NetInterface): boolean {
  if (!isVirtio(n) || n.driver?.name === 'qemu') return false;
  if (ctx.dom.type !== 'kvm') {
    if (n.driver?.name === 'vhost') {
      ctx.diag.warn('UnsupportedForTarget', { what: "<driver name='vhost'>", target: 'a guest without KVM (vhost-net needs KVM)' }, n.$span);
    }
    return false;
  }
  return true;
}

const fdList = (first: number, count: number) => Array.from({ length: count }, (_, i) => String(first + i)).join(':');

/** QEMU's most tap queues (MAX_TAP_QUEUES): a tap needs a descriptor for each. */
const MAX_QUEUES = 1024;

/** <driver queues>: 1 when absent; more than QEMU takes is refused at the interface. */
function netQueues(n: NetInterface): number {
  const q = n.driver?.queues;
  if (q !== undefined && !(Number.isSafeInteger(q) && q >= 1 && q <= MAX_QUEUES)) {
    return fail('XmlBadValue', { what: 'interface driver queues', value: String(q), expected: `1 to ${MAX_QUEUES} (QEMU's most tap queues)` }, n.$span);
  }
  return q && q > 1 ? q : 1;
}

function netdevProps(ctx: EmitContext, n: NetInterface, alias: string): Props | undefined {
  const s = n.source;
  const queues = netQueues(n);
  switch (n.type) {
    case 'network':
    case 'bridge':
    case 'direct':
    case 'ethernet': {
      if (n.script !== undefined && n.type !== 'ethernet') {
        ctx.diag.warn('UnsupportedForTarget', { what: `<script> on <interface type='${n.type}'>`, target: 'QEMU (libvirt allows scripts on type ethernet only)' }, n.$span);
      }
      const vhost = usesVhost(ctx, n);
      if (ctx.runnable) return runnableTap(ctx, n, vhost, queues);
      // NB: libvirt creates the tap (or macvtap) device itself and passes QEMU open fds
      return props({
        type: 'tap',
        ...(queues > 1 ? { fds: fdList(FIRST_TAP_FD, queues) } : { fd: String(FIRST_TAP_FD) }),
        vhost: vhost ? true : undefined,
        ...(vhost ? (queues > 1 ? { vhostfds: fdList(FIRST_VHOST_FD, queues) } : { vhostfd: String(FIRST_VHOST_FD) }) : {}),
        sndbuf: n.sndbuf,
      });
    }
    case 'user':
      if (n.backend?.type === 'passt') return passtProps(ctx, n, alias);
      return props({ type: 'user', ...userIpProps(n) });
    case 'vhostuser': {
      if (s?.type !== undefined && s.type !== 'unix') {
        ctx.diag.warn('UnsupportedForTarget', { what: `<interface type='vhostuser'> source type '${s.type}'`, target: 'QEMU (unix sockets only)' }, n.$span);
        return undefined;
      }
      ctx.out.keyval('-chardev', props({
        backend: 'socket',
        id: `char${alias}`,
        path: s?.path,
        server: s?.mode === 'server' ? 'on' : undefined,
        reconnect: s?.reconnect?.enabled ? s.reconnect.timeout : undefined,
      }));
      return props({ type: 'vhost-user', chardev: `char${alias}`, queues: queues > 1 ? queues : undefined });
    }
    case 'server':
      return props({ type: 'socket', listen: `${s?.address ?? ''}:${s?.port ?? ''}` });
    case 'client':
      return props({ type: 'socket', connect: `${s?.address ?? ''}:${s?.port ?? ''}` });
    case 'mcast':
      return props({ type: 'socket', mcast: `${s?.address ?? ''}:${s?.port ?? ''}` });
    case 'udp':
      return props({ type: 'socket', udp: `${s?.address ?? ''}:${s?.port ?? ''}`, localaddr: s?.local ? `${s.local.address}:${s.local.port}` : undefined });
    case 'hostdev':
    case 'vdpa':
    case 'null':
    case 'vds':
      ctx.diag.warn('UnsupportedForTarget', { what: `<interface type='${n.type}'>`, target: 'this command line builder' }, n.$span);
      return undefined;
  }
}

/** --runnable: no fds libvirt would have opened; QEMU opens the tap (or asks its bridge helper). */
function runnableTap(ctx: EmitContext, n: NetInterface, vhost: boolean, queues: number): Props {
  if (n.type === 'bridge' && n.source?.bridge) {
    if (queues > 1) ctx.diag.warn('UnsupportedForTarget', { what: `<driver queues='${queues}'>`, target: "QEMU's bridge helper (one queue)" }, n.$span);
    return props({ type: 'bridge', br: n.source.bridge });
  }
  if (n.type === 'network' || n.type === 'direct') {
    const what = n.type === 'network' ? `<interface type='network'> (network '${n.source?.network ?? ''}')` : `<interface type='direct'> (a macvtap on '${n.source?.dev ?? ''}')`;
    ctx.diag.warn('RunnableSubstitute', { what, instead: `a tap device${n.targetDev ? ` '${n.targetDev}'` : ''} attached to nothing` }, n.$span);
  }
  return props({
    type: 'tap',
    ifname: n.targetDev,
    script: n.type === 'ethernet' && n.script !== undefined ? n.script : 'no',
    downscript: n.type === 'ethernet' && n.downscript !== undefined ? n.downscript : 'no',
    vhost: vhost ? true : undefined,
    queues: queues > 1 ? queues : undefined,
    sndbuf: n.sndbuf,
  });
}

/** Guest-side addresses of user networking: net=ADDR/PREFIX, ipv6-prefix + ipv6-prefixlen. */
function userIpProps(n: NetInterface): Record<string, PropValue | undefined> {
  const out: Record<string, PropValue | undefined> = {};
  for (const ip of n.ips) {
    const v6 = ip.family === 'ipv6' || (ip.family === undefined && ip.address.includes(':'));
    if (v6) {
      out['ipv6-prefix'] = ip.address;
      if (ip.prefix) out['ipv6-prefixlen'] = ip.prefix;
    } else {
      out.net = ip.prefix ? `${ip.address}/${ip.prefix}` : ip.address;
    }
  }
  return out;
}

/** passt: libvirt starts passt itself and hands QEMU its socket (a stream netdev). */
function passtProps(ctx: EmitContext, n: NetInterface, alias: string): Props {
  const path = `/run/libvirt/qemu/passt/${domainShortName(-1, ctx.dom.name)}-${alias}.socket`;
  ctx.diag.warn('UnsupportedForTarget', { what: "<backend type='passt'> (the passt process libvirt starts)", target: 'the command line; start passt on the socket yourself' }, n.$span);
  return props({ type: 'stream', addr: { type: 'unix', path }, server: false });
}

function nicDeviceProps(dom: Domain, n: NetInterface, alias: string, bootindex: number | undefined): Props {
  const d = n.driver;
  const virtio = isVirtio(n);
  const queues = netQueues(n);
  const offloads: Record<string, boolean> = {};
  if (virtio) {
    for (const [attr, prop] of HOST_OFFLOADS) if (d?.host?.[attr] !== undefined) offloads[prop] = d.host[attr]!;
    for (const [attr, prop] of GUEST_OFFLOADS) if (d?.guest?.[attr] !== undefined) offloads[prop] = d.guest[attr]!;
  }
  const tapLike = n.type === 'network' || n.type === 'bridge' || n.type === 'direct' || n.type === 'ethernet' || n.type === 'vhostuser';
  return props({
    driver: virtio ? VIRTIO_MODELS[n.model!]! : n.model ?? 'rtl8139',
    // NB: virtio options first (qemuBuildVirtioDevProps), then virtio-net's own, as libvirt adds them
    ...(virtio ? virtioTransportProps(d) : {}),
    ...(virtio
      ? {
          tx: d?.txmode === 'iothread' ? 'bh' : d?.txmode,
          ioeventfd: d?.ioeventfd,
          event_idx: d?.eventIdx,
          ...offloads,
          // QEMU's multiqueue advice: 2 vectors per queue pair plus config and control
          ...(queues > 1 && tapLike ? { mq: true, vectors: 2 * queues + 2 } : {}),
          rx_queue_size: d?.rxQueueSize,
          tx_queue_size: d?.txQueueSize,
          rss: d?.rss,
          hash: d?.rssHashReport,
          host_mtu: n.mtu,
        }
      : {}),
    netdev: `host${alias}`,
    id: alias,
    mac: n.mac,
    bootindex,
    ...addressProps(dom, n.address),
    'acpi-index': n.acpiIndex,
    // NB: a disabled ROM is an empty romfile, and then the BAR setting does not matter
    ...(n.rom?.enabled === false ? { romfile: '' } : n.rom ? { rombar: n.rom.bar === undefined ? undefined : n.rom.bar ? 1 : 0, romfile: n.rom.file } : {}),
  });
}

function addressProps(dom: Domain, a: Address | undefined): Record<string, PropValue | undefined> {
  // the root bus is pcie.0 on q35; user aliases name buses too
  if (a?.type === 'pci') return pciPlacement(dom, a);
  if (a?.type === 'usb') return { bus: usbBusName(dom, a.bus), port: a.port };
  return {};
}

/** QEMU 0.x: one "vlan" (hub) per NIC joining -net nic and its host side; -net none without NICs. */
function buildLegacyNetworks(ctx: EmitContext): void {
  const nics = ctx.dom.devices.interfaces;
  // NB: without -nodefaults QEMU adds a NIC of its own; "-net none" stops it.
  if (!nics.length) {
    if (!has(ctx.caps, 'nodefaults')) ctx.out.raw('-net', 'none');
    return;
  }
  const aliases = nicAliases(nics, true);
  nics.forEach((n, vlan) => {
    const host = legacyHostProps(ctx, n);
    if (!host) return;
    // NB: -net nic knows a model and a MAC: the device properties libvirt later set on -device do not fit
    const lost = [
      n.driver && Object.keys(n.driver).length > 0 && '<driver>',
      n.mtu !== undefined && '<mtu>',
      n.rom && '<rom>',
      n.acpiIndex !== undefined && '<acpi index>',
    ].filter((x): x is string => !!x);
    if (lost.length) ctx.diag.warn('UnsupportedForTarget', { what: `${lost.join(', ')} of <interface type='${n.type}'>`, target: 'QEMU without -device (-net nic)' }, n.$span);
    // QEMU 0.x's -net nic knows virtio only by that name
    const model = n.model !== undefined && n.model in VIRTIO_MODELS ? 'virtio' : n.model;
    ctx.out.keyval('-net', props({ type: 'nic', macaddr: n.mac, vlan, model, name: aliases[vlan] }));
    ctx.out.keyval('-net', { ...host, vlan, name: `host${aliases[vlan]}` });
  });
}

function legacyHostProps(ctx: EmitContext, n: NetInterface): Props | undefined {
  const s = n.source;
  switch (n.type) {
    case 'user':
      return { type: 'user' };
    case 'ethernet':
      // libvirt 0.x let QEMU create the tap and run the script itself
      return props({ type: 'tap', ifname: n.targetDev, script: n.script });
    case 'network':
    case 'bridge':
    case 'direct':
      if (ctx.runnable) {
        // QEMU 0.x has no bridge helper: a tap QEMU creates is the closest
        ctx.diag.warn('RunnableSubstitute', { what: `<interface type='${n.type}'>`, instead: `a tap device${n.targetDev ? ` '${n.targetDev}'` : ''} attached to nothing` }, n.$span);
        return props({ type: 'tap', ifname: n.targetDev, script: 'no' });
      }
      return { type: 'tap', fd: String(FIRST_TAP_FD) };
    case 'server':
      return { type: 'socket', listen: `${s?.address ?? ''}:${s?.port ?? ''}` };
    case 'client':
      return { type: 'socket', connect: `${s?.address ?? ''}:${s?.port ?? ''}` };
    case 'mcast':
      return { type: 'socket', mcast: `${s?.address ?? ''}:${s?.port ?? ''}` };
    default:
      ctx.diag.warn('UnsupportedForTarget', { what: `<interface type='${n.type}'>`, target: `QEMU ${ctx.caps.version.join('.')} (-net)` }, n.$span);
      return undefined;
  }
}

// --- argv -> IR --------------------------------------------------------------------------------

type Backend = Omit<Draft<NetInterface>, 'extra' | 'ips'> & { ips: NetInterface['ips'] };

/** QEMU's MAC for a NIC given none: 52:54:00:12:34:56, then one up for each further NIC. */
function qemuDefaultMac(i: number): string {
  return `52:54:00:12:34:${(0x56 + i).toString(16).padStart(2, '0')}`;
}

export function readNetworksArgv(r: ArgvReader): void {
  const nics = r.draft.devices.interfaces;
  const found: Array<Draft<NetInterface>> = [];
  // -netdev ID + the -device (or -net nic) with netdev=ID
  for (const o of r.take('-netdev')) {
    const p = optProps(o);
    const id = propStr(p, 'id') ?? '';
    const dev = r.deviceWith('netdev', id);
    const legacyNic = dev ? undefined : r.cmd.options.find((x) => x.name === '-net' && !r.isClaimed(x) && propStr(optProps(x), 'type') === 'nic' && propStr(optProps(x), 'netdev') === id);
    const backend = dev || legacyNic ? readBackend(r, p, 'netdev', o) : undefined;
    if (!backend) {
      r.unclaim(o);
      continue;
    }
    if (dev) {
      r.claim(dev.opt);
      const front = readNicDevice(r, dev);
      const driver = backend.driver || front.driver ? { ...backend.driver, ...front.driver } : undefined;
      found.push({ ...backend, ...front, ...(driver ? { driver } : {}), extra: [], $span: o.span });
    } else {
      r.claim(legacyNic!);
      found.push({ ...backend, ...readLegacyNic(r, legacyNic!), extra: [], $span: o.span });
    }
  }
  // -nic TYPE,model=…,mac=…: backend and front end in one option
  for (const o of r.take('-nic')) {
    const p = optProps(o);
    if (propStr(p, 'type') === 'none') continue;
    const { model, mac, ...rest } = p;
    const backend = readBackend(r, rest, 'nic', o);
    if (!backend) {
      r.unclaim(o);
      continue;
    }
    const m = model === undefined ? undefined : String(model);
    found.push({ ...backend, ...(m ? { model: modelFromDriver(m) } : {}), ...(mac !== undefined ? { mac: String(mac).toLowerCase() } : {}), extra: [], $span: o.span });
  }
  readLegacyNetArgv(r, found);
  let unset = 0;
  for (const nic of found) {
    if (nic.mac === undefined) nic.mac = qemuDefaultMac(unset++);
    if (nic.model === undefined) {
      const model = qemuDefaultNicModel(r.draft.os.arch, r.draft.os.machine);
      if (model) nic.model = model;
    }
    nics.push(nic);
  }
}

/**
 * The hostfwd rules of a user backend: JSON gives a list of {str}; QemuOpts may repeat the key,
 * and the parsed props keep only the last, so they are taken from the option's own text.
 */
function hostForwards(o: ParsedOption, value: PropValue | undefined): string[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) return value.map((x) => (x !== null && typeof x === 'object' && !Array.isArray(x) ? propStr(x, 'str') : String(x)) ?? '').filter(Boolean);
  const keyval = o.value.kind === 'props' && o.value.form === 'keyval';
  const rules = keyval ? splitQemuOpts(o.rawValue ?? '').filter((x) => x.startsWith('hostfwd=')).map((x) => x.slice('hostfwd='.length)) : [];
  return rules.length ? rules : [String(value)];
}

/**
 * hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT as passt's <portForward> in libvirt
 * 9.0's XML (the guest address is passt's own business: it has one guest), or '' when the rule
 * does not parse.
 */
function passtPortForward(rule: string): string {
  const m = /^(tcp|udp)?:([^:]*):(\d+)-([^:]*):(\d+)$/.exec(rule);
  if (!m) return '';
  const [, proto = 'tcp', address, start, , to] = m;
  return ` with <portForward proto='${proto}'${address ? ` address='${address}'` : ''}><range start='${start}'${to !== start ? ` to='${to}'` : ''}/></portForward>`;
}

/** The NIC QEMU's x86 machines create for -net nic/-nic without model= (their default_nic_model). */
function qemuDefaultNicModel(arch: string | undefined, machine: string | undefined): string | undefined {
  if (arch !== 'x86_64' && arch !== 'i686') return undefined;
  return /q35/.test(machine ?? '') ? 'e1000e' : 'e1000';
}

/** -net nic,vlan=N + -net user|tap|socket|bridge,vlan=N (vlan 0 when none is given). */
function readLegacyNetArgv(r: ArgvReader, found: Array<Draft<NetInterface>>): void {
  const all = r.take('-net');
  const vlanOf = (o: ParsedOption) => propNum(optProps(o), 'vlan') ?? 0;
  const hosts = all.filter((o) => !['nic', 'none'].includes(propStr(optProps(o), 'type') ?? ''));
  const usedHosts = new Set<ParsedOption>();
  for (const o of all) {
    const type = propStr(optProps(o), 'type');
    if (type === 'none') continue;
    if (type !== 'nic') continue;
    const host = hosts.find((h) => !usedHosts.has(h) && vlanOf(h) === vlanOf(o));
    const { vlan: _v, name: _n, ...hp } = host ? optProps(host) : {};
    const backend = host ? readBackend(r, hp, 'net', host) : undefined;
    if (!backend) {
      if (!host) r.diag.warn('UnmappedOption', { option: '-net nic', detail: `on vlan ${vlanOf(o)} (nothing on the host side)` }, o.span);
      r.unclaim(o);
      continue;
    }
    usedHosts.add(host!);
    found.push({ ...backend, ...readLegacyNic(r, o), extra: [], $span: o.span });
  }
  for (const h of hosts) if (!usedHosts.has(h)) r.unclaim(h);
}

function readLegacyNic(r: ArgvReader, o: ParsedOption): Partial<Draft<NetInterface>> {
  const p = optProps(o);
  const out: Partial<Draft<NetInterface>> = {};
  const mac = propStr(p, 'macaddr');
  if (mac) out.mac = mac.toLowerCase();
  const model = propStr(p, 'model');
  if (model) out.model = modelFromDriver(model);
  // NB: -net nic has no bus=: its addr= is a slot on the root bus
  const address = pciAddressFromProps(p);
  if (address) out.address = address;
  for (const k of Object.keys(p)) {
    if (!['type', 'macaddr', 'model', 'addr', 'vlan', 'name', 'netdev'].includes(k)) r.diag.warn('IgnoredProperty', { option: '-net nic', property: k }, o.span);
  }
  return out;
}

function modelFromDriver(driver: string): string {
  if (driver === 'virtio-net-pci' || driver === 'virtio-net-device' || driver === 'virtio-net-ccw' || driver === 'virtio') return 'virtio';
  if (driver === 'virtio-net-pci-transitional') return 'virtio-transitional';
  if (driver === 'virtio-net-pci-non-transitional') return 'virtio-non-transitional';
  return driver;
}

const NETDEV_COMMON = new Set(['type', 'id']);

/** The host side of a NIC from -netdev/-net/-nic properties, or undefined when libvirt has no such interface. */
function readBackend(r: ArgvReader, p: Props, from: 'netdev' | 'net' | 'nic', o: ParsedOption): Backend | undefined {
  const opt = `-${from}`;
  const span = o.span;
  const type = propStr(p, 'type');
  const seen = new Set(NETDEV_COMMON);
  const get = (k: string) => {
    seen.add(k);
    return propStr(p, k);
  };
  const finish = (b: Backend): Backend => {
    for (const k of Object.keys(p)) if (!seen.has(k)) r.diag.warn('IgnoredProperty', { option: `${opt} ${type}`, property: k }, span);
    return b;
  };
  const driver: Draft<NetDriver> = {};
  // NB: vhost=on is what libvirt picks by itself for virtio on KVM; only vhost=off needs saying
  if (propBool(p, 'vhost') === false) driver.name = 'qemu';
  seen.add('vhost');
  const queues = propNum(p, 'queues');
  seen.add('queues');
  if (queues !== undefined && !(Number.isSafeInteger(queues) && queues >= 1 && queues <= MAX_QUEUES)) {
    return fail('BadOptionValue', { option: o.written, value: String(queues), reason: `queues= takes 1 to ${MAX_QUEUES}` }, o.valueSpan);
  }
  const withDriver = (b: Backend, q?: number): Backend => {
    const d = { ...driver, ...(q && q > 1 ? { queues: q } : queues && queues > 1 ? { queues } : {}) };
    return Object.keys(d).length ? { ...b, driver: d } : b;
  };
  switch (type) {
    case 'user': {
      const ips: Array<NetInterface['ips'][number]> = [];
      for (const rule of hostForwards(o, p['hostfwd'])) r.diag.warn('SlirpHostForward', { option: `${opt} user`, rule, suggestion: passtPortForward(rule) }, span);
      seen.add('hostfwd');
      const net = get('net');
      if (net) {
        const [address, prefix] = net.split('/');
        ips.push({ address: address!, family: 'ipv4', ...(prefix && /^\d+$/.test(prefix) ? { prefix: Number(prefix) } : {}) });
      }
      const v6 = get('ipv6-prefix');
      const v6len = propNum(p, 'ipv6-prefixlen');
      seen.add('ipv6-prefixlen');
      if (v6) ips.push({ address: v6, family: 'ipv6', ...(v6len ? { prefix: v6len } : {}) });
      return finish({ type: 'user', ips });
    }
    case 'tap': {
      const fds = get('fds') ?? get('fd');
      get('vhostfd');
      get('vhostfds');
      const ifname = get('ifname');
      const script = get('script');
      const downscript = get('downscript');
      const br = get('br');
      const helper = get('helper');
      const sndbuf = propNum(p, 'sndbuf');
      seen.add('sndbuf');
      const b: Backend = { type: 'ethernet', ips: [], ...(sndbuf !== undefined ? { sndbuf } : {}) };
      if (fds) {
        // NB: whoever started QEMU opened these fds; the bridge or network behind them is unknown
        r.diag.warn('TapFdOrigin', { option: opt, fd: fds }, span);
        return finish(withDriver(b, fds.split(':').length));
      }
      const bridge = br ?? /--br=(\S+)/.exec(helper ?? '')?.[1];
      if (bridge !== undefined || helper !== undefined) return finish(withDriver({ ...b, type: 'bridge', source: { bridge: bridge ?? 'br0', extra: [] } }));
      return finish(withDriver({
        ...b,
        ...(ifname ? { targetDev: ifname } : {}),
        ...(script && script !== 'no' ? { script } : {}),
        ...(downscript && downscript !== 'no' ? { downscript } : {}),
      }));
    }
    case 'bridge':
      return finish({ type: 'bridge', ips: [], source: { bridge: get('br') ?? 'br0', extra: [] } });
    case 'socket': {
      const listen = get('listen');
      const connect = get('connect');
      const mcast = get('mcast');
      const udp = get('udp');
      const localaddr = get('localaddr');
      if (listen !== undefined) return finish({ type: 'server', ips: [], source: hostPort(listen) });
      if (connect !== undefined) return finish({ type: 'client', ips: [], source: hostPort(connect) });
      if (mcast !== undefined) return finish({ type: 'mcast', ips: [], source: hostPort(mcast) });
      if (udp !== undefined && localaddr !== undefined) {
        const l = hostPort(localaddr);
        return finish({ type: 'udp', ips: [], source: { ...hostPort(udp), local: { address: l.address ?? '', port: l.port ?? 0 } } });
      }
      return undefined;
    }
    case 'stream': {
      // NB: libvirt 9.0 uses a stream netdev only for passt, which it starts itself on the socket
      const addr = propObj(p, 'addr');
      seen.add('addr');
      seen.add('addr.type');
      seen.add('addr.path');
      get('server');
      const path = addr && propStr(addr, 'type') === 'unix' ? propStr(addr, 'path') : undefined;
      if (!path || propBool(p, 'server') === true) return undefined;
      r.diag.warn('HostSideUnknown', { option: opt, what: `the passt process on ${path} (its interface, addresses and port forwards)`, outcome: "read as <backend type='passt'/> with passt's defaults" }, span);
      return finish({ type: 'user', ips: [], backend: { type: 'passt' } });
    }
    case 'vhost-user': {
      const chardevId = get('chardev');
      const chr = r.cmd.options.find((o) => o.name === '-chardev' && !r.isClaimed(o) && propStr(optProps(o), 'id') === chardevId);
      const cp = chr ? optProps(chr) : undefined;
      if (!chr || !cp || propStr(cp, 'backend') !== 'socket' || !propStr(cp, 'path')) return undefined;
      r.claim(chr);
      const reconnect = propNum(cp, 'reconnect');
      return finish(withDriver({
        type: 'vhostuser',
        ips: [],
        source: {
          type: 'unix',
          path: propStr(cp, 'path')!,
          mode: propBool(cp, 'server') ? 'server' : 'client',
          ...(reconnect ? { reconnect: { enabled: true, timeout: reconnect } } : {}),
          extra: [],
        },
      }));
    }
    default:
      return undefined;
  }
}

/** "host:port" (host may be empty, or [v6]) as a <source address port>. */
function hostPort(text: string): NetSource {
  const i = text.lastIndexOf(':');
  const host = (i < 0 ? '' : text.slice(0, i)).replace(/^\[(.*)\]$/, '$1');
  const port = Number(i < 0 ? text : text.slice(i + 1));
  return { ...(host ? { address: host } : {}), ...(Number.isFinite(port) ? { port } : {}), extra: [] };
}

/** -device properties of a NIC front end that libvirt models. */
function readNicDevice(r: ArgvReader, dev: DeviceOption): Partial<Draft<NetInterface>> {
  const p = dev.props;
  const out: Partial<Draft<NetInterface>> = { model: modelFromDriver(dev.driver) };
  const seen = new Set(['driver', 'netdev', 'id', 'mac', 'bus', 'addr', 'multifunction', 'bootindex', 'mq', 'vectors']);
  const num = (k: string) => {
    seen.add(k);
    return propNum(p, k);
  };
  const bool = (k: string) => {
    seen.add(k);
    return propBool(p, k);
  };
  const mac = propStr(p, 'mac');
  if (mac) out.mac = mac.toLowerCase();
  const id = propStr(p, 'id');
  if (id?.startsWith('ua-')) out.alias = id;
  const bootindex = propNum(p, 'bootindex');
  if (bootindex !== undefined) out.bootOrder = bootindex;
  const address = pciAddressFromProps(p, { multifunction: true });
  if (address) out.address = address;
  const d: Draft<NetDriver> = {};
  const tx = propStr(p, 'tx');
  seen.add('tx');
  if (tx === 'bh') d.txmode = 'iothread';
  else if (tx === 'timer') d.txmode = 'timer';
  const set = <K extends keyof NetDriver>(k: K, v: NetDriver[K] | undefined) => {
    if (v !== undefined) d[k] = v;
  };
  set('ioeventfd', bool('ioeventfd'));
  set('eventIdx', bool('event_idx'));
  set('rxQueueSize', num('rx_queue_size'));
  set('txQueueSize', num('tx_queue_size'));
  set('rss', bool('rss'));
  set('rssHashReport', bool('hash'));
  set('iommu', bool('iommu_platform'));
  set('ats', bool('ats'));
  set('packed', bool('packed'));
  set('pagePerVq', bool('page-per-vq'));
  const offloads = (list: typeof HOST_OFFLOADS) => {
    const o: Record<string, boolean> = {};
    for (const [attr, prop] of list) {
      const v = bool(prop);
      if (v !== undefined) o[attr] = v;
    }
    return Object.keys(o).length ? o : undefined;
  };
  set('host', offloads(HOST_OFFLOADS));
  set('guest', offloads(GUEST_OFFLOADS));
  if (Object.keys(d).length) out.driver = d;
  const mtu = num('host_mtu');
  if (mtu !== undefined) out.mtu = mtu;
  const acpi = num('acpi-index');
  if (acpi !== undefined) out.acpiIndex = acpi;
  const rombar = num('rombar');
  seen.add('romfile');
  const romfile = propStr(p, 'romfile');
  if (rombar !== undefined || romfile !== undefined) {
    out.rom = { ...(rombar !== undefined ? { bar: rombar !== 0 } : {}), ...(romfile ? { file: romfile } : romfile === '' ? { enabled: false } : {}) };
  }
  // NB: what `seen` lists is dealt with (mq and vectors follow from the queues); the rest stays
  // unread, for from-argv.ts to keep as <qemu:override> or warn about
  r.settle(dev.opt, ...seen);
  return out;
}
