// <hostdev mode='subsystem'>: host PCI (vfio-pci host=), mediated (vfio-pci sysfsdev=), USB
// (usb-host), SCSI (scsi-generic on a host_device or iscsi -blockdev) and vhost-scsi devices;
// legacy -pcidevice host= and -usbdevice host:.
import { readdirSync } from 'node:fs';
import type { EmitContext } from '../emit/context.js';
import { fail as failWith, type Span } from '../errors.js';
import type { ArgvReader, DeviceOption } from '../ir/argv-reader.js';
import type { ParsedOption } from '../lexer/argv-parser.js';
import { optProps, optText } from '../ir/argv-reader.js';
import type { Address, Disk, DiskAuth, Domain, Hostdev, HostdevSource } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import { propBool, propNum, propStr, props, type PropValue, type Props } from '../qemu/props.js';
import { child, el, type XmlElement } from '../xml/tree.js';
import { boolAttr, checkEnum, enumAttr, intAttr, reqAttr, yesNo } from '../xml/values.js';
import { driveController, pciAddressFromProps, pciPlacement, readAddressXml, writeAddressXml } from './address.js';
import { controllerAlias } from './controller.js';
import { DEFAULT_SCSI_MODEL } from '../ir/pci-addresses.js';
import { buildSecretObject, claimSecretObject, placeholderSecretUsage } from './secret.js';
import { usbAddressFromProps, usbPlacement } from './usb-address.js';

const TYPES = ['pci', 'usb', 'scsi', 'scsi_host', 'mdev'] as const;
const MDEV_MODELS = ['vfio-pci', 'vfio-ccw', 'vfio-ap'] as const;
const KNOWN = new Set(['driver', 'source', 'readonly', 'shareable', 'boot', 'alias', 'rom', 'acpi', 'address']);

// --- XML -> IR ---------------------------------------------------------------------------------

export function readHostdevXml(e: XmlElement): Hostdev {
  checkEnum(e, 'hostdev mode', e.attrs.mode ?? 'subsystem', ['subsystem'] as const);
  const type = checkEnum(e, 'hostdev type', reqAttr(e, 'type'), TYPES);
  const src = child(e, 'source');
  const boot = child(e, 'boot');
  const rom = child(e, 'rom');
  const acpi = child(e, 'acpi');
  const alias = child(e, 'alias');
  const address = child(e, 'address');
  const driver = child(e, 'driver');
  const opt = <K extends string, V>(k: K, v: V | undefined) => (v === undefined ? {} : ({ [k]: v } as { [P in K]: V }));
  return {
    ...opt('managed', boolAttr(e, 'managed')),
    ...opt('sgio', enumAttr(e, 'sgio', ['filtered', 'unfiltered'] as const)),
    ...opt('rawio', boolAttr(e, 'rawio')),
    ...opt('model', type === 'mdev' ? checkEnum(e, 'mdev model', reqAttr(e, 'model'), MDEV_MODELS) : e.attrs.model),
    ...opt('display', e.attrs.display !== undefined ? e.attrs.display === 'on' : undefined),
    ...opt('ramfb', e.attrs.ramfb !== undefined ? e.attrs.ramfb === 'on' : undefined),
    ...opt('driverName', driver?.attrs.name),
    source: readSourceXml(e, type, src),
    ...(child(e, 'readonly') ? { readonly: true } : {}),
    ...(child(e, 'shareable') ? { shareable: true } : {}),
    ...(boot ? { bootOrder: intAttr(boot, 'order') } : {}),
    ...(boot?.attrs.loadparm !== undefined ? { bootLoadparm: boot.attrs.loadparm } : {}),
    ...(alias?.attrs.name ? { alias: alias.attrs.name } : {}),
    ...(rom ? { rom: { ...opt('bar', rom.attrs.bar !== undefined ? rom.attrs.bar === 'on' : undefined), ...opt('file', rom.attrs.file), ...opt('enabled', boolAttr(rom, 'enabled')) } } : {}),
    ...(acpi?.attrs.index !== undefined ? { acpiIndex: intAttr(acpi, 'index') } : {}),
    ...(address ? { address: readAddressXml(address) } : {}),
    extra: e.children.filter((c) => !KNOWN.has(c.name)),
    $span: e.span,
  };
}

function readSourceXml(e: XmlElement, type: (typeof TYPES)[number], src: XmlElement | undefined): HostdevSource {
  if (!src) return missing(e, 'source');
  const addr = child(src, 'address');
  const n = (x: XmlElement | undefined, k: string) => (x ? intAttr(x, k) : undefined);
  switch (type) {
    case 'pci': {
      if (!addr) return missing(src, 'address');
      const wf = boolAttr(src, 'writeFiltering');
      return { type, domain: n(addr, 'domain') ?? 0, bus: n(addr, 'bus') ?? 0, slot: n(addr, 'slot') ?? 0, function: n(addr, 'function') ?? 0, ...(wf !== undefined ? { writeFiltering: wf } : {}) };
    }
    case 'usb': {
      const vendor = n(child(src, 'vendor'), 'id');
      const product = n(child(src, 'product'), 'id');
      // NB: the USB bus and device numbers are decimal, the ids hexadecimal
      const bus = addr?.attrs.bus !== undefined ? decimal(addr, 'bus') : undefined;
      const device = addr?.attrs.device !== undefined ? decimal(addr, 'device') : undefined;
      const policy = enumAttr(src, 'startupPolicy', ['mandatory', 'requisite', 'optional'] as const);
      const reset = enumAttr(src, 'guestReset', ['off', 'uninitialized', 'on'] as const);
      return {
        type,
        ...(vendor !== undefined ? { vendor } : {}),
        ...(product !== undefined ? { product } : {}),
        ...(bus !== undefined ? { bus } : {}),
        ...(device !== undefined ? { device } : {}),
        ...(policy ? { startupPolicy: policy } : {}),
        ...(reset ? { guestReset: reset } : {}),
      };
    }
    case 'scsi': {
      if (src.attrs.protocol === 'iscsi') {
        const auth = child(src, 'auth');
        const secret = auth && child(auth, 'secret');
        const initiator = child(src, 'initiator');
        const iqn = initiator && child(initiator, 'iqn');
        return {
          type: 'iscsi',
          name: reqAttr(src, 'name'),
          hosts: src.children.filter((h) => h.name === 'host').map((h) => ({ ...(h.attrs.name !== undefined ? { name: h.attrs.name } : {}), ...(h.attrs.port !== undefined ? { port: intAttr(h, 'port')! } : {}) })),
          ...(auth
            ? {
                auth: {
                  username: reqAttr(auth, 'username'),
                  ...(secret?.attrs.type === 'iscsi' ? { secretType: 'iscsi' as const } : {}),
                  ...(secret?.attrs.usage !== undefined ? { secretUsage: secret.attrs.usage } : {}),
                  ...(secret?.attrs.uuid !== undefined ? { secretUuid: secret.attrs.uuid } : {}),
                },
              }
            : {}),
          ...(iqn ? { initiatorIqn: reqAttr(iqn, 'name') } : {}),
        };
      }
      const adapter = child(src, 'adapter');
      if (!adapter) return missing(src, 'adapter');
      if (!addr) return missing(src, 'address');
      return { type, adapter: reqAttr(adapter, 'name'), bus: n(addr, 'bus') ?? 0, target: n(addr, 'target') ?? 0, unit: n(addr, 'unit') ?? 0 };
    }
    case 'scsi_host':
      checkEnum(src, 'scsi_host source protocol', reqAttr(src, 'protocol'), ['vhost'] as const);
      return { type, wwpn: reqAttr(src, 'wwpn') };
    case 'mdev':
      if (!addr) return missing(src, 'address');
      return { type, uuid: reqAttr(addr, 'uuid') };
  }
}

function decimal(e: XmlElement, k: string): number {
  const v = e.attrs[k] ?? '';
  // NB: libvirt reads USB bus/device numbers as decimal even with leading zeros ("001")
  return /^\d+$/.test(v) ? Number(v) : intAttr(e, k)!;
}

function missing(parent: XmlElement, element: string): never {
  return failWith('XmlMissingElement', { element, parent: parent.name }, parent.span);
}

const hex = (v: number, width: number) => `0x${v.toString(16).padStart(width, '0')}`;

export function writeHostdevXml(h: Hostdev): XmlElement {
  const r = h.rom;
  return el(
    'hostdev',
    {
      mode: 'subsystem',
      type: h.source.type === 'iscsi' ? 'scsi' : h.source.type,
      managed: yesNo(h.managed),
      sgio: h.sgio,
      rawio: yesNo(h.rawio),
      model: h.model,
      display: h.display === undefined ? undefined : h.display ? 'on' : 'off',
      ramfb: h.ramfb === undefined ? undefined : h.ramfb ? 'on' : 'off',
    },
    h.driverName !== undefined && el('driver', { name: h.driverName }),
    sourceXml(h.source),
    h.readonly && el('readonly'),
    h.shareable && el('shareable'),
    h.bootOrder !== undefined && el('boot', { order: h.bootOrder, loadparm: h.bootLoadparm }),
    h.alias !== undefined && el('alias', { name: h.alias }),
    r && el('rom', { bar: r.bar === undefined ? undefined : r.bar ? 'on' : 'off', file: r.file, enabled: yesNo(r.enabled) }),
    h.acpiIndex !== undefined && el('acpi', { index: h.acpiIndex }),
    writeAddressXml(h.address),
    h.extra,
  );
}

function sourceXml(s: HostdevSource): XmlElement {
  switch (s.type) {
    case 'pci':
      return el('source', { writeFiltering: yesNo(s.writeFiltering) }, el('address', { domain: hex(s.domain, 4), bus: hex(s.bus, 2), slot: hex(s.slot, 2), function: hex(s.function, 1) }));
    case 'usb':
      return el(
        'source',
        { startupPolicy: s.startupPolicy, guestReset: s.guestReset },
        s.vendor !== undefined && el('vendor', { id: hex(s.vendor, 4) }),
        s.product !== undefined && el('product', { id: hex(s.product, 4) }),
        (s.bus !== undefined || s.device !== undefined) && el('address', { bus: s.bus, device: s.device }),
      );
    case 'scsi':
      return el('source', {}, el('adapter', { name: s.adapter }), el('address', { bus: s.bus, target: s.target, unit: s.unit }));
    case 'iscsi':
      return el(
        'source',
        { protocol: 'iscsi', name: s.name },
        s.hosts.map((h) => el('host', { name: h.name, port: h.port })),
        s.auth && el('auth', { username: s.auth.username }, el('secret', { type: s.auth.secretType, usage: s.auth.secretUsage, uuid: s.auth.secretUuid })),
        s.initiatorIqn !== undefined && el('initiator', {}, el('iqn', { name: s.initiatorIqn })),
      );
    case 'scsi_host':
      return el('source', { protocol: 'vhost', wwpn: s.wwpn });
    case 'mdev':
      return el('source', {}, el('address', { uuid: s.uuid }));
  }
}

// --- defaults ----------------------------------------------------------------------------------

/**
 * libvirt's define-time defaults: a vfio-pci mediated device shows no display unless asked
 * (qemuDomainMdevDefVFIOPCIPostParse); a SCSI hostdev without an address takes the first unit
 * free on controller 0, then 1… (virDomainHostdevAssignAddress: QEMU's buses count as narrow,
 * units 0-6 on bus 0 target 0, whatever the controller model).
 */
export function withHostdevDefaults(hostdevs: readonly Hostdev[], disks: readonly Disk[]): Hostdev[] {
  const used = new Set<string>();
  const key = (a: { controller: number; bus: number; target: number; unit: number }) => `${a.controller}:${a.bus}:${a.target}:${a.unit}`;
  for (const d of disks) if (d.target.bus === 'scsi' && d.address?.type === 'drive') used.add(key(d.address));
  for (const h of hostdevs) if (isScsi(h) && h.address?.type === 'drive') used.add(key(h.address));
  return hostdevs.map((h) => {
    let out = h;
    if (h.source.type === 'mdev' && (h.model ?? 'vfio-pci') === 'vfio-pci' && h.display === undefined) out = { ...out, display: false };
    if (isScsi(h) && !h.address) {
      let address: Address | undefined;
      for (let controller = 0; !address; controller++) {
        for (let unit = 0; unit < NARROW_SCSI_UNITS && !address; unit++) {
          const a = { type: 'drive' as const, controller, bus: 0, target: 0, unit };
          if (!used.has(key(a))) address = a;
        }
      }
      used.add(key(address as Extract<Address, { type: 'drive' }>));
      out = { ...out, address };
    }
    return out;
  });
}

const NARROW_SCSI_UNITS = 7;
const isScsi = (h: Hostdev) => h.source.type === 'scsi' || h.source.type === 'iscsi';

/** The SCSI controllers SCSI hostdevs sit on (libvirt adds them when missing). */
export function hostdevScsiControllers(hostdevs: readonly Hostdev[]): number[] {
  const out = new Set<number>();
  for (const h of hostdevs) {
    if (!isScsi(h) || h.address?.type !== 'drive') continue;
    for (let i = 0; i <= driveController(h.address.controller, 'scsi controller', h.$span); i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

// --- IR -> argv --------------------------------------------------------------------------------

/** libvirt's hostdev aliases: hostdevN, counted over hostdevs without a user alias (NICs of type hostdev first). */
function hostdevAliases(dom: Domain): Map<Hostdev, string> {
  let n = dom.devices.interfaces.filter((i) => i.type === 'hostdev').length;
  const out = new Map<Hostdev, string>();
  for (const h of dom.devices.hostdevs) out.set(h, h.alias ?? `hostdev${n++}`);
  return out;
}

export function buildHostdevs(ctx: EmitContext): void {
  const dom = ctx.dom;
  const aliases = hostdevAliases(dom);
  if (!has(ctx.caps, 'device')) {
    for (const h of dom.devices.hostdevs) buildLegacy(ctx, h);
    return;
  }
  // NB: SCSI hostdevs' -blockdev nodes are numbered after the disks' (libvirt-N-backend)
  let node = dom.devices.disks.length;
  for (const h of dom.devices.hostdevs) {
    const id = aliases.get(h)!;
    for (const e of h.extra) ctx.diag.warn('XmlUnsupportedElement', { element: e.name, detail: `of hostdev ${id}` }, e.span);
    const s = h.source;
    const tail = { bootindex: h.bootOrder };
    switch (s.type) {
      case 'pci': {
        // NB: libvirt 9.0 assigns PCI devices through VFIO only (legacy KVM assignment is gone)
        if (h.driverName !== undefined && h.driverName !== 'vfio') return failWith('UnsupportedDevice', { what: `PCI host device assignment with <driver name='${h.driverName}'>` }, h.$span);
        const host = `${s.domain.toString(16).padStart(4, '0')}:${s.bus.toString(16).padStart(2, '0')}:${s.slot.toString(16).padStart(2, '0')}.${s.function}`;
        ctx.out.object('-device', props({ driver: 'vfio-pci', host, id, ...tail, ...pciPlacement(dom, h.address), 'acpi-index': h.acpiIndex, ...romProps(h) }));
        break;
      }
      case 'mdev': {
        const model = h.model ?? 'vfio-pci';
        // NB: a ramfb boot display cannot be hot-unplugged: QEMU has a separate device for it
        const driver = model === 'vfio-pci' && h.ramfb ? 'vfio-pci-nohotplug' : model;
        ctx.out.object('-device', props({
          driver, id, sysfsdev: `/sys/bus/mdev/devices/${s.uuid}`,
          display: h.display === undefined ? undefined : h.display ? 'on' : 'off',
          ramfb: h.ramfb ? true : undefined,
          ...tail, ...pciPlacement(dom, h.address), 'acpi-index': h.acpiIndex,
        }));
        break;
      }
      case 'usb': {
        const located = s.bus !== undefined && s.device !== undefined;
        if (!located) {
          ctx.diag.warn('HostDeviceUnresolved', { what: `the bus/device of USB host device ${hex(s.vendor ?? 0, 4)}:${hex(s.product ?? 0, 4)}`, instead: 'a match on vendor and product id by QEMU' }, h.$span);
        }
        const reset = s.guestReset;
        ctx.out.object('-device', props({
          driver: 'usb-host',
          hostdevice: located ? `/dev/bus/usb/${pad3(s.bus!)}/${pad3(s.device!)}` : undefined,
          vendorid: located || s.vendor === undefined ? undefined : hex(s.vendor, 4),
          productid: located || s.product === undefined ? undefined : hex(s.product, 4),
          id, ...tail,
          'guest-reset': reset === undefined ? undefined : reset !== 'off',
          'guest-resets-all': reset === undefined || reset === 'off' ? undefined : reset === 'on',
          ...usbPlacement(dom, h),
        }));
        break;
      }
      case 'scsi':
      case 'iscsi': {
        if (!has(ctx.caps, 'blockdev')) {
          buildScsiDrive(ctx, h, s, id);
          break;
        }
        const backend = `libvirt-${++node}-backend`;
        const source = s.type === 'scsi' ? { driver: 'host_device', filename: sgDevice(ctx, h, s) } : iscsiProps(ctx, s, backend, h.$span);
        ctx.out.object('-blockdev', props({ ...source, 'node-name': backend, 'read-only': h.readonly ?? false }));
        ctx.out.object('-device', props({ driver: 'scsi-generic', drive: backend, id, ...tail, ...scsiPlacement(dom, h.address) }));
        break;
      }
      case 'scsi_host': {
        const driver = h.model === 'virtio-transitional' ? 'vhost-scsi-pci-transitional' : h.model === 'virtio-non-transitional' ? 'vhost-scsi-pci-non-transitional' : 'vhost-scsi-pci';
        // NB: libvirt opens /dev/vhost-scsi and passes vhostfd=; without it QEMU opens the device itself
        ctx.out.object('-device', props({ driver, wwpn: s.wwpn, id, ...tail, ...pciPlacement(dom, h.address), 'acpi-index': h.acpiIndex }));
        break;
      }
    }
  }
}

const pad3 = (n: number) => String(n).padStart(3, '0');

/** Before -blockdev: a -drive if=none (the iSCSI LUN as a URI), then scsi-generic on it. */
function buildScsiDrive(ctx: EmitContext, h: Hostdev, s: Extract<HostdevSource, { type: 'scsi' | 'iscsi' }>, id: string): void {
  const drive = `drive-${id}`;
  let file: string;
  if (s.type === 'scsi') file = sgDevice(ctx, h, s);
  else {
    const host = s.hosts[0];
    if (s.auth) ctx.diag.warn('UnsupportedForTarget', { what: `the iSCSI login of ${s.name}`, target: 'QEMU without -blockdev' }, h.$span);
    // NB: the initiator's IQN is a property of the -blockdev iscsi node: the URI has no place for it
    if (s.initiatorIqn !== undefined) ctx.diag.warn('UnsupportedForTarget', { what: `the iSCSI <initiator> of ${s.name}`, target: 'QEMU without -blockdev' }, h.$span);
    file = `iscsi://${host?.name ?? ''}:${host?.port ?? 3260}/${s.name.includes('/') ? s.name : `${s.name}/0`}`;
  }
  ctx.out.keyval('-drive', props({ file, if: 'none', format: 'raw', id: drive, readonly: h.readonly ? 'on' : undefined }));
  ctx.out.object('-device', props({ driver: 'scsi-generic', ...scsiPlacement(ctx.dom, h.address), drive, id, bootindex: h.bootOrder }));
}

function romProps(h: Hostdev): Record<string, PropValue | undefined> {
  const r = h.rom;
  if (!r) return {};
  // NB: a disabled ROM is an empty romfile, and then the BAR setting does not matter
  if (r.enabled === false) return { romfile: '' };
  return { rombar: r.bar === undefined ? undefined : r.bar ? 1 : 0, romfile: r.file };
}

/** The /dev/sgN node of a host SCSI device (virSCSIDeviceGetSgName): sysfs names it. */
function sgDevice(ctx: EmitContext, h: Hostdev, s: Extract<HostdevSource, { type: 'scsi' }>): string {
  const host = /^scsi_host(\d+)$/.exec(s.adapter)?.[1];
  const dir = `/sys/bus/scsi/devices/${host}:${s.bus}:${s.target}:${s.unit}/scsi_generic`;
  try {
    const sg = host !== undefined ? readdirSync(dir)[0] : undefined;
    if (sg) return `/dev/${sg}`;
  } catch {
    // not on this host: fall through
  }
  // NB: the SCSI generic node only exists on the guest's host; the first one stands in
  ctx.diag.warn('HostDeviceUnresolved', { what: `the SCSI generic node of ${s.adapter} ${s.bus}:${s.target}:${s.unit}`, instead: '/dev/sg0' }, h.$span);
  return '/dev/sg0';
}

/** The iscsi -blockdev of an iSCSI hostdev: the LUN is the last path element of the name. */
function iscsiProps(ctx: EmitContext, s: Extract<HostdevSource, { type: 'iscsi' }>, backend: string, span: Span | undefined): Record<string, PropValue | undefined> {
  const slash = s.name.lastIndexOf('/');
  const lun = slash < 0 ? 0 : Number(s.name.slice(slash + 1));
  const target = slash < 0 ? s.name : s.name.slice(0, slash);
  const h = s.hosts[0];
  const host = h?.name && h.name.includes(':') ? `[${h.name}]` : h?.name ?? '';
  const secret = s.auth ? `${backend}-secret0` : undefined;
  if (s.auth && secret) {
    const ref = { usageType: 'iscsi' as const, ...(s.auth.secretUuid !== undefined ? { uuid: s.auth.secretUuid } : {}), ...(s.auth.secretUsage !== undefined ? { usage: s.auth.secretUsage } : {}) };
    buildSecretObject(ctx, secret, ref, `the iSCSI password of ${s.name}`, span);
  }
  return {
    driver: 'iscsi',
    portal: `${host}:${h?.port ?? 3260}`,
    target,
    lun: Number.isFinite(lun) ? lun : 0,
    transport: 'tcp',
    user: s.auth?.username,
    'password-secret': secret,
    'initiator-name': s.initiatorIqn,
  };
}

/** bus/channel/scsi-id/lun of a SCSI hostdev, as for a SCSI disk (the lsi HBA knows units only). */
function scsiPlacement(dom: Domain, a: Address | undefined): Record<string, PropValue | undefined> {
  if (a?.type !== 'drive') return {};
  const ctl = dom.devices.controllers.find((c) => c.type === 'scsi' && c.index === a.controller);
  const alias = ctl ? controllerAlias(ctl, dom) : `scsi${a.controller}`;
  if ((ctl?.model ?? DEFAULT_SCSI_MODEL) === 'lsilogic') return { bus: `${alias}.${a.bus}`, 'scsi-id': a.unit };
  return { bus: `${alias}.0`, channel: a.bus, 'scsi-id': a.target, lun: a.unit };
}

/** QEMU 0.x: -pcidevice host=BB:SS.F and -usbdevice host:BUS.DEV (or host:VID:PID). */
function buildLegacy(ctx: EmitContext, h: Hostdev): void {
  const s = h.source;
  const hx = (v: number, w: number) => v.toString(16).padStart(w, '0');
  if (s.type === 'pci') ctx.out.raw('-pcidevice', `host=${hx(s.bus, 2)}:${hx(s.slot, 2)}.${s.function}`);
  // NB: libvirt 0.7 preferred the vendor/product ids when the XML had them
  else if (s.type === 'usb' && s.vendor !== undefined) ctx.out.raw('-usbdevice', `host:${hx(s.vendor, 4)}:${hx(s.product ?? 0, 4)}`);
  else if (s.type === 'usb') ctx.out.raw('-usbdevice', `host:${pad3(s.bus ?? 0)}.${pad3(s.device ?? 0)}`);
  else ctx.diag.warn('UnsupportedForTarget', { what: `<hostdev type='${s.type}'>`, target: 'QEMU without -device' }, h.$span);
}

// --- argv -> IR --------------------------------------------------------------------------------

const userAlias = (id: string | undefined) => (id?.startsWith('ua-') ? { alias: id } : {});

function common(p: Props): Pick<Hostdev, 'alias' | 'bootOrder' | 'acpiIndex'> {
  const boot = propNum(p, 'bootindex');
  const acpi = propNum(p, 'acpi-index');
  return { ...userAlias(propStr(p, 'id')), ...(boot !== undefined ? { bootOrder: boot } : {}), ...(acpi !== undefined ? { acpiIndex: acpi } : {}) };
}

/** "0000:06:12.5" or "06:12.5" (hex) as a PCI source address. */
function parseHostPci(text: string): Extract<HostdevSource, { type: 'pci' }> | undefined {
  const m = /^(?:([0-9a-f]{1,4}):)?([0-9a-f]{1,2}):([0-9a-f]{1,2})\.([0-7])$/i.exec(text.trim());
  if (!m) return undefined;
  return { type: 'pci', domain: m[1] ? parseInt(m[1], 16) : 0, bus: parseInt(m[2]!, 16), slot: parseInt(m[3]!, 16), function: Number(m[4]) };
}

type DeviceReader = (r: ArgvReader, dev: DeviceOption) => Hostdev | undefined;

/** Readers by -device driver; each returns the hostdev (and claims what it used) or undefined. */
const DEVICE_READERS: Readonly<Record<string, DeviceReader>> = {
  'vfio-pci': readVfio,
  'vfio-pci-nohotplug': readVfio,
  'vfio-ccw': readVfio,
  'vfio-ap': readVfio,
  'usb-host': readUsbHost,
  'scsi-generic': readScsiGeneric,
  'vhost-scsi-pci': readVhostScsi,
  'vhost-scsi-pci-transitional': readVhostScsi,
  'vhost-scsi-pci-non-transitional': readVhostScsi,
};

export function readHostdevsArgv(r: ArgvReader): void {
  const d = r.draft.devices;
  // NB: in command-line order, which is the XML order (and so the hostdevN numbering)
  for (const dev of r.devices((drv) => drv in DEVICE_READERS)) {
    const h = DEVICE_READERS[dev.driver]!(r, dev);
    if (!h) continue;
    r.claim(dev.opt);
    d.hostdevs.push(h);
  }
  // legacy forms (libvirt before -device, as its argv parser read them): managed PCI devices, unmanaged USB ones
  for (const o of r.take('-pcidevice', '-usbdevice')) {
    const source = o.name === '-pcidevice' ? parseHostPci(propStr(optProps(o), 'host') ?? '') : parseUsbdeviceHost(optText(o));
    if (!source) {
      r.unclaim(o);
      continue;
    }
    d.hostdevs.push({ managed: source.type === 'pci', source, extra: [], $span: o.span });
  }
}

/** -usbdevice host:BUS.DEV (decimal) or host:VID:PID (hex). */
function parseUsbdeviceHost(text: string): HostdevSource | undefined {
  const m = /^host:(?:(\d+)\.(\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(text);
  if (!m) return undefined;
  return m[1] ? { type: 'usb', bus: Number(m[1]), device: Number(m[2]) } : { type: 'usb', vendor: parseInt(m[3]!, 16), product: parseInt(m[4]!, 16) };
}

// NB: -device does not say who detaches a host device from its host driver; the hostdevs read
// back are managed='yes' (virt-install's and virt-manager's choice), so libvirt does it.

/** vfio-pci host=… (a host PCI device) or sysfsdev=/sys/bus/mdev/devices/UUID (a mediated one). */
function readVfio(_r: ArgvReader, dev: DeviceOption): Hostdev | undefined {
  const p = dev.props;
  const sysfs = propStr(p, 'sysfsdev') ?? '';
  const mdev = /^\/sys\/bus\/mdev\/devices\/([0-9a-f-]+)$/i.exec(sysfs);
  const pci = mdev ? undefined : parseHostPci(propStr(p, 'host') ?? /\/([0-9a-f:.]+)$/i.exec(sysfs)?.[1] ?? '');
  if (!mdev && !pci) return undefined;
  const rombar = propNum(p, 'rombar');
  const romfile = propStr(p, 'romfile');
  const rom = rombar !== undefined || romfile !== undefined ? { ...(rombar !== undefined ? { bar: rombar !== 0 } : {}), ...(romfile ? { file: romfile } : romfile === '' ? { enabled: false } : {}) } : undefined;
  const display = propStr(p, 'display');
  const address = dev.driver.startsWith('vfio-pci') ? pciAddressFromProps(p) : undefined;
  return {
    ...(pci ? { managed: true } : {}),
    ...(mdev ? { model: dev.driver === 'vfio-pci-nohotplug' ? 'vfio-pci' : dev.driver } : {}),
    ...(mdev && display !== undefined && display !== 'auto' ? { display: display === 'on' } : {}),
    ...(mdev && propBool(p, 'ramfb') ? { ramfb: true } : {}),
    source: mdev ? { type: 'mdev', uuid: mdev[1]! } : pci!,
    ...common(p),
    ...(rom ? { rom } : {}),
    ...(address ? { address } : {}),
    extra: [],
    $span: dev.opt.span,
  };
}

function readUsbHost(r: ArgvReader, dev: DeviceOption): Hostdev | undefined {
  const p = dev.props;
  const node = /^\/dev\/bus\/usb\/(\d+)\/(\d+)$/.exec(propStr(p, 'hostdevice') ?? '');
  const bus = node ? Number(node[1]) : propNum(p, 'hostbus');
  const device = node ? Number(node[2]) : propNum(p, 'hostaddr');
  const vendor = propStr(p, 'vendorid');
  const product = propStr(p, 'productid');
  // NB: libvirt's <source> names a device by vendor and product, or by bus and device (both);
  // anything else (a bus alone, hostbus + hostport, a vendor alone) stays on the command line
  const byId = vendor !== undefined && product !== undefined;
  const byAddress = bus !== undefined && device !== undefined;
  if ((!byId && !byAddress) || (bus === undefined) !== (device === undefined) || (vendor === undefined) !== (product === undefined)) return undefined;
  const reset = propBool(p, 'guest-reset');
  const all = propBool(p, 'guest-resets-all');
  const address = usbAddressFromProps(r, p);
  return {
    managed: true,
    source: {
      type: 'usb',
      ...(vendor !== undefined ? { vendor: parseInt(vendor, 16) } : {}),
      ...(product !== undefined ? { product: parseInt(product, 16) } : {}),
      ...(bus !== undefined ? { bus } : {}),
      ...(device !== undefined ? { device } : {}),
      ...(reset === false ? { guestReset: 'off' as const } : reset ? { guestReset: all ? ('on' as const) : ('uninitialized' as const) } : {}),
    },
    ...common(p),
    ...(address ? { address } : {}),
    extra: [],
    $span: dev.opt.span,
  };
}

function readVhostScsi(r: ArgvReader, dev: DeviceOption): Hostdev | undefined {
  const wwpn = propStr(dev.props, 'wwpn');
  if (wwpn === undefined) return undefined;
  const vfd = propStr(dev.props, 'vhostfd');
  if (vfd !== undefined) r.diag.warn('PassedDescriptor', { option: '-device', what: `vhostfd=${vfd}` }, dev.opt.span);
  const address = pciAddressFromProps(dev.props);
  const model = dev.driver.endsWith('-non-transitional') ? 'virtio-non-transitional' : dev.driver.endsWith('-transitional') ? 'virtio-transitional' : undefined;
  return { ...(model ? { model } : {}), source: { type: 'scsi_host', wwpn }, ...common(dev.props), ...(address ? { address } : {}), extra: [], $span: dev.opt.span };
}

/** scsi-generic over an iscsi -blockdev. NB: a host_device /dev/sgN node cannot be traced back
 * to its adapter without the host, so those stay on the command line as they are. */
function readScsiGeneric(r: ArgvReader, dev: DeviceOption): Hostdev | undefined {
  const node = propStr(dev.props, 'drive');
  const found = r.unclaimed().find((o) => (o.name === '-blockdev' && propStr(optProps(o), 'node-name') === node) || (o.name === '-drive' && propStr(optProps(o), 'id') === node));
  const bd = found && found.name === '-drive' ? undefined : found;
  if (found?.name === '-drive') return readScsiDrive(r, dev, found);
  const p = bd ? optProps(bd) : undefined;
  if (!bd || !p || propStr(p, 'driver') !== 'iscsi') return undefined;
  // NB: libvirt's iSCSI nodes always say TCP: the XML has no other iSCSI transport
  r.expect(bd, 'transport', 'tcp');
  const portal = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(propStr(p, 'portal') ?? '');
  const lun = propNum(p, 'lun') ?? 0;
  const user = propStr(p, 'user');
  const secretId = propStr(p, 'password-secret');
  if (claimSecretObject(r, secretId)) r.diag.warn('SecretNotRecovered', { option: '-blockdev', what: `the iSCSI password ${secretId!}` }, bd.span);
  const auth: DiskAuth | undefined =
    user !== undefined ? { username: user, secretType: 'iscsi', secretUsage: placeholderSecretUsage(r, secretId ?? `${propStr(p, 'node-name') ?? 'iscsi'}-secret`, `the iSCSI login ${user} of -blockdev ${propStr(p, 'node-name') ?? ''}`, bd.span) } : undefined;
  const iqn = propStr(p, 'initiator-name');
  r.claim(bd);
  const address = scsiAddress(r, dev.props);
  return {
    managed: true,
    source: {
      type: 'iscsi',
      name: `${propStr(p, 'target') ?? ''}${lun ? `/${lun}` : ''}`,
      hosts: portal ? [{ name: portal[1] ?? portal[2]!, port: Number(portal[3]) }] : [],
      ...(auth ? { auth } : {}),
      ...(iqn !== undefined ? { initiatorIqn: iqn } : {}),
    },
    ...(propBool(p, 'read-only') ? { readonly: true } : {}),
    ...common(dev.props),
    ...(address ? { address } : {}),
    extra: [],
    $span: dev.opt.span,
  };
}

/** scsi-generic on a -drive file=iscsi://HOST:PORT/TARGET/LUN (QEMU before -blockdev). */
function readScsiDrive(r: ArgvReader, dev: DeviceOption, drive: ParsedOption): Hostdev | undefined {
  const p = optProps(drive);
  const m = /^iscsi:\/\/(?:\[([^\]]+)\]|([^:/]+))(?::(\d+))?\/(.+)$/.exec(propStr(p, 'file') ?? '');
  if (!m) return undefined;
  r.claim(drive);
  const address = scsiAddress(r, dev.props);
  const name = m[4]!.endsWith('/0') ? m[4]!.slice(0, -2) : m[4]!;
  return {
    managed: true,
    source: { type: 'iscsi', name, hosts: [{ name: m[1] ?? m[2]!, ...(m[3] ? { port: Number(m[3]) } : {}) }] },
    ...(propBool(p, 'readonly') ? { readonly: true } : {}),
    ...common(dev.props),
    ...(address ? { address } : {}),
    extra: [],
    $span: dev.opt.span,
  };
}

function scsiAddress(r: ArgvReader, p: Props): Address | undefined {
  const m = /^(.+)\.(\d+)$/.exec(propStr(p, 'bus') ?? '');
  if (!m) return undefined;
  const scsi = r.draft.devices.controllers.filter((c) => c.type === 'scsi');
  const ctl = scsi.find((c) => c.alias === m[1]) ?? scsi.find((c) => `scsi${c.index}` === m[1]);
  const controller = ctl?.index ?? Number(/^scsi(\d+)$/.exec(m[1]!)?.[1] ?? 0);
  const id = propNum(p, 'scsi-id') ?? 0;
  // the lsi HBA: bus in the name, the unit as scsi-id
  if (propNum(p, 'lun') === undefined && propNum(p, 'channel') === undefined) return { type: 'drive', controller, bus: Number(m[2]), target: 0, unit: id };
  return { type: 'drive', controller, bus: propNum(p, 'channel') ?? 0, target: id, unit: propNum(p, 'lun') ?? 0 };
}
