// <disk>: file/block/network sources, drivers, targets and buses.
// argv: -blockdev node pairs + -device (modern), -drive if=none + -device (mid-era),
// -drive if=…/-hda/-cdrom (legacy).
import { fail, type Span } from '../errors.js';
import type { ArgvReader, DeviceOption } from '../ir/argv-reader.js';
import { optProps, optText } from '../ir/argv-reader.js';
import type { Address, Disk, DiskAuth, DiskBackingStore, DiskEncryption, DiskBus, DiskReservations, DiskSlice, DiskSource, Draft } from '../ir/domain.js';
import type { ParsedOption } from '../lexer/argv-parser.js';
import { cephArgsHosts, networkDriveFilename, sourceFromFileProps, sourceFromFilename, type DriveSource } from './disk-source-argv.js';
import { has } from '../qemu/caps.js';
import { propBool, propNum, propObj, propStr, props, type Props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { child, el, type XmlElement } from '../xml/tree.js';
import { boolAttr, checkEnum, enumAttr, intAttr, reqAttr, yesNo } from '../xml/values.js';
import { pciAddressFromProps, pciPlacement, readAddressXml, virtioModelOf, virtioModelProps, virtioTransportProps, writeAddressXml } from './address.js';
import { controllerAlias } from './controller.js';
import { usbBusName, usbPortOf } from './input.js';
import { usbAddressFromProps } from './usb-address.js';
import { settleTlsCreds } from './chardev.js';
import { buildSecretObject, buildSecretValueObject, claimSecretObject, placeholderSecretUsage } from './secret.js';
import { DEFAULT_SCSI_MODEL } from '../ir/pci-addresses.js';

const DISK_TYPES = ['file', 'block', 'dir', 'network', 'volume', 'nvme', 'vhostuser'] as const;
const DEVICES = ['disk', 'cdrom', 'floppy', 'lun'] as const;
const BUSES = ['ide', 'scsi', 'virtio', 'xen', 'usb', 'sata', 'fdc', 'sd', 'uml'] as const;
const VIRTIO_MODELS = ['virtio', 'virtio-transitional', 'virtio-non-transitional'] as const;
const KNOWN = new Set(['driver', 'auth', 'encryption', 'source', 'target', 'readonly', 'shareable', 'serial', 'wwn', 'vendor', 'product', 'boot', 'alias', 'address', 'blockio', 'geometry', 'acpi', 'backingStore']);

// --- XML -> IR ---------------------------------------------------------------------------------

export function readDiskXml(e: XmlElement): Disk {
  const type = checkEnum(e, 'disk type', e.attrs.type ?? 'file', DISK_TYPES);
  const device = enumAttr(e, 'device', DEVICES) ?? 'disk';
  const src = child(e, 'source');
  const target = child(e, 'target');
  if (!target) return fail('XmlMissingElement', { element: 'target', parent: 'disk' }, e.span);
  const drv = child(e, 'driver');
  const boot = child(e, 'boot');
  const address = child(e, 'address');
  const alias = child(e, 'alias');
  const blockio = child(e, 'blockio');
  const geometry = child(e, 'geometry');
  const dev = reqAttr(target, 'dev');
  return {
    source: readSource(type, src),
    device,
    ...(drv
      ? {
          driver: {
            ...(drv.attrs.name ? { name: drv.attrs.name } : {}),
            ...(drv.attrs.type ? { type: drv.attrs.type } : {}),
            ...(drv.attrs.cache ? { cache: enumAttr(drv, 'cache', ['default', 'none', 'writethrough', 'writeback', 'directsync', 'unsafe'] as const) } : {}),
            ...(drv.attrs.io ? { io: enumAttr(drv, 'io', ['threads', 'native', 'io_uring'] as const) } : {}),
            ...(drv.attrs.discard ? { discard: enumAttr(drv, 'discard', ['unmap', 'ignore'] as const) } : {}),
            ...(drv.attrs.detect_zeroes ? { detectZeroes: enumAttr(drv, 'detect_zeroes', ['off', 'on', 'unmap'] as const) } : {}),
            ...(drv.attrs.error_policy ? { errorPolicy: drv.attrs.error_policy } : {}),
            ...(drv.attrs.rerror_policy ? { rerrorPolicy: drv.attrs.rerror_policy } : {}),
            ...(drv.attrs.queues ? { queues: intAttr(drv, 'queues') } : {}),
            ...(drv.attrs.iothread ? { iothread: intAttr(drv, 'iothread') } : {}),
            ...(drv.attrs.queue_size ? { queueSize: intAttr(drv, 'queue_size') } : {}),
            ...(drv.attrs.iommu ? { iommu: drv.attrs.iommu === 'on' } : {}),
            ...(drv.attrs.ats ? { ats: drv.attrs.ats === 'on' } : {}),
            ...(drv.attrs.packed ? { packed: drv.attrs.packed === 'on' } : {}),
            ...(drv.attrs.page_per_vq ? { pagePerVq: boolAttr(drv, 'page_per_vq') } : {}),
            ...(drv.attrs.ioeventfd ? { ioeventfd: boolAttr(drv, 'ioeventfd') } : {}),
            ...(drv.attrs.event_idx ? { eventIdx: boolAttr(drv, 'event_idx') } : {}),
            ...(drv.attrs.copy_on_read ? { copyOnRead: boolAttr(drv, 'copy_on_read') } : {}),
          },
        }
      : {}),
    target: {
      dev,
      ...(target.attrs.bus ? { bus: checkEnum(target, 'disk target bus', target.attrs.bus, BUSES) } : { bus: busFromTarget(dev) }),
      ...(target.attrs.tray ? { tray: enumAttr(target, 'tray', ['open', 'closed'] as const) } : {}),
      ...(target.attrs.removable ? { removable: boolAttr(target, 'removable') } : {}),
      ...(target.attrs.rotation_rate ? { rotationRate: intAttr(target, 'rotation_rate') } : {}),
    },
    ...(geometry
      ? { geometry: { cyls: intAttr(geometry, 'cyls') ?? 0, heads: intAttr(geometry, 'heads') ?? 0, secs: intAttr(geometry, 'secs') ?? 0, ...(geometry.attrs.trans ? { trans: geometry.attrs.trans } : {}) } }
      : {}),
    ...(blockio
      ? {
          blockio: {
            ...(blockio.attrs.logical_block_size ? { logical: intAttr(blockio, 'logical_block_size') } : {}),
            ...(blockio.attrs.physical_block_size ? { physical: intAttr(blockio, 'physical_block_size') } : {}),
            ...(blockio.attrs.discard_granularity ? { discardGranularity: intAttr(blockio, 'discard_granularity') } : {}),
          },
        }
      : {}),
    ...(child(e, 'readonly') ? { readonly: true } : {}),
    ...(child(e, 'shareable') ? { shareable: true } : {}),
    ...(child(e, 'serial') ? { serial: child(e, 'serial')!.text } : {}),
    ...(child(e, 'wwn') ? { wwn: readWwn(child(e, 'wwn')!) } : {}),
    ...(child(e, 'vendor') ? { vendor: child(e, 'vendor')!.text } : {}),
    ...(child(e, 'product') ? { product: child(e, 'product')!.text } : {}),
    ...(e.attrs.model ? { model: enumAttr(e, 'model', VIRTIO_MODELS) } : {}),
    // NB: volume/nvme/vhostuser sources are kept whole, startupPolicy with them
    ...(src?.attrs.startupPolicy && (type === 'file' || type === 'block' || type === 'dir') ? { startupPolicy: enumAttr(src, 'startupPolicy', ['mandatory', 'requisite', 'optional'] as const) } : {}),
    ...(e.attrs.rawio ? { rawio: boolAttr(e, 'rawio') } : {}),
    ...(e.attrs.sgio ? { sgio: enumAttr(e, 'sgio', ['filtered', 'unfiltered'] as const) } : {}),
    ...(e.attrs.snapshot ? { snapshot: e.attrs.snapshot } : {}),
    ...(src && readSlice(src) ? { slice: readSlice(src) } : {}),
    ...(src && child(src, 'reservations') ? { reservations: readReservations(child(src, 'reservations')!) } : {}),
    ...(child(e, 'backingStore') ? { backingStore: readBackingStore(child(e, 'backingStore')!) } : {}),
    ...(child(e, 'auth') ? { auth: readAuthXml(child(e, 'auth')!) } : {}),
    ...(encryptionOf(e, src) ? { encryption: encryptionOf(e, src) } : {}),
    ...(child(e, 'acpi')?.attrs.index ? { acpiIndex: intAttr(child(e, 'acpi')!, 'index') } : {}),
    ...(boot ? { bootOrder: intAttr(boot, 'order') } : {}),
    ...(boot?.attrs.loadparm !== undefined ? { bootLoadparm: boot.attrs.loadparm } : {}),
    ...(alias?.attrs.name ? { alias: alias.attrs.name } : {}),
    ...(address ? { address: readAddressXml(address) } : {}),
    extra: e.children.filter((c) => !KNOWN.has(c.name)),
    $span: e.span,
  };
}

/** <slices><slice type='storage' offset size/>: the only slice type libvirt has. */
function readSlice(src: XmlElement): DiskSlice | undefined {
  const slices = child(src, 'slices');
  const s = slices && child(slices, 'slice');
  if (!s) return undefined;
  checkEnum(s, 'slice type', reqAttr(s, 'type'), ['storage'] as const);
  return { offset: intAttr(s, 'offset') ?? 0, size: intAttr(s, 'size') ?? 0 };
}

function readReservations(e: XmlElement): DiskReservations {
  const src = child(e, 'source');
  return {
    managed: boolAttr(e, 'managed') ?? false,
    ...(src?.attrs.path !== undefined ? { path: src.attrs.path } : {}),
    ...(src?.attrs.mode ? { mode: enumAttr(src, 'mode', ['client', 'server'] as const) } : {}),
  };
}

/** <backingStore type index><format type/><source …/><backingStore …/></backingStore>; empty: the chain ends. */
function readBackingStore(e: XmlElement): DiskBackingStore | null {
  if (!e.attrs.type) return null;
  const type = checkEnum(e, 'backingStore type', e.attrs.type, DISK_TYPES);
  const src = child(e, 'source');
  const next = child(e, 'backingStore');
  const format = child(e, 'format')?.attrs.type;
  return {
    source: readSource(type, src),
    ...(format ? { format } : {}),
    ...(src && readSlice(src) ? { slice: readSlice(src) } : {}),
    ...(encryptionOf(e, src) ? { encryption: encryptionOf(e, src) } : {}),
    ...(e.attrs.index ? { index: intAttr(e, 'index') } : {}),
    ...(next ? { backingStore: readBackingStore(next) } : {}),
  };
}

/** <source> children the IR models for every source type. */
const SOURCE_FIELDS = new Set(['slices', 'encryption', 'reservations']);

const fdgroupOf = (src: XmlElement | undefined): { fdgroup?: string } => (src?.attrs.fdgroup !== undefined ? { fdgroup: src.attrs.fdgroup } : {});

function readSource(type: (typeof DISK_TYPES)[number], src: XmlElement | undefined): DiskSource {
  switch (type) {
    case 'file':
      return { type, ...(src?.attrs.file !== undefined ? { file: src.attrs.file } : {}), ...fdgroupOf(src) };
    case 'block':
      return { type, ...(src?.attrs.dev !== undefined ? { dev: src.attrs.dev } : {}), ...fdgroupOf(src) };
    case 'dir':
      return { type, ...(src?.attrs.dir !== undefined ? { dir: src.attrs.dir } : {}), ...fdgroupOf(src) };
    case 'volume':
    case 'nvme':
    case 'vhostuser':
      // slices, encryption and reservations are the disk's own fields, written back from there
      return { type, ...(src ? { element: { ...src, children: src.children.filter((c) => !SOURCE_FIELDS.has(c.name)) } } : {}) };
    case 'network': {
      if (!src) return fail('XmlMissingElement', { element: 'source', parent: 'disk' }, undefined);
      const protocol = checkEnum(src, 'disk source protocol', reqAttr(src, 'protocol'), ['nbd', 'iscsi', 'rbd', 'gluster', 'sheepdog', 'http', 'https', 'ftp', 'ftps', 'tftp', 'ssh', 'vxhs', 'nfs'] as const);
      return {
        type,
        protocol,
        ...(src.attrs.name !== undefined ? { name: src.attrs.name } : {}),
        hosts: src.children.filter((h) => h.name === 'host').map((h) => ({
          ...(h.attrs.name !== undefined ? { name: h.attrs.name } : {}),
          ...(h.attrs.port !== undefined ? { port: intAttr(h, 'port') } : {}),
          ...(h.attrs.transport !== undefined ? { transport: enumAttr(h, 'transport', ['tcp', 'unix', 'rdma'] as const) } : {}),
          ...(h.attrs.socket !== undefined ? { socket: h.attrs.socket } : {}),
        })),
        ...readNetworkSourceOptions(src),
      };
    }
  }
}

export type NetworkSource = Extract<DiskSource, { type: 'network' }>;

/** A network <source>'s attributes and children past protocol, name and hosts. */
function readNetworkSourceOptions(src: XmlElement): Omit<Draft<NetworkSource>, 'type' | 'protocol' | 'name' | 'hosts'> {
  const snapshot = child(src, 'snapshot')?.attrs.name;
  const config = child(src, 'config')?.attrs.file;
  const initiator = child(child(src, 'initiator') ?? src, 'iqn');
  const ssl = child(src, 'ssl');
  const cookies = child(src, 'cookies');
  const readahead = child(src, 'readahead');
  const timeout = child(src, 'timeout');
  const auth = child(src, 'auth');
  const identity = child(src, 'identity');
  return {
    ...(src.attrs.query !== undefined ? { query: src.attrs.query } : {}),
    ...(src.attrs.tls !== undefined ? { tls: boolAttr(src, 'tls') } : {}),
    ...(snapshot !== undefined ? { snapshot } : {}),
    ...(config !== undefined ? { config } : {}),
    ...(initiator && child(src, 'initiator') ? { initiator: reqAttr(initiator, 'name') } : {}),
    ...(ssl?.attrs.verify !== undefined ? { sslVerify: boolAttr(ssl, 'verify') } : {}),
    ...(cookies ? { cookies: cookies.children.filter((c) => c.name === 'cookie').map((c) => ({ name: reqAttr(c, 'name'), value: c.text })) } : {}),
    ...(readahead ? { readahead: intAttr(readahead, 'size') } : {}),
    ...(timeout ? { timeout: intAttr(timeout, 'seconds') } : {}),
    ...(auth ? { auth: readAuthXml(auth) } : {}),
    ...(identity
      ? { identity: { ...(identity.attrs.user !== undefined ? { user: identity.attrs.user } : {}), ...(identity.attrs.group !== undefined ? { group: identity.attrs.group } : {}) } }
      : {}),
  };
}

/** <auth username><secret type usage|uuid/></auth> */
function readAuthXml(e: XmlElement): DiskAuth {
  const secret = child(e, 'secret');
  return {
    username: reqAttr(e, 'username'),
    ...(secret?.attrs.type ? { secretType: checkEnum(secret, 'auth secret type', secret.attrs.type, ['iscsi', 'ceph'] as const) } : {}),
    ...(secret?.attrs.usage !== undefined ? { secretUsage: secret.attrs.usage } : {}),
    ...(secret?.attrs.uuid !== undefined ? { secretUuid: secret.attrs.uuid } : {}),
  };
}

/** <encryption format engine><secret type='passphrase' uuid|usage/></encryption> */
function readEncryptionXml(e: XmlElement, inSource: boolean): DiskEncryption {
  const secret = child(e, 'secret');
  return {
    format: checkEnum(e, 'encryption format', e.attrs.format ?? 'default', ['luks', 'luks2', 'qcow', 'default'] as const),
    ...(e.attrs.engine ? { engine: enumAttr(e, 'engine', ['qemu', 'librbd'] as const) } : {}),
    ...(secret?.attrs.uuid !== undefined ? { secretUuid: secret.attrs.uuid } : {}),
    ...(secret?.attrs.usage !== undefined ? { secretUsage: secret.attrs.usage } : {}),
    ...(inSource ? { inSource } : {}),
  };
}

/** The <encryption> of a disk or backing store: in its <source>, or (older XML) beside it. */
function encryptionOf(e: XmlElement, src: XmlElement | undefined): DiskEncryption | undefined {
  const inSrc = src && child(src, 'encryption');
  if (inSrc) return readEncryptionXml(inSrc, true);
  const onDisk = child(e, 'encryption');
  return onDisk ? readEncryptionXml(onDisk, false) : undefined;
}

/** libvirt's default bus for a target name: hdX ide, sdX scsi, vdX virtio, fdX fdc, xvdX xen. */
export function busFromTarget(dev: string): DiskBus {
  if (dev.startsWith('hd')) return 'ide';
  if (dev.startsWith('vd')) return 'virtio';
  if (dev.startsWith('fd')) return 'fdc';
  if (dev.startsWith('xvd')) return 'xen';
  if (dev.startsWith('ubd')) return 'uml';
  return 'scsi';
}

/** "hda" -> 0, "sdz" -> 25, "sdaa" -> 26 (libvirt's virDiskNameToIndex). */
export function diskIndex(dev: string): number {
  const m = /^(?:hd|sd|vd|fd|xvd|ubd)([a-z]+)$/.exec(dev);
  if (!m) return 0;
  let idx = 0;
  for (const ch of m[1]!) idx = idx * 26 + (ch.charCodeAt(0) - 96);
  return idx - 1;
}

export function diskNameFromIndex(prefix: string, idx: number): string {
  let s = '';
  let n = idx + 1;
  while (n > 0) {
    const r = (n - 1) % 26;
    s = String.fromCharCode(97 + r) + s;
    n = Math.floor((n - 1) / 26);
  }
  return prefix + s;
}

/** The drive address libvirt assigns from the target name (virDomainDiskDefAssignAddress). */
export function driveAddressFor(disk: Disk): Address | undefined {
  const idx = diskIndex(disk.target.dev);
  switch (disk.target.bus) {
    case 'ide':
      return { type: 'drive', controller: Math.floor(idx / 4), bus: Math.floor((idx % 4) / 2), target: 0, unit: idx % 2 };
    case 'sata':
      return { type: 'drive', controller: Math.floor(idx / 6), bus: 0, target: 0, unit: idx % 6 };
    case 'scsi':
      return { type: 'drive', controller: Math.floor(idx / 7), bus: 0, target: 0, unit: idx % 7 };
    case 'fdc':
      return { type: 'drive', controller: 0, bus: 0, target: 0, unit: idx };
    default:
      return undefined;
  }
}

// --- IR -> XML ---------------------------------------------------------------------------------

export function writeDiskXml(d: Disk): XmlElement {
  const s = d.source;
  const drv = d.driver;
  return el(
    'disk',
    { type: s.type, device: d.device, model: d.model, rawio: yesNo(d.rawio), sgio: d.sgio, snapshot: d.snapshot },
    drv && el('driver', {
      name: drv.name, type: drv.type, cache: drv.cache, error_policy: drv.errorPolicy, rerror_policy: drv.rerrorPolicy, io: drv.io,
      discard: drv.discard, queues: drv.queues, queue_size: drv.queueSize, detect_zeroes: drv.detectZeroes, iothread: drv.iothread,
      ioeventfd: onOff(drv.ioeventfd), event_idx: onOff(drv.eventIdx), copy_on_read: onOff(drv.copyOnRead),
      iommu: onOff(drv.iommu), ats: onOff(drv.ats), packed: onOff(drv.packed), page_per_vq: onOff(drv.pagePerVq),
    }),
    d.auth && authXml(d.auth),
    withEncryption(withSourceChildren(withStartupPolicy(sourceXml(s), d.startupPolicy), d.slice, d.reservations), d.encryption),
    d.backingStore !== undefined && backingStoreXml(d.backingStore),
    el('target', { dev: d.target.dev, bus: d.target.bus, tray: d.target.tray, removable: onOff(d.target.removable), rotation_rate: d.target.rotationRate }),
    d.geometry && el('geometry', { cyls: d.geometry.cyls, heads: d.geometry.heads, secs: d.geometry.secs, trans: d.geometry.trans }),
    d.blockio && el('blockio', { logical_block_size: d.blockio.logical, physical_block_size: d.blockio.physical, discard_granularity: d.blockio.discardGranularity }),
    d.bootOrder !== undefined && el('boot', { order: d.bootOrder, loadparm: d.bootLoadparm }),
    d.readonly && el('readonly'),
    d.shareable && el('shareable'),
    d.serial !== undefined && el('serial', {}, d.serial),
    d.wwn !== undefined && el('wwn', {}, d.wwn),
    d.vendor !== undefined && el('vendor', {}, d.vendor),
    d.product !== undefined && el('product', {}, d.product),
    d.encryption && !d.encryption.inSource && encryptionXml(d.encryption),
    d.extra,
    d.alias !== undefined && el('alias', { name: d.alias }),
    d.acpiIndex !== undefined && el('acpi', { index: d.acpiIndex }),
    writeAddressXml(d.address),
  );
}

const onOff = (b: boolean | undefined) => (b === undefined ? undefined : b ? 'on' : 'off');

function sourceXml(s: DiskSource): XmlElement | undefined {
  switch (s.type) {
    case 'file':
      return s.file === undefined && s.fdgroup === undefined ? undefined : el('source', { file: s.file, fdgroup: s.fdgroup });
    case 'block':
      return s.dev === undefined && s.fdgroup === undefined ? undefined : el('source', { dev: s.dev, fdgroup: s.fdgroup });
    case 'dir':
      return s.dir === undefined && s.fdgroup === undefined ? undefined : el('source', { dir: s.dir, fdgroup: s.fdgroup });
    case 'volume':
    case 'nvme':
    case 'vhostuser':
      return s.element;
    case 'network':
      return el(
        'source',
        { protocol: s.protocol, name: s.name, query: s.query, tls: yesNo(s.tls) },
        s.hosts.map((h) => el('host', { name: h.name, port: h.port, transport: h.transport, socket: h.socket })),
        s.snapshot !== undefined && el('snapshot', { name: s.snapshot }),
        s.config !== undefined && el('config', { file: s.config }),
        s.initiator !== undefined && el('initiator', {}, el('iqn', { name: s.initiator })),
        s.sslVerify !== undefined && el('ssl', { verify: yesNo(s.sslVerify) }),
        s.cookies && el('cookies', {}, s.cookies.map((c) => el('cookie', { name: c.name }, c.value))),
        s.readahead !== undefined && el('readahead', { size: s.readahead }),
        s.timeout !== undefined && el('timeout', { seconds: s.timeout }),
        s.identity && el('identity', { user: s.identity.user, group: s.identity.group }),
        s.auth && authXml(s.auth),
      );
  }
}

/** <slices> and <reservations> go inside <source>, after what the source type itself writes. */
/** NB: libvirt writes startupPolicy after the source's location (and fdgroup) attributes. */
function withStartupPolicy(src: XmlElement | undefined, policy: Disk['startupPolicy']): XmlElement | undefined {
  if (policy === undefined) return src;
  const base = src ?? el('source');
  return { ...base, attrs: { ...base.attrs, startupPolicy: policy } };
}

function withSourceChildren(src: XmlElement | undefined, slice: DiskSlice | undefined, res: DiskReservations | undefined): XmlElement | undefined {
  if (!slice && !res) return src;
  const base = src ?? el('source');
  return el(
    'source',
    base.attrs,
    ...base.children,
    slice && el('slices', {}, el('slice', { type: 'storage', offset: slice.offset, size: slice.size })),
    res && el('reservations', { managed: yesNo(res.managed) }, res.path !== undefined ? el('source', { type: 'unix', path: res.path, mode: res.mode }) : undefined),
  );
}

function backingStoreXml(b: DiskBackingStore | null): XmlElement {
  if (!b) return el('backingStore');
  return el(
    'backingStore',
    { type: b.source.type, index: b.index },
    b.format !== undefined && el('format', { type: b.format }),
    withEncryption(withSourceChildren(sourceXml(b.source), b.slice, undefined), b.encryption),
    b.backingStore !== undefined && backingStoreXml(b.backingStore),
  );
}

/** <encryption> inside <source>, when that is where the XML had it. */
function withEncryption(src: XmlElement | undefined, enc: DiskEncryption | undefined): XmlElement | undefined {
  if (!enc?.inSource) return src;
  const base = src ?? el('source');
  return el('source', base.attrs, ...base.children, encryptionXml(enc));
}

function encryptionXml(e: DiskEncryption): XmlElement {
  return el(
    'encryption',
    { format: e.format, engine: e.engine },
    e.secretUuid !== undefined || e.secretUsage !== undefined ? el('secret', { type: 'passphrase', uuid: e.secretUuid, usage: e.secretUsage }) : undefined,
  );
}

function authXml(a: DiskAuth): XmlElement {
  return el('auth', { username: a.username }, a.secretType || a.secretUsage || a.secretUuid ? el('secret', { type: a.secretType, usage: a.secretUsage, uuid: a.secretUuid }) : undefined);
}

// --- IR -> argv --------------------------------------------------------------------------------

/** libvirt's alias for a disk: ide0-0-0, sata0-0-0, scsi0-0-0-0, fdc0-0-0, virtio-disk0 … */
export function diskAlias(d: Disk): string {
  if (d.alias) return d.alias;
  const a = d.address?.type === 'drive' ? d.address : driveAddressFor(d);
  const bus = d.target.bus ?? 'ide';
  if (a?.type === 'drive') {
    if (bus === 'scsi') return `scsi${a.controller}-${a.bus}-${a.target}-${a.unit}`;
    return `${bus}${a.controller}-${a.bus}-${a.unit}`;
  }
  return `${bus}-disk${diskIndex(d.target.dev)}`;
}

function sourcePath(s: DiskSource): string | undefined {
  return s.type === 'file' ? s.file : s.type === 'block' ? s.dev : s.type === 'dir' ? s.dir : undefined;
}

export interface DiskEmitInfo {
  readonly disk: Disk;
  /** blockdev node index of the top image, libvirt-N; its backing images take N+1, N+2, … */
  readonly nodeIndex: number;
  readonly bootindex?: number;
}

/** One image of a disk's chain, top first: libvirt's virStorageSource. */
interface ChainImage {
  readonly source: DiskSource;
  readonly format: string;
  readonly slice?: DiskSlice;
  readonly encryption?: DiskEncryption;
  /** the <backingStore> below it: undefined when the XML has none, null when it is <backingStore/> */
  readonly below: DiskBackingStore | null | undefined;
}

/** Source types QEMU opens itself (the others are resolved by libvirt on the host). */
const OPENABLE = new Set<DiskSource['type']>(['file', 'block', 'dir', 'network', 'nvme']);

/** The disk's images, top first, down its <backingStore> chain. */
function diskChain(disk: Disk): ChainImage[] {
  const out: ChainImage[] = [{ source: disk.source, format: disk.driver?.type ?? 'raw', ...(disk.slice ? { slice: disk.slice } : {}), ...(disk.encryption ? { encryption: disk.encryption } : {}), below: disk.backingStore }];
  for (let b = disk.backingStore; b && OPENABLE.has(b.source.type); b = b.backingStore) {
    out.push({ source: b.source, format: b.format ?? 'raw', ...(b.slice ? { slice: b.slice } : {}), ...(b.encryption ? { encryption: b.encryption } : {}), below: b.backingStore });
  }
  return out;
}

/** Formats that carry a backing file reference (libvirt's VIR_STORAGE_FILE_BACKING and later). */
const BACKING_FORMATS = new Set(['cow', 'qcow', 'qcow2', 'qed', 'vmdk']);

/** Emits every disk; `bootIndexes` maps disks to their bootindex (see the boot family). */
export function buildDisks(ctx: EmitContext, bootIndexes: ReadonlyMap<object, number>): void {
  const disks = ctx.dom.devices.disks;
  const fdc = has(ctx.caps, 'device') ? buildFloppyController(ctx, bootIndexes) : false;
  // NB: libvirt numbers blockdev nodes in reverse disk order (the last disk's top image is
  // libvirt-1), each disk's chain from the top image down.
  const nodeIndexes: number[] = [];
  for (let i = disks.length - 1, next = 1; i >= 0; i--) {
    nodeIndexes[i] = next;
    next += diskChain(disks[i]!).length;
  }
  disks.forEach((disk, i) => {
    const nodeIndex = nodeIndexes[i]!;
    // a floppy boots through its controller's bootindexA/B, not its own bootindex
    const bootindex = fdc && disk.target.bus === 'fdc' ? undefined : bootIndexes.get(disk);
    const src = disk.source;
    // NB: libvirt opens an fdgroup's image from descriptors a client associated with the running
    // domain (virDomainFDAssociate); a command line cannot name them: the path stands in
    for (let b: DiskSource | undefined = src, next = disk.backingStore; b; b = next?.source, next = next?.backingStore) {
      if ('fdgroup' in b && b.fdgroup !== undefined) {
        ctx.diag.warn('XmlUnsupportedAttribute', { element: 'source', attribute: 'fdgroup', detail: `of disk ${disk.target.dev} (descriptors passed at run time; the path is used)` }, disk.$span);
      }
    }
    if (src.type === 'vhostuser' && src.element?.attrs.path && has(ctx.caps, 'blockdev')) {
      buildVhostUserDisk(ctx, disk, src.element, bootindex);
      return;
    }
    if (src.type === 'volume' || src.type === 'vhostuser' || (src.type === 'nvme' && !has(ctx.caps, 'blockdev'))) {
      ctx.diag.warn('UnsupportedForTarget', { what: `<disk type='${src.type}'> ${disk.target.dev}`, target: 'a converter without access to the host' }, disk.$span);
      return;
    }
    if (has(ctx.caps, 'blockdev')) buildBlockdevDisk(ctx, { disk, nodeIndex, ...(bootindex !== undefined ? { bootindex } : {}) });
    else if (has(ctx.caps, 'device')) buildDriveDeviceDisk(ctx, disk, bootindex);
    else buildLegacyDrive(ctx, disk);
  });
}

/** A vhost-user disk: a backend process serves the blocks over a UNIX socket; no blockdev nodes. */
function buildVhostUserDisk(ctx: EmitContext, disk: Disk, source: XmlElement, bootindex: number | undefined): void {
  const alias = diskAlias(disk);
  const chardev = `chr-vu-${alias}`;
  const reconnect = child(source, 'reconnect');
  ctx.out.keyval('-chardev', props({
    backend: 'socket',
    id: chardev,
    path: source.attrs.path,
    reconnect: reconnect?.attrs.enabled === 'yes' ? reconnect.attrs.timeout : undefined,
  }));
  const drv = disk.driver;
  ctx.out.object('-device', props({
    ...virtioModelProps(ctx, 'vhost-user-blk-pci', disk.model),
    ...virtioTransportProps(drv),
    ...pciPlacement(ctx.dom, disk.address),
    chardev,
    id: alias,
    bootindex,
    'num-queues': drv?.queues,
    'queue-size': drv?.queueSize,
  }));
}

/** Whether the machine's floppy controller must be created explicitly (q35 2.12 and later). */
function needsFdcDevice(machine: string | undefined): boolean {
  if (machine === 'q35') return true;
  const v = /^pc-q35-(\d+)\.(\d+)/.exec(machine ?? '');
  return !!v && (Number(v[1]) > 2 || (Number(v[1]) === 2 && Number(v[2]) >= 12));
}

/**
 * The floppy controller's boot order: -global isa-fdc.bootindexA/B on machines with a built-in
 * FDC, an explicit isa-fdc device on newer q35. Returns whether floppies boot through it.
 */
function buildFloppyController(ctx: EmitContext, bootIndexes: ReadonlyMap<object, number>): boolean {
  const floppies = ctx.dom.devices.disks.filter((d) => d.target.bus === 'fdc');
  if (!floppies.length) return false;
  const boot: Record<string, number> = {};
  for (const d of floppies) {
    const a = d.address?.type === 'drive' ? d.address : driveAddressFor(d);
    const idx = bootIndexes.get(d);
    if (idx !== undefined && a?.type === 'drive') boot[`bootindex${a.unit ? 'B' : 'A'}`] = idx;
  }
  if (needsFdcDevice(ctx.dom.os.machine)) ctx.out.object('-device', props({ driver: 'isa-fdc', ...boot }));
  else for (const [k, v] of Object.entries(boot)) ctx.out.raw('-global', `isa-fdc.${k}=${v}`);
  return true;
}

/** The managed qemu-pr-helper libvirt starts for disks with <reservations managed='yes'>. */
const MANAGED_PR_HELPER = 'pr-helper0';

/** The one pr-manager object for managed reservations, made next to the master key. */
export function buildManagedPrHelper(ctx: EmitContext): void {
  if (!has(ctx.caps, 'blockdev') || !ctx.dom.devices.disks.some((d) => d.reservations?.managed)) return;
  ctx.out.object('-object', props({ 'qom-type': 'pr-manager-helper', id: MANAGED_PR_HELPER, path: `${ctx.paths.stateDir}/${MANAGED_PR_HELPER}.sock` }));
}

function protocolDriver(disk: Disk, s: DiskSource): string {
  // NB: libvirt asks the host whether a block cdrom is a real drive (host_cdrom); without the
  // host we take the kernel's names for optical drives (/dev/cdrom, /dev/srN) to be ones
  if (s.type === 'block') return disk.device === 'cdrom' && /^\/dev\/(cdrom|sr\d+)$/.test(s.dev ?? '') ? 'host_cdrom' : 'host_device';
  if (s.type === 'network') return s.protocol;
  if (s.type === 'dir') return 'vvfat';
  if (s.type === 'nvme') return 'nvme';
  return 'file';
}

/** <source type='pci' namespace><address …/>: the NVMe controller's PCI address and namespace. */
function nvmeProps(source: XmlElement | undefined): Record<string, unknown> {
  const a = source && child(source, 'address');
  const hex = (k: string, width: number) => (Number(a?.attrs[k] ?? 0) || 0).toString(16).padStart(width, '0');
  return {
    device: `${hex('domain', 4)}:${hex('bus', 2)}:${hex('slot', 2)}.${(Number(a?.attrs.function ?? 0) || 0).toString(16)}`,
    namespace: Number(source?.attrs.namespace ?? 1),
  };
}

/** What locates the image for its storage driver: a path, a vvfat directory, a server … */
function storageLocation(disk: Disk, s: DiskSource, readOnly: boolean): Record<string, unknown> {
  switch (s.type) {
    case 'dir':
      // NB: vvfat emulates the FAT image itself; rw is the only write switch it has
      return { dir: s.dir, floppy: disk.device === 'floppy', rw: !readOnly };
    case 'nvme':
      return nvmeProps(s.element);
    default:
      return { filename: sourcePath(s) };
  }
}

/**
 * A disk on -blockdev: per image of its chain, bottom first, the storage node, an optional slice
 * node and the format node (which names the image below as its backing), then the copy-on-read
 * filter and the frontend.
 */
function buildBlockdevDisk(ctx: EmitContext, info: DiskEmitInfo): void {
  const { disk, nodeIndex } = info;
  const hasMedia = sourcePath(disk.source) !== undefined || disk.source.type === 'network' || disk.source.type === 'nvme';
  const chain = hasMedia ? diskChain(disk) : [];
  const cache = cacheFlags(disk);
  const cacheProp = cache ? { cache: { direct: cache.direct, 'no-flush': cache.noFlush } } : {};
  for (let i = chain.length - 1; i >= 0; i--) {
    const img = chain[i]!;
    const n = nodeIndex + i;
    const top = i === 0;
    const storage = `libvirt-${n}-storage`;
    // NB: only the top image is written; the backing images are read-only whatever the disk says
    const readOnly = !top || disk.readonly === true || disk.device === 'cdrom';
    let prManager: string | undefined;
    const res = top ? disk.reservations : undefined;
    if (res?.managed) prManager = MANAGED_PR_HELPER;
    else if (res) {
      prManager = `pr-helper-${storage}`;
      ctx.out.object('-object', props({ 'qom-type': 'pr-manager-helper', id: prManager, path: res.path }));
    }
    // NB: the secrets and TLS credentials a node refers to come before it: auth, encryption
    // passphrase, HTTP cookies, TLS key password, TLS credentials (libvirt's attach order)
    // NB: <auth> on the <disk> (its older place) belongs to the top image's source
    const src = top && disk.auth && img.source.type === 'network' && !img.source.auth ? { ...img.source, auth: disk.auth } : img.source;
    checkEncryption(ctx, img, disk.$span);
    const net = src.type === 'network' ? networkSecrets(ctx, src, storage, disk.$span) : undefined;
    const encSecret = encryptionSecret(ctx, img, `libvirt-${n}-format`, disk.$span);
    // NB: engine='librbd' has the rbd storage node decrypt (its encrypt=); else the format node does
    const librbd = img.encryption?.engine === 'librbd' && encSecret !== undefined ? { format: img.encryption.format, 'key-secret': encSecret } : undefined;
    const keySecret = librbd ? undefined : encSecret;
    if (net) buildNetworkTls(ctx, net);
    ctx.out.object('-blockdev', props({
      driver: protocolDriver(disk, img.source),
      ...(src.type === 'network' ? networkProps(ctx, src, net!, librbd) : storageLocation(disk, src, readOnly)),
      // <driver io> is the local file drivers' aio= (file, host_device, host_cdrom), on every image
      // of the chain; network protocols and vvfat have no such knob
      aio: src.type === 'network' || src.type === 'dir' || src.type === 'nvme' ? undefined : disk.driver?.io,
      'pr-manager': prManager,
      'node-name': storage,
      ...cacheProp,
      'auto-read-only': true,
      discard: 'unmap',
    }));
    // NB: a slice of a raw image is the raw driver's own offset/size; under any other format,
    // or a raw image QEMU decrypts (its format node is luks), which must see only the slice,
    // libvirt puts a raw node between storage and format
    const sliceLayer = img.slice !== undefined && (img.format !== 'raw' || keySecret !== undefined);
    let file = storage;
    if (img.slice && sliceLayer) {
      file = `libvirt-${n}-slice-sto`;
      ctx.out.object('-blockdev', props({
        driver: 'raw', 'node-name': file, offset: img.slice.offset, size: img.slice.size, file: storage, 'auto-read-only': true, discard: 'unmap', ...cacheProp,
      }));
    }
    // detect_zeroes applies to the top image alone; discard and cache to the whole chain
    const dz = top ? disk.driver?.detectZeroes : undefined;
    // NB: a backing image of a type QEMU cannot open by itself (a pool volume) is left for QEMU
    // to find from the image header, as with no <backingStore> at all
    if (img.below && !chain[i + 1]) {
      ctx.diag.warn('UnsupportedForTarget', { what: `<backingStore type='${img.below.source.type}'> of ${disk.target.dev}`, target: 'a converter without access to the host' }, disk.$span);
    }
    const backing = !BACKING_FORMATS.has(img.format) || img.below === undefined ? undefined : img.below === null ? null : chain[i + 1] ? `libvirt-${n + 1}-format` : undefined;
    ctx.out.object('-blockdev', props({
      'node-name': `libvirt-${n}-format`,
      'read-only': readOnly,
      discard: disk.driver?.discard,
      // NB: detect_zeroes='unmap' means 'on' unless discard='unmap' lets QEMU unmap
      'detect-zeroes': dz === 'unmap' && disk.driver?.discard !== 'unmap' ? 'on' : dz,
      ...cacheProp,
      // NB: a directory's FAT image is emulated by vvfat: the format on top of it is raw
      ...formatDriver(img.format === 'fat' ? 'raw' : img.format, keySecret),
      ...(img.slice && !sliceLayer ? { offset: img.slice.offset, size: img.slice.size } : {}),
      file,
      ...(backing !== undefined ? { backing } : {}),
    }));
  }
  let drive = hasMedia ? `libvirt-${nodeIndex}-format` : undefined;
  if (drive && disk.driver?.copyOnRead) {
    const cor = `libvirt-CoR-${disk.target.dev}`;
    ctx.out.object('-blockdev', props({ driver: 'copy-on-read', 'node-name': cor, file: drive, discard: 'unmap' }));
    drive = cor;
  }
  ctx.out.object('-device', deviceProps(ctx, disk, drive, info.bootindex));
}

/**
 * A network image's storage-node keys (driver and location, node name excluded) for images
 * outside <disk> (a network NVRAM store); its secret objects and TLS credentials are printed first.
 */
export function networkStorageProps(ctx: EmitContext, s: NetworkSource, storage: string, span: Span | undefined): Record<string, unknown> {
  const net = networkSecrets(ctx, s, storage, span);
  buildNetworkTls(ctx, net);
  return { driver: s.protocol, ...networkProps(ctx, s, net) };
}

/** <source protocol=…> of a network image outside <disk> (an NVRAM store). */
export function readNetworkSourceXml(src: XmlElement): NetworkSource {
  return readSource('network', src) as NetworkSource;
}

export function writeNetworkSourceXml(s: NetworkSource): XmlElement {
  return sourceXml(s)!;
}

/** What a network storage node refers to: its secret objects and TLS credentials. */
interface NetworkRefs {
  readonly authSecret?: string;
  readonly cookieSecret?: string;
  readonly tls?: { readonly id: string; readonly dir: string; readonly secret?: string };
}

/** libvirt's default port per protocol (virStorageSourceNetworkDefaultPort). */
const DEFAULT_PORT: Partial<Record<NetworkSource['protocol'], number>> = {
  http: 80, https: 443, ftp: 21, ftps: 990, tftp: 69, iscsi: 3260, gluster: 24007, rbd: 6789, sheepdog: 7000, nbd: 10809, ssh: 22, vxhs: 9999,
};

const confStr = (ctx: EmitContext, key: string): string | undefined => {
  const v = ctx.conf.raw.get(key);
  return typeof v === 'string' ? v : undefined;
};

/** The auth and cookie secret objects of a network source, printed now; the TLS ones are named. */
function networkSecrets(ctx: EmitContext, s: NetworkSource, storage: string, span: Span | undefined): NetworkRefs {
  let authSecret: string | undefined;
  if (s.auth) {
    authSecret = `${storage}-auth-secret0`;
    // NB: the secret's usage kind follows the protocol: CHAP for iSCSI (and the curl
    // protocols, which libvirt lets name an iscsi secret), cephx for rbd
    const a = s.auth;
    const usageType = a.secretType ?? (s.protocol === 'rbd' ? 'ceph' : 'iscsi');
    buildSecretObject(ctx, authSecret, { usageType, ...(a.secretUuid !== undefined ? { uuid: a.secretUuid } : {}), ...(a.secretUsage !== undefined ? { usage: a.secretUsage } : {}) }, `the password of ${a.username} for ${s.protocol} '${s.name ?? ''}'`, span);
  }
  let cookieSecret: string | undefined;
  if (s.cookies?.length) {
    cookieSecret = `${storage}-httpcookie-secret0`;
    // NB: cookies may carry session tokens: libvirt passes them as a secret, not in the URL
    buildSecretValueObject(ctx, cookieSecret, Buffer.from(s.cookies.map((c) => `${c.name}=${c.value}`).join('; ')), span);
  }
  let tls: NetworkRefs['tls'];
  const nbdTls = s.protocol === 'nbd' && (s.tls ?? ctx.conf.raw.get('nbd_tls') === 1);
  if (nbdTls) {
    const id = `obj${storage}_tls0`;
    const secretUuid = confStr(ctx, 'nbd_tls_x509_secret_uuid') ?? confStr(ctx, 'default_tls_x509_secret_uuid');
    tls = { id, dir: confStr(ctx, 'nbd_tls_x509_cert_dir') ?? ctx.conf.defaultTlsX509CertDir, ...(secretUuid !== undefined ? { secret: `${id}-secret0` } : {}) };
    if (secretUuid !== undefined) buildSecretObject(ctx, `${id}-secret0`, { usageType: 'tls', uuid: secretUuid }, `the NBD TLS key password of ${storage}`, span);
  }
  return { ...(authSecret ? { authSecret } : {}), ...(cookieSecret ? { cookieSecret } : {}), ...(tls ? { tls } : {}) };
}

function buildNetworkTls(ctx: EmitContext, net: NetworkRefs): void {
  if (!net.tls) return;
  // NB: a TLS client always verifies the server's certificate
  ctx.out.object('-object', props({ 'qom-type': 'tls-creds-x509', id: net.tls.id, dir: net.tls.dir, endpoint: 'client', 'verify-peer': true, passwordid: net.tls.secret }));
}

/** libvirt's qemu.conf gluster_debug_level, 4 unless set. */
const glusterDebugLevel = (ctx: EmitContext): unknown => {
  const v = ctx.conf.raw.get('gluster_debug_level');
  return typeof v === 'number' ? v : 4;
};

/** nfs <identity>: '+N' (or N) is a numeric uid/gid; a name would need the host's user database. */
function nfsId(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^\+?(\d+)$/.exec(v);
  return m ? Number(m[1]) : undefined;
}

/** A host as QEMU's SocketAddress: inet (port as a string) or unix. */
function socketAddress(h: NetworkSource['hosts'][number], protocol: NetworkSource['protocol']): Record<string, unknown> {
  if (h.transport === 'unix') return { type: 'unix', path: h.socket };
  return { type: 'inet', host: h.name, port: String(h.port ?? DEFAULT_PORT[protocol] ?? '') };
}

/**
 * The storage node's keys for a network source, in libvirt's order (qemuBlockStorageSourceGetBackendProps);
 * `rbdEncrypt` is the LUKS layer librbd opens itself (<encryption engine='librbd'>).
 */
function networkProps(ctx: EmitContext, s: NetworkSource, refs: NetworkRefs, rbdEncrypt?: { format: string; 'key-secret': string }): Record<string, unknown> {
  const h = s.hosts[0];
  const name = s.name ?? '';
  switch (s.protocol) {
    case 'nbd':
      return { server: h ? socketAddress(h, 'nbd') : undefined, export: s.name, 'tls-creds': refs.tls?.id };
    case 'http':
    case 'https':
    case 'ftp':
    case 'ftps':
    case 'tftp': {
      const port = h?.port ?? DEFAULT_PORT[s.protocol];
      const path = name.startsWith('/') ? name : `/${name}`;
      return {
        url: `${s.protocol}://${h?.name ?? ''}${port !== undefined ? `:${port}` : ''}${path}${s.query ? `?${s.query}` : ''}`,
        username: s.auth?.username,
        'password-secret': refs.authSecret,
        sslverify: s.sslVerify === false ? false : undefined,
        'cookie-secret': refs.cookieSecret,
        timeout: s.timeout,
        readahead: s.readahead,
      };
    }
    case 'iscsi': {
      // NB: the name is TARGET/LUN; a missing LUN is 0
      const slash = name.lastIndexOf('/');
      const lun = slash >= 0 && /^\d+$/.test(name.slice(slash + 1)) ? Number(name.slice(slash + 1)) : 0;
      const target = slash >= 0 && /^\d+$/.test(name.slice(slash + 1)) ? name.slice(0, slash) : name;
      const host = h?.name ?? '';
      const portal = `${host.includes(':') ? `[${host}]` : host}:${h?.port ?? DEFAULT_PORT.iscsi}`;
      return {
        portal, target, lun, transport: 'tcp',
        user: s.auth?.username, 'password-secret': refs.authSecret,
        'initiator-name': s.initiator,
      };
    }
    case 'rbd': {
      const slash = name.indexOf('/');
      return {
        pool: slash >= 0 ? name.slice(0, slash) : name,
        image: slash >= 0 ? name.slice(slash + 1) : '',
        snapshot: s.snapshot,
        conf: s.config,
        // NB: libvirt 9.0 gives an rbd monitor without a port no default: it prints port 0
        server: s.hosts.length ? s.hosts.map((x) => ({ host: x.name, port: String(x.port ?? 0) })) : undefined,
        encrypt: rbdEncrypt,
        ...(s.auth ? { user: s.auth.username, 'auth-client-required': ['cephx', 'none'], 'key-secret': refs.authSecret } : {}),
      };
    }
    case 'gluster': {
      const slash = name.indexOf('/');
      return {
        volume: slash >= 0 ? name.slice(0, slash) : name,
        path: slash >= 0 ? name.slice(slash + 1) : '',
        server: s.hosts.map((x) => socketAddress(x, 'gluster')),
        debug: glusterDebugLevel(ctx),
      };
    }
    case 'nfs':
      return {
        server: { host: h?.name, type: 'inet' },
        path: name,
        user: nfsId(s.identity?.user),
        group: nfsId(s.identity?.group),
      };
    case 'ssh':
      return { path: name, server: { host: h?.name, port: String(h?.port ?? DEFAULT_PORT.ssh) }, user: s.auth?.username };
    default:
      return { server: s.hosts.map((x) => socketAddress(x, s.protocol)), ...(s.name ? { image: s.name } : {}) };
  }
}

/**
 * libvirt's checks of an image's <encryption> (qemuDomainValidateStorageSource): QEMU decrypts
 * LUKS (v1) in raw and qcow2 images, librbd LUKS and LUKS2 in rbd images (QEMU 6.1+), and the old
 * qcow AES scheme no more.
 */
function checkEncryption(ctx: EmitContext, img: ChainImage, span: Span | undefined): void {
  const e = img.encryption;
  if (!e) return;
  const no = (what: string): never => fail('UnsupportedDevice', { what }, span);
  // NB: libvirt takes format='default' for the old qcow scheme too
  if (e.format === 'qcow' || e.format === 'default') no('old qcow/qcow2 encryption');
  if (e.engine === 'librbd') {
    if (img.source.type !== 'network' || img.source.protocol !== 'rbd') no("<encryption engine='librbd'> outside an RBD backed disk");
    if (!has(ctx.caps, 'rbd-encryption')) no(`librbd encryption with QEMU ${ctx.caps.version.join('.')} (it has it since 6.1)`);
    return;
  }
  if (e.format === 'luks2') no("luks2 with the qemu encryption engine (only librbd's has it)");
  if (img.format !== 'raw' && img.format !== 'qcow2') no(`encryption of a '${img.format}' image (QEMU decrypts only 'raw' and 'qcow2' ones)`);
}

/** The passphrase secret of a LUKS image (QEMU or librbd decrypts), printed now; its id, or undefined. */
function encryptionSecret(ctx: EmitContext, img: ChainImage, format: string, span: Span | undefined): string | undefined {
  const e = img.encryption;
  if (!e || (e.format !== 'luks' && e.format !== 'luks2')) return undefined;
  const id = `${format}-encryption-secret0`;
  const path = sourcePath(img.source);
  const image = path ?? (img.source.type === 'network' ? `${img.source.protocol} '${img.source.name ?? ''}'` : format);
  buildSecretObject(ctx, id, { usageType: 'volume', ...(e.secretUuid !== undefined ? { uuid: e.secretUuid } : {}), ...(e.secretUsage !== undefined ? { usage: e.secretUsage } : path !== undefined ? { usage: path } : {}) }, `the passphrase of ${image}`, span);
  return id;
}

/** The format node's driver: a raw LUKS image is QEMU's luks driver; qcow2 encrypts inside. */
function formatDriver(format: string, keySecret: string | undefined): Record<string, unknown> {
  if (!keySecret) return { driver: format };
  if (format === 'raw') return { driver: 'luks', 'key-secret': keySecret };
  return { driver: format, encrypt: { format: 'luks', 'key-secret': keySecret } };
}

const DEVICE_DRIVER: Record<DiskBus, (d: Disk) => string> = {
  ide: (d) => (d.device === 'cdrom' ? 'ide-cd' : 'ide-hd'),
  sata: (d) => (d.device === 'cdrom' ? 'ide-cd' : 'ide-hd'),
  scsi: (d) => (d.device === 'cdrom' ? 'scsi-cd' : d.device === 'lun' ? 'scsi-block' : 'scsi-hd'),
  virtio: () => 'virtio-blk-pci',
  usb: () => 'usb-storage',
  fdc: () => 'floppy',
  xen: () => 'xen-disk',
  sd: () => 'sd-card',
  uml: () => 'uml',
};

/** What a <driver cache=…> mode means for QEMU: host page cache bypass, flushes, guest write cache. */
function cacheFlags(disk: Disk): { direct: boolean; noFlush: boolean; writeback: boolean } | undefined {
  // NB: a disk shared between guests must bypass the host cache unless the XML says otherwise
  const mode = disk.driver?.cache ?? (disk.shareable && !disk.readonly ? 'none' : undefined);
  switch (mode) {
    case 'none':
      return { writeback: true, direct: true, noFlush: false };
    case 'writethrough':
      return { writeback: false, direct: false, noFlush: false };
    case 'writeback':
      return { writeback: true, direct: false, noFlush: false };
    case 'directsync':
      return { writeback: false, direct: true, noFlush: false };
    case 'unsafe':
      return { writeback: true, direct: false, noFlush: true };
    default:
      return undefined;
  }
}

/** werror/rerror: the read policy follows the write policy, except that ENOSPC means nothing for reads. */
function errorProps(disk: Disk): { werror?: string; rerror?: string } {
  const qemu = (p: string | undefined) => (p === 'enospace' ? 'enospc' : p);
  const w = disk.driver?.errorPolicy;
  const r = disk.driver?.rerrorPolicy ?? (w !== 'enospace' ? w : undefined);
  return { ...(w ? { werror: qemu(w) } : {}), ...(r ? { rerror: qemu(r) } : {}) };
}

/** A WWN as QEMU wants it: the 64-bit number in decimal. */
/** <wwn>: 16 hexadecimal digits (libvirt's schema), optionally with 0x. */
function readWwn(e: XmlElement): string {
  const text = e.text.trim();
  if (!/^(0x)?[0-9a-fA-F]{16}$/.test(text)) return fail('XmlBadValue', { what: '<wwn>', value: text, expected: '16 hexadecimal digits' }, e.span);
  return text;
}

function wwnNumber(wwn: string): string {
  return BigInt(wwn.startsWith('0x') ? wwn : `0x${wwn}`).toString();
}

function deviceProps(ctx: EmitContext, disk: Disk, drive: string | undefined, bootindex: number | undefined): Props {
  const dom = ctx.dom;
  const bus = disk.target.bus ?? 'ide';
  const a = disk.address ?? driveAddressFor(disk);
  const placement: Record<string, string | number | boolean | undefined> = {};
  const controller = (type: 'ide' | 'sata' | 'scsi' | 'fdc', index: number) => dom.devices.controllers.find((c) => c.type === type && c.index === index);
  const ctlAlias = (type: 'ide' | 'sata' | 'scsi', index: number) => {
    const c = controller(type, index);
    return c ? controllerAlias(c, dom) : `${type}${index}`;
  };
  let alias = diskAlias(disk);
  if (a?.type === 'drive') {
    if (bus === 'ide') Object.assign(placement, { bus: `${ctlAlias('ide', a.controller)}.${a.bus}`, unit: a.unit });
    else if (bus === 'sata') Object.assign(placement, { bus: `${ctlAlias('sata', a.controller)}.${a.unit}` });
    else if (bus === 'scsi') {
      const model = controller('scsi', a.controller)?.model ?? DEFAULT_SCSI_MODEL;
      // NB: the lsi HBA has no channels or LUNs: its disks are addressed by unit alone
      if (model === 'lsilogic') {
        Object.assign(placement, { bus: `${ctlAlias('scsi', a.controller)}.${a.bus}`, 'scsi-id': a.unit });
        if (!disk.alias) alias = `scsi${a.controller}-${a.bus}-${a.unit}`;
      } else Object.assign(placement, { bus: `${ctlAlias('scsi', a.controller)}.0`, channel: a.bus, 'scsi-id': a.target, lun: a.unit });
    } else if (bus === 'fdc') Object.assign(placement, { unit: a.unit });
  } else if (bus === 'usb') {
    const port = usbPortOf(dom, disk);
    if (port) Object.assign(placement, { bus: usbBusName(dom, port.bus), port: port.port });
  } else Object.assign(placement, pciPlacement(dom, a));
  const driver = DEVICE_DRIVER[bus](disk);
  const cache = cacheFlags(disk);
  const virtio = bus === 'virtio';
  return props({
    ...(virtio ? virtioModelProps(ctx, driver, disk.model) : { driver }),
    // NB: the virtio transport options come right after the driver (qemuBuildVirtioDevProps)
    ...(virtio ? virtioTransportProps(disk.driver) : {}),
    // virtio-blk passes a LUN's SCSI commands through
    scsi: virtio && disk.device === 'lun' ? true : undefined,
    ioeventfd: virtio ? disk.driver?.ioeventfd : undefined,
    event_idx: virtio ? disk.driver?.eventIdx : undefined,
    ...placement,
    'acpi-index': disk.acpiIndex,
    // NB: scsi-hd reports the -drive id (or the serial) as its VPD device id, as QEMU did before -blockdev
    device_id: driver === 'scsi-hd' || driver === 'scsi-cd' ? (disk.serial ?? `drive-${alias}`) : undefined,
    drive,
    id: alias,
    bootindex,
    'share-rw': disk.shareable ? true : undefined,
    serial: disk.serial,
    wwn: disk.wwn !== undefined ? wwnNumber(disk.wwn) : undefined,
    removable: bus === 'usb' ? (disk.target.removable ?? false) : undefined,
    'write-cache': cache && bus !== 'sd' ? (cache.writeback ? 'on' : 'off') : undefined,
    ...errorProps(disk),
    rotation_rate: disk.target.rotationRate,
    cyls: disk.geometry?.cyls,
    heads: disk.geometry?.heads,
    secs: disk.geometry?.secs,
    'bios-chs-trans': disk.geometry?.trans?.toLowerCase(),
    logical_block_size: disk.blockio?.logical,
    physical_block_size: disk.blockio?.physical,
    discard_granularity: disk.blockio?.discardGranularity,
    vendor: bus === 'scsi' ? disk.vendor : undefined,
    product: bus === 'scsi' ? disk.product : undefined,
    ...(bus === 'virtio'
      ? { iothread: disk.driver?.iothread !== undefined ? `iothread${disk.driver.iothread}` : undefined, 'num-queues': disk.driver?.queues, 'queue-size': disk.driver?.queueSize }
      : {}),
  });
}

/** -drive copy-on-read/discard/detect-zeroes/aio, from the QEMU versions that took them; earlier ones drop them with a warning. */
function driveTuning(ctx: EmitContext, disk: Disk): Record<string, string | undefined> {
  const drv = disk.driver;
  const out: Record<string, string | undefined> = {};
  const put = (cap: 'drive.copy-on-read' | 'drive.discard' | 'drive.detect-zeroes' | 'aio.io_uring', key: string, value: string | undefined, attr: string) => {
    if (value === undefined) return;
    if (has(ctx.caps, cap)) out[key] = value;
    else ctx.diag.warn('UnsupportedForTarget', { what: `<driver ${attr}> on ${disk.target.dev}`, target: `QEMU ${ctx.caps.version.join('.')}` }, disk.$span);
  };
  put('drive.copy-on-read', 'copy-on-read', drv?.copyOnRead ? 'on' : undefined, 'copy_on_read');
  put('drive.discard', 'discard', drv?.discard, 'discard');
  // NB: as on -blockdev, 'unmap' without discard='unmap' is plain 'on'
  put('drive.detect-zeroes', 'detect-zeroes', drv?.detectZeroes === 'unmap' && drv.discard !== 'unmap' ? 'on' : drv?.detectZeroes, 'detect_zeroes');
  // NB: libvirt's qemuBuildDriveStr puts aio= last; threads and native are as old as -drive's aio=
  if (drv?.io === 'io_uring') put('aio.io_uring', 'aio', drv.io, 'io');
  else out.aio = drv?.io;
  return out;
}

/** What only a -blockdev graph can say: a -drive (whose backing chain QEMU probes) drops it. */
function warnBlockdevOnly(ctx: EmitContext, disk: Disk): void {
  const drop = (what: string) => ctx.diag.warn('UnsupportedForTarget', { what: `${what} on ${disk.target.dev}`, target: `-drive (QEMU ${ctx.caps.version.join('.')})` }, disk.$span);
  if (disk.slice) drop('<slices>');
  if (disk.reservations) drop('<reservations>');
  // NB: the passphrase needs a secret object, which this converter prints for -blockdev only
  if (disk.encryption) drop('<encryption>');
  // NB: a -drive names a network image by its URI (or rbd: string): the per-protocol settings
  // libvirt passes as storage-node properties have no spelling there
  const s = disk.source;
  if (s.type === 'network') {
    const lost = [
      s.identity && '<identity>',
      s.initiator !== undefined && '<initiator>',
      (s.sslVerify !== undefined || s.cookies?.length || s.readahead !== undefined || s.timeout !== undefined) && '<ssl>/<cookies>/<readahead>/<timeout>',
      s.tls && "tls='yes'",
    ].filter((x): x is string => !!x);
    if (lost.length) drop(`${lost.join(', ')} of the ${s.protocol} source`);
  }
}

/**
 * -drive's file= (a path or URI), or for gluster with several servers, which no URI can name, its
 * file.* keys (libvirt's qemuDiskSourceNeedsProps, legacy spellings: tcp, socket); gluster's
 * debug level follows either.
 */
function driveFileProps(ctx: EmitContext, disk: Disk, path: string | undefined): Record<string, unknown> {
  const s = disk.source;
  if (s.type !== 'network' || s.protocol !== 'gluster') return { file: path };
  const debug = has(ctx.caps, 'drive.gluster-debug') ? glusterDebugLevel(ctx) : undefined;
  if (s.hosts.length < 2) return { file: path, 'file.debug': debug };
  if (!has(ctx.caps, 'drive.gluster-servers')) {
    fail('Unrepresentable', { what: `gluster disk ${disk.target.dev} with ${s.hosts.length} servers`, target: `QEMU ${ctx.caps.version.join('.')}`, why: 'its gluster driver takes one server URI (several servers since 2.8)' }, disk.$span);
  }
  const name = s.name ?? '';
  const slash = name.indexOf('/');
  const out: Record<string, unknown> = { 'file.driver': 'gluster', 'file.volume': slash >= 0 ? name.slice(0, slash) : name, 'file.path': slash >= 0 ? name.slice(slash + 1) : '' };
  s.hosts.forEach((h, i) => {
    const k = `file.server.${i}`;
    if (h.transport === 'unix') Object.assign(out, { [`${k}.type`]: 'unix', [`${k}.socket`]: h.socket });
    else Object.assign(out, { [`${k}.type`]: 'tcp', [`${k}.host`]: h.name, [`${k}.port`]: h.port ?? DEFAULT_PORT.gluster });
  });
  return { ...out, 'file.debug': debug };
}

function buildDriveDeviceDisk(ctx: EmitContext, disk: Disk, bootindex: number | undefined): void {
  warnBlockdevOnly(ctx, disk);
  const path = drivePath(ctx, disk);
  const id = `drive-${diskAlias(disk)}`;
  ctx.out.keyval('-drive', props({
    ...driveFileProps(ctx, disk, path),
    format: disk.source.type === 'dir' ? undefined : disk.driver?.type,
    if: 'none',
    id,
    media: disk.device === 'cdrom' ? 'cdrom' : undefined,
    readonly: disk.readonly ? 'on' : undefined,
    cache: disk.driver?.cache,
    ...driveTuning(ctx, disk),
  }));
  ctx.out.object('-device', deviceProps(ctx, disk, id, bootindex));
}

/** A -drive file=: the path, or a network source's URI (its password left out, with a warning). */
function drivePath(ctx: EmitContext, disk: Disk): string | undefined {
  const s = disk.source;
  // NB: a directory is QEMU's vvfat protocol, named by its fat: (fat:floppy:) prefix; libvirt
  // gave it no format= (qemuBuildDriveSourceStr)
  if (s.type === 'dir') return s.dir === undefined ? undefined : `fat:${disk.device === 'floppy' ? 'floppy:' : ''}${s.dir}`;
  if (s.type !== 'network') return sourcePath(s);
  const auth = s.auth ?? disk.auth;
  if (auth) ctx.diag.warn('UnsupportedForTarget', { what: `the password of ${auth.username} for ${s.protocol} '${s.name ?? ''}'`, target: 'a -drive before QEMU had -blockdev secret objects' }, disk.$span);
  return networkDriveFilename(s, auth);
}

/** QEMU 0.x: -drive file=…,if=ide,index=N (the index counts units across the bus). */
function buildLegacyDrive(ctx: EmitContext, disk: Disk): void {
  warnBlockdevOnly(ctx, disk);
  if (disk.driver?.copyOnRead || disk.driver?.discard || disk.driver?.detectZeroes) {
    ctx.diag.warn('UnsupportedForTarget', { what: `<driver copy_on_read/discard/detect_zeroes> on ${disk.target.dev}`, target: `QEMU ${ctx.caps.version.join('.')}` }, disk.$span);
  }
  const bus = disk.target.bus ?? 'ide';
  // NB: QEMU 0.12's -drive if= knows the disk image and its interface: what libvirt later put on the
  // -device (or QEMU had no property for yet) has no spelling here
  const drv = disk.driver;
  const lost = [
    bus === 'sata' && "bus='sata'",
    // NB: -usbdevice disk: takes a path only: the image format is probed
    bus === 'usb' && drv?.type !== undefined && drv.type !== 'raw' && `<driver type='${drv.type}'>`,
    bus === 'usb' && disk.device === 'cdrom' && "device='cdrom'",
    disk.device === 'lun' && "device='lun'",
    disk.serial !== undefined && '<serial>',
    disk.wwn !== undefined && '<wwn>',
    disk.vendor !== undefined && '<vendor>',
    disk.product !== undefined && '<product>',
    disk.blockio && '<blockio>',
    disk.geometry && '<geometry>',
    disk.shareable && '<shareable>',
    disk.acpiIndex !== undefined && '<acpi index>',
    disk.alias !== undefined && '<alias>',
    (disk.target.removable !== undefined || disk.target.rotationRate !== undefined) && '<target removable/rotation_rate>',
    (drv?.errorPolicy || drv?.rerrorPolicy) && '<driver error_policy/rerror_policy>',
    (drv?.queues !== undefined || drv?.queueSize !== undefined || drv?.iothread !== undefined) && '<driver queues/queue_size/iothread>',
    (drv?.iommu !== undefined || drv?.ats !== undefined || drv?.packed !== undefined || drv?.ioeventfd !== undefined || drv?.eventIdx !== undefined) && '<driver iommu/ats/packed/ioeventfd/event_idx>',
  ].filter((x): x is string => !!x);
  if (lost.length) ctx.diag.warn('UnsupportedForTarget', { what: `${lost.join(', ')} on ${disk.target.dev}`, target: 'QEMU without -device (-drive if=)' }, disk.$span);
  // NB: QEMU 0.x has no -drive if=usb: libvirt attached a USB disk with -usbdevice disk:PATH
  if (bus === 'usb') {
    ctx.out.raw('-usbdevice', `disk:${drivePath(ctx, disk) ?? ''}`);
    return;
  }
  const ifName = bus === 'fdc' ? 'floppy' : bus === 'sata' ? 'ide' : bus;
  ctx.out.keyval('-drive', props({
    ...driveFileProps(ctx, disk, drivePath(ctx, disk) ?? ''),
    if: ifName,
    media: disk.device === 'cdrom' ? 'cdrom' : undefined,
    index: diskIndex(disk.target.dev),
    boot: undefined,
    format: disk.source.type === 'dir' ? undefined : disk.driver?.type,
    readonly: disk.readonly && disk.device !== 'cdrom' ? 'on' : undefined,
    cache: disk.driver?.cache,
  }));
}

// --- argv -> IR --------------------------------------------------------------------------------

/** -hdX/-fdX/-cdrom/-sd and -usbdevice disk:PATH: a path (or pseudo-URI) on a fixed target. */
const LEGACY_DISK_OPTS: Record<string, { dev: string; device: Disk['device']; bus: DiskBus }> = {
  '-hda': { dev: 'hda', device: 'disk', bus: 'ide' },
  '-hdb': { dev: 'hdb', device: 'disk', bus: 'ide' },
  '-hdc': { dev: 'hdc', device: 'disk', bus: 'ide' },
  '-hdd': { dev: 'hdd', device: 'disk', bus: 'ide' },
  '-cdrom': { dev: 'hdc', device: 'cdrom', bus: 'ide' },
  '-fda': { dev: 'fda', device: 'floppy', bus: 'fdc' },
  '-fdb': { dev: 'fdb', device: 'floppy', bus: 'fdc' },
  '-sd': { dev: 'sda', device: 'disk', bus: 'sd' },
};

const IF_BUS: Record<string, DiskBus> = { ide: 'ide', scsi: 'scsi', floppy: 'fdc', virtio: 'virtio', xen: 'xen', sd: 'sd' };
const TARGET_PREFIX: Partial<Record<DiskBus, string>> = { ide: 'hd', sata: 'sd', scsi: 'sd', sd: 'sd', usb: 'sd', virtio: 'vd', fdc: 'fd', xen: 'xvd' };

/** -drive cache= values (QEMU 0.x spelt them off/on) as libvirt's cache modes. */
const CACHE_MODES: Record<string, NonNullable<Disk['driver']>['cache']> = {
  off: 'none', none: 'none', on: 'writeback', writeback: 'writeback', writethrough: 'writethrough', directsync: 'directsync', unsafe: 'unsafe',
};
const WERROR: Record<string, string> = { stop: 'stop', report: 'report', ignore: 'ignore', enospc: 'enospace' };
const RERROR: Record<string, string> = { stop: 'stop', report: 'report', ignore: 'ignore' };

const isPseries = (machine: string | undefined): boolean => !!machine && machine.startsWith('pseries');

export function readDisksArgv(r: ArgvReader): void {
  const disks = r.draft.devices.disks;
  const ceph = r.cmd.env.find((e) => e.name === 'CEPH_ARGS');
  // NB: disks keep command-line order whichever option spelt them; virtio disks without an
  // index are numbered in that order (vda, vdb, …).
  let virtioCount = 0;
  for (const o of r.take('-hda', '-hdb', '-hdc', '-hdd', '-cdrom', '-fda', '-fdb', '-sd', '-drive', '-usbdevice')) {
    if (o.name === '-usbdevice') {
      const v = optText(o);
      if (!v.startsWith('disk:')) {
        r.unclaim(o); // a USB input or host device: another family's
        continue;
      }
      const { source } = sourceFromFilename(v.slice('disk:'.length), o.valueSpan);
      disks.push({ source, device: 'disk', target: { dev: 'sda', bus: 'usb' }, extra: [], $span: o.span });
      continue;
    }
    if (o.name !== '-drive') {
      const l = LEGACY_DISK_OPTS[o.name]!;
      // pseries has no IDE: its -hdX and -cdrom disks are SCSI
      const bus = isPseries(r.draft.os.machine) && l.bus === 'ide' ? 'scsi' : l.bus;
      const { source, auth } = sourceFromFilename(optText(o), o.valueSpan, ceph !== undefined);
      disks.push({ source, ...(auth ? { auth } : {}), device: l.device, target: { dev: l.dev, bus }, ...(l.device === 'cdrom' ? { readonly: true } : {}), extra: [], $span: o.span });
      continue;
    }
    const p = optProps(o);
    const iface = propStr(p, 'if') ?? (isPseries(r.draft.os.machine) ? 'scsi' : 'ide');
    if (iface === 'none') {
      readDriveWithDevice(r, o, p, ceph !== undefined);
      continue;
    }
    if (iface === 'pflash') {
      readPflashDrive(r, o, p);
      continue;
    }
    const bus = IF_BUS[iface];
    if (!bus) {
      r.unclaim(o); // if=mtd and the like have no <disk>: left to <qemu:commandline>
      continue;
    }
    const media = propStr(p, 'media');
    const device: Disk['device'] = media === 'cdrom' ? 'cdrom' : media === 'floppy' || bus === 'fdc' ? 'floppy' : 'disk';
    let index = propNum(p, 'index');
    if (index === undefined && bus === 'virtio') index = virtioCount;
    if (bus === 'virtio') virtioCount++;
    index ??= driveIndex(p, bus, disks);
    disks.push(driveToDisk(p, bus, device, diskNameFromIndex(TARGET_PREFIX[bus] ?? 'hd', index), o.valueSpan ?? o.span, ceph !== undefined));
  }
  if (ceph) assignCephMonitors(disks, ceph.value, ceph.span);
  // NB: a -drive URI or rbd id= names the login only: the <secret> gets a placeholder usage
  for (const [i, d] of disks.entries()) {
    const src = d.source.type === 'network' ? d.source : undefined;
    if (d.auth) disks[i] = { ...d, auth: authWithSecret(r, d.auth, `${d.target.dev}-secret`, d.$span) };
    else if (src?.auth) disks[i] = { ...d, source: { ...src, auth: authWithSecret(r, src.auth, `${d.target.dev}-secret`, d.$span) } };
  }
  readBlockdevDisks(r);
  readVhostUserDisks(r);
  readFloppyControllerArgv(r);
}

/**
 * The floppy controller's boot order (see buildFloppyController): bootindexA/B of -global
 * isa-fdc.… or of the isa-fdc device newer q35 machines need for their floppies. The device
 * itself follows from the floppy disks, so it is read only while it says no more than that.
 */
function readFloppyControllerArgv(r: ArgvReader): void {
  const floppies = r.draft.devices.disks.filter((d) => d.target.bus === 'fdc');
  if (!floppies.length) return;
  const boot = new Map<'A' | 'B', number>();
  for (const g of r.take('-global')) {
    const m = /^isa-fdc\.bootindex([AB])=(\d+)$/.exec(optText(g));
    if (m) boot.set(m[1] as 'A' | 'B', Number(m[2]));
    else r.unclaim(g);
  }
  for (const dev of r.devices((drv) => drv === 'isa-fdc')) {
    if (Object.keys(dev.props).some((k) => !['driver', 'bootindexA', 'bootindexB'].includes(k))) continue;
    r.claim(dev.opt);
    for (const drive of ['A', 'B'] as const) {
      const n = propNum(dev.props, `bootindex${drive}`);
      if (n !== undefined) boot.set(drive, n);
    }
  }
  const disks = r.draft.devices.disks;
  for (const [drive, order] of boot) {
    const unit = drive === 'A' ? 0 : 1;
    const i = disks.findIndex((d) => d.target.bus === 'fdc' && (d.address?.type === 'drive' ? d.address.unit : diskIndex(d.target.dev)) === unit);
    if (i >= 0) disks[i] = { ...disks[i]!, bootOrder: order };
  }
}

// --- -blockdev node pairs + -device (libvirt 5.x and later) ---------------------------------

interface Node {
  readonly opt: ParsedOption;
  readonly p: Props;
}

/** Disk frontends and what they make of the <disk>. */
const FRONTENDS: Record<string, { bus: DiskBus | 'ide-or-sata'; device: Disk['device'] }> = {
  'ide-hd': { bus: 'ide-or-sata', device: 'disk' }, 'ide-cd': { bus: 'ide-or-sata', device: 'cdrom' }, 'ide-drive': { bus: 'ide-or-sata', device: 'disk' },
  'scsi-hd': { bus: 'scsi', device: 'disk' }, 'scsi-cd': { bus: 'scsi', device: 'cdrom' }, 'scsi-block': { bus: 'scsi', device: 'lun' },
  'virtio-blk-pci': { bus: 'virtio', device: 'disk' }, 'virtio-blk-pci-transitional': { bus: 'virtio', device: 'disk' },
  'virtio-blk-pci-non-transitional': { bus: 'virtio', device: 'disk' }, 'virtio-blk-ccw': { bus: 'virtio', device: 'disk' },
  'virtio-blk-device': { bus: 'virtio', device: 'disk' },
  floppy: { bus: 'fdc', device: 'floppy' }, 'usb-storage': { bus: 'usb', device: 'disk' },
};

/** Filter layers libvirt may put between the frontend and the image format. */
const FILTERS = new Set(['copy-on-read', 'throttle']);

/** A format node and what it sits on: an optional raw slice node, then the storage node. */
interface ImageNodes {
  readonly format?: Node;
  readonly slice?: Node;
  readonly storage?: Node;
}

/** The nodes of one image, from its top node (a format node, or a lone storage node). */
function imageNodes(nodes: ReadonlyMap<string, Node>, top: Node): ImageNodes {
  const under = nodes.get(propStr(top.p, 'file') ?? '');
  if (!under) return { storage: top };
  // NB: libvirt's slice layer is a raw node between a non-raw format and its storage
  const deeper = nodes.get(propStr(under.p, 'file') ?? '');
  if (deeper && propStr(under.p, 'driver') === 'raw') return { format: top, slice: under, storage: deeper };
  return { format: top, storage: under };
}

/** offset/size of a raw node: a <slice type='storage'>. */
function nodeSlice(n: Node | undefined): DiskSlice | undefined {
  if (!n || propStr(n.p, 'driver') !== 'raw') return undefined;
  const offset = propNum(n.p, 'offset');
  const size = propNum(n.p, 'size');
  return offset !== undefined || size !== undefined ? { offset: offset ?? 0, size: size ?? 0 } : undefined;
}

/** The <driver type> of an image: its format driver, or 'fat' for the raw layer over vvfat. */
function imageFormat(img: ImageNodes): string | undefined {
  const fmt = img.format ? propStr(img.format.p, 'driver') : undefined;
  // NB: QEMU's luks driver is libvirt's raw format with <encryption format='luks'>
  if (fmt === 'luks') return 'raw';
  return fmt === 'raw' && img.storage && propStr(img.storage.p, 'driver') === 'vvfat' ? 'fat' : fmt;
}

/**
 * A format node's `backing`: another format node (one more <backingStore> down), null or ''
 * (the chain ends: <backingStore/>), or absent (QEMU probes the image itself: no element).
 */
function readBackingChain(r: ArgvReader, nodes: ReadonlyMap<string, Node>, used: Set<Node>, format: Node | undefined): DiskBackingStore | null | undefined {
  const ref = format?.p.backing;
  if (ref === undefined) return undefined;
  if (ref === null || ref === '') return null;
  const top = typeof ref === 'string' ? nodes.get(ref) : undefined;
  if (!top || used.has(top)) return undefined; // a missing node or a loop: QEMU would refuse it too
  const img = imageNodes(nodes, top);
  const src = img.storage ? blockdevSource(img.storage.p) : undefined;
  if (!src) return undefined;
  for (const n of [img.format, img.slice, img.storage]) if (n) used.add(n);
  const fmt = imageFormat(img);
  const slice = nodeSlice(img.slice ?? img.format);
  const below = readBackingChain(r, nodes, used, img.format);
  // NB: libvirt opens every backing layer read-only (the top image is the one written to)
  if (img.format) r.expect(img.format.opt, 'read-only', true);
  const encryption = nodeEncryption(r, img);
  return {
    source: src.source,
    ...(fmt ? { format: fmt } : {}),
    ...(slice ? { slice } : {}),
    ...(encryption ? { encryption } : {}),
    ...(below !== undefined ? { backingStore: below } : {}),
  };
}

/** The pr-manager-helper object a storage node names: libvirt's managed one, or one at a given socket. */
function readReservationsArgv(r: ArgvReader, storage: Node | undefined): DiskReservations | undefined {
  const id = storage ? propStr(storage.p, 'pr-manager') : undefined;
  if (id === undefined) return undefined;
  const obj = r.cmd.options.find((o) => o.name === '-object' && propStr(optProps(o), 'qom-type') === 'pr-manager-helper' && propStr(optProps(o), 'id') === id);
  if (obj) r.claim(obj);
  // NB: libvirt names the helper it starts itself pr-helper0; any other is the user's socket
  if (id === MANAGED_PR_HELPER) {
    // its socket is in the domain's state directory (buildManagedPrHelper): elsewhere is news
    const path = obj ? propStr(optProps(obj), 'path') : undefined;
    if (obj && path !== undefined && !path.endsWith(`/${MANAGED_PR_HELPER}.sock`)) r.diag.warn('IgnoredProperty', { option: '-object', property: `path=${path}` }, obj.span);
    return { managed: true };
  }
  const path = obj ? propStr(optProps(obj), 'path') : undefined;
  return { managed: false, ...(path !== undefined ? { path, mode: 'client' as const } : {}) };
}

/** vhost-user-blk-pci on its socket -chardev: <disk type='vhostuser'>. */
function readVhostUserDisks(r: ArgvReader): void {
  const disks = r.draft.devices.disks;
  for (const dev of r.devices((drv) => /^vhost-user-blk-pci(-transitional|-non-transitional)?$/.test(drv))) {
    const id = propStr(dev.props, 'chardev');
    const chr = r.cmd.options.find((o) => o.name === '-chardev' && !r.isClaimed(o) && propStr(optProps(o), 'id') === id);
    const cp = chr ? optProps(chr) : {};
    if (!chr || propStr(cp, 'backend') !== 'socket' || propStr(cp, 'path') === undefined) continue;
    r.claim(chr);
    r.claim(dev.opt);
    const reconnect = propNum(cp, 'reconnect');
    const source = el('source', { type: 'unix', path: propStr(cp, 'path') }, reconnect ? el('reconnect', { enabled: 'yes', timeout: reconnect }) : undefined);
    const disk = blockdevDisk(r, dev, { bus: 'virtio', device: 'disk' }, { type: 'vhostuser', element: source }, {}, false, disks);
    // NB: the backend serves raw blocks: libvirt allows no other format on a vhost-user disk
    disks.push({ ...disk, driver: { ...disk.driver, type: 'raw' } });
  }
}

function readBlockdevDisks(r: ArgvReader): void {
  const nodes = new Map<string, Node>();
  for (const o of r.take('-blockdev')) {
    const p = optProps(o);
    const name = propStr(p, 'node-name');
    if (name) nodes.set(name, { opt: o, p });
    else r.unclaim(o);
  }
  const used = new Set<Node>();
  const disks = r.draft.devices.disks;
  const q35 = /^(q35|pc-q35)/.test(r.draft.os.machine ?? '');
  for (const dev of r.devices((drv) => drv in FRONTENDS)) {
    const fe = FRONTENDS[dev.driver]!;
    const drive = propStr(dev.props, 'drive');
    // the chain device -> [filters] -> format -> [slice] -> storage, format -> backing format …
    let top = drive !== undefined ? nodes.get(drive) : undefined;
    if (drive !== undefined && !top) continue; // a -drive id, or a node we do not have
    const filters: Node[] = [];
    while (top && FILTERS.has(propStr(top.p, 'driver') ?? '')) {
      filters.push(top);
      top = nodes.get(propStr(top.p, 'file') ?? '');
    }
    const img = top ? imageNodes(nodes, top) : {};
    const source: DriveSource | undefined = img.storage ? blockdevSource(img.storage.p) : { source: { type: 'file' } };
    if (!source) continue; // a storage driver with no <disk> equivalent: left to <qemu:commandline>
    r.claim(dev.opt);
    for (const n of [...filters, img.format, img.slice, img.storage]) if (n) used.add(n);
    const backingStore = readBackingChain(r, nodes, used, img.format);
    const slice = nodeSlice(img.slice ?? img.format);
    const reservations = readReservationsArgv(r, img.storage);
    // NB: credentials go inside the network <source>, their place since libvirt 3.9 (the
    // -blockdev era); only the -drive readers keep libvirt's older place on the <disk>
    const auth = source.auth && img.storage ? authWithSecret(r, source.auth, nodeSecretHolder(img.storage.p), img.storage.opt.span) : source.auth;
    const src = auth && source.source.type === 'network' ? { ...source.source, auth } : source.source;
    const disk = blockdevDisk(r, dev, fe, src, img, q35, disks);
    const usbAddress = disk.target.bus === 'usb' ? usbAddressFromProps(r, dev.props, dev.opt.span) : undefined;
    const copyOnRead = filters.some((f) => propStr(f.p, 'driver') === 'copy-on-read');
    const encryption = nodeEncryption(r, img);
    disks.push({
      ...disk,
      ...(copyOnRead ? { driver: { ...disk.driver, copyOnRead: true } } : {}),
      ...(slice ? { slice } : {}),
      ...(reservations ? { reservations } : {}),
      ...(backingStore !== undefined ? { backingStore } : {}),
      ...(encryption ? { encryption } : {}),
      ...(usbAddress ? { address: usbAddress } : {}),
    });
  }
  for (const n of nodes.values()) if (!used.has(n)) r.unclaim(n.opt);
  for (const n of used) claimNodeObjects(r, n);
}

/**
 * A -blockdev storage node of a network protocol as its <source>, its secret objects and TLS
 * credentials claimed (for images outside <disk>: a network NVRAM store).
 */
export function readNetworkStorageNode(r: ArgvReader, o: ParsedOption): NetworkSource | undefined {
  const p = optProps(o);
  const src = blockdevSource(p)?.source;
  if (src?.type !== 'network') return undefined;
  const read = blockdevSource(p)?.auth;
  const auth = read && authWithSecret(r, read, nodeSecretHolder(p), o.span);
  claimNodeObjects(r, { opt: o, p });
  return auth ? { ...src, auth } : src;
}

/** What names a storage node's login secret: its secret object, else the node itself. */
function nodeSecretHolder(p: Props): string {
  return propStr(p, 'password-secret') ?? propStr(p, 'key-secret') ?? `${propStr(p, 'node-name') ?? 'storage'}-secret`;
}

/**
 * <auth> as a command line gives it: a login with a secret, never the <secret>'s usage or uuid,
 * which gets a placeholder (placeholderSecretUsage) so the domain stays valid.
 */
function authWithSecret(r: ArgvReader, auth: DiskAuth, holder: string, span?: Span): DiskAuth {
  if (!auth.secretType || auth.secretUsage !== undefined || auth.secretUuid !== undefined) return auth;
  return { ...auth, secretUsage: placeholderSecretUsage(r, holder, `the ${auth.secretType === 'ceph' ? 'cephx ' : ''}login ${auth.username}`, span) };
}

/**
 * An image's LUKS layer: the luks driver over a raw image, qcow2's encrypt.format=luks, or an
 * rbd storage node's encrypt (librbd decrypts: <encryption engine='librbd'>, LUKS or LUKS2).
 * NB: the passphrase's secret is known only by value (encrypted), not the <secret> it came from:
 * as with logins, the <secret> gets a placeholder usage (libvirt starts no LUKS disk without one)
 */
function nodeEncryption(r: ArgvReader, img: ImageNodes): DiskEncryption | undefined {
  const rbdEnc = img.storage && propStr(img.storage.p, 'driver') === 'rbd' ? propObj(img.storage.p, 'encrypt') : undefined;
  const rbd = propStr(rbdEnc ?? {}, 'format');
  const fmtEnc = img.format ? propObj(img.format.p, 'encrypt') : undefined;
  const layer: Pick<DiskEncryption, 'format' | 'engine'> | undefined =
    rbd === 'luks' || rbd === 'luks2' ? { format: rbd, engine: 'librbd' } :
    img.format && (propStr(img.format.p, 'driver') === 'luks' || propStr(fmtEnc ?? {}, 'format') === 'luks') ? { format: 'luks' } : undefined;
  if (!layer) return undefined;
  const secret = layer.engine === 'librbd' ? propStr(rbdEnc!, 'key-secret') : propStr(fmtEnc ?? img.format!.p, 'key-secret');
  const usage = secret !== undefined ? placeholderSecretUsage(r, secret, 'the LUKS passphrase', (layer.engine ? img.storage : img.format)?.opt.span) : undefined;
  return { ...layer, ...(usage !== undefined ? { secretUsage: usage } : {}), inSource: true };
}

/**
 * Claims the secret objects and TLS credentials a node names (auth, encryption, cookies, TLS),
 * warning for each secret: its value is encrypted under a master key the command line lacks, and
 * the <secret> definition it came from has no trace on the command line.
 */
function claimNodeObjects(r: ArgvReader, n: Node): void {
  // NB: libvirt's iSCSI nodes always say TCP: the XML has no other iSCSI transport
  if (propStr(n.p, 'driver') === 'iscsi') r.expect(n.opt, 'transport', 'tcp');
  const enc = propObj(n.p, 'encrypt');
  const secretRefs: Array<[string | undefined, string]> = [
    [propStr(n.p, 'password-secret'), 'the password'],
    [propStr(n.p, 'key-secret'), propStr(n.p, 'driver') === 'rbd' ? 'the cephx key' : 'the LUKS passphrase'],
    [enc ? propStr(enc, 'key-secret') : undefined, 'the LUKS passphrase'],
    [propStr(n.p, 'cookie-secret'), 'the HTTP cookies'],
  ];
  const tls = propStr(n.p, 'tls-creds');
  const creds = tls !== undefined ? r.cmd.options.find((o) => o.name === '-object' && propStr(optProps(o), 'id') === tls && propStr(optProps(o), 'qom-type') === 'tls-creds-x509') : undefined;
  if (creds) {
    r.claim(creds);
    // NB: its directory is qemu.conf's per protocol (nbd_tls_x509_cert_dir, …)
    settleTlsCreds(r, creds, 'client', propStr(n.p, 'driver') ?? 'nbd');
    secretRefs.push([propStr(optProps(creds), 'passwordid'), 'the TLS key password']);
  }
  for (const [id, what] of secretRefs) {
    if (id !== undefined && claimSecretObject(r, id)) r.diag.warn('SecretNotRecovered', { option: `-blockdev ${propStr(n.p, 'node-name') ?? ''}`, what }, n.opt.span);
  }
}

function blockdevSource(p: Props): DriveSource | undefined {
  const driver = propStr(p, 'driver');
  const str = (k: string) => propStr(p, k);
  const servers = (): Extract<DiskSource, { type: 'network' }>['hosts'] => {
    const v = p.server;
    const list: Props[] = Array.isArray(v) ? (v as Props[]) : v && typeof v === 'object' ? [v as Props] : [];
    return list.map((s) =>
      propStr(s, 'type') === 'unix'
        ? { transport: 'unix' as const, socket: propStr(s, 'path') ?? '' }
        : { name: propStr(s, 'host') ?? '', ...(propNum(s, 'port') !== undefined ? { port: propNum(s, 'port') } : {}) },
    );
  };
  switch (driver) {
    case 'file':
      return { source: { type: 'file', file: str('filename') ?? '' } };
    case 'host_device':
    case 'host_cdrom':
      return { source: { type: 'block', dev: str('filename') ?? '' } };
    case 'vvfat':
      return { source: { type: 'dir', dir: str('dir') ?? '' } };
    case 'nvme': {
      const pci = /^([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/i.exec(str('device') ?? '');
      if (!pci) return undefined;
      // NB: managed='no': the command line cannot say whether libvirt was to detach the
      // controller from its host driver, and not doing so is the choice without side effects
      const address = el('address', { domain: `0x${pci[1]}`, bus: `0x${pci[2]}`, slot: `0x${pci[3]}`, function: `0x${pci[4]}` });
      return { source: { type: 'nvme', element: el('source', { type: 'pci', managed: 'no', namespace: propNum(p, 'namespace') ?? 1 }, address) } };
    }
    case 'nbd':
      return { source: { type: 'network', protocol: 'nbd', ...(str('export') ? { name: str('export') } : {}), hosts: servers(), ...(str('tls-creds') !== undefined ? { tls: true } : {}) } };
    case 'rbd': {
      const conf = str('conf');
      const snap = str('snapshot');
      const user = str('user');
      return {
        source: {
          // NB: port 0 is how libvirt writes a monitor the XML gave no port
          type: 'network', protocol: 'rbd', name: `${str('pool') ?? ''}/${str('image') ?? ''}`, hosts: servers().map((h) => (h.port === 0 ? { name: h.name ?? '' } : h)),
          ...(snap ? { snapshot: snap } : {}), ...(conf ? { config: conf } : {}),
        },
        ...(user ? { auth: { username: user, secretType: 'ceph' } } : {}),
      };
    }
    case 'gluster': {
      // NB: libvirt writes gluster's default port out; a host without one in the XML had it
      const hosts = servers().map((h) => (h.port === DEFAULT_PORT.gluster ? { name: h.name ?? '' } : h));
      return { source: { type: 'network', protocol: 'gluster', name: `${str('volume') ?? ''}/${(str('path') ?? '').replace(/^\//, '')}`, hosts } };
    }
    case 'iscsi': {
      const portal = /^(?:\[(.*)\]|([^:]*))(?::(\d+))?$/.exec(str('portal') ?? '');
      const host = portal ? { name: portal[1] ?? portal[2] ?? '', ...(portal[3] ? { port: Number(portal[3]) } : {}) } : { name: '' };
      const user = str('user');
      const initiator = str('initiator-name');
      return {
        source: {
          type: 'network', protocol: 'iscsi', name: propNum(p, 'lun') ? `${str('target') ?? ''}/${propNum(p, 'lun')}` : str('target') ?? '', hosts: [host],
          ...(initiator !== undefined ? { initiator } : {}),
        },
        ...(user ? { auth: { username: user, secretType: 'iscsi' } } : {}),
      };
    }
    case 'http':
    case 'https':
    case 'ftp':
    case 'ftps':
    case 'tftp': {
      const url = str('url') ?? '';
      const q = url.indexOf('?');
      const { source } = sourceFromFilename(q < 0 ? url : url.slice(0, q));
      if (source.type !== 'network') return { source };
      // NB: libvirt writes the protocol's default port into the URL; the XML had none
      const hosts = source.hosts.map((h) => (h.port === DEFAULT_PORT[driver] ? { name: h.name ?? '' } : h));
      const user = str('username');
      const readahead = propNum(p, 'readahead');
      const timeout = propNum(p, 'timeout');
      return {
        source: {
          ...source, hosts,
          ...(q >= 0 ? { query: url.slice(q + 1) } : {}),
          ...(propBool(p, 'sslverify') === false ? { sslVerify: false } : {}),
          ...(readahead !== undefined ? { readahead } : {}),
          ...(timeout !== undefined ? { timeout } : {}),
        },
        ...(user !== undefined ? { auth: { username: user, ...(str('password-secret') !== undefined ? { secretType: 'iscsi' as const } : {}) } } : {}),
      };
    }
    case 'nfs': {
      const server = propObj(p, 'server');
      const id = (k: string) => (propNum(p, k) !== undefined ? `+${propNum(p, k)}` : undefined);
      const identity = { ...(id('user') !== undefined ? { user: id('user') } : {}), ...(id('group') !== undefined ? { group: id('group') } : {}) };
      return {
        source: {
          type: 'network', protocol: 'nfs', name: str('path') ?? '', hosts: [{ name: server ? propStr(server, 'host') ?? '' : '' }],
          ...(Object.keys(identity).length ? { identity } : {}),
        },
      };
    }
    case 'ssh': {
      const server = propObj(p, 'server');
      const host = server ? { name: propStr(server, 'host') ?? '', ...(propNum(server, 'port') !== undefined ? { port: propNum(server, 'port') } : {}) } : { name: '' };
      return { source: { type: 'network', protocol: driver, name: str('path') ?? '', hosts: [host] } };
    }
    default:
      return undefined;
  }
}

/** What QEMU's cache flags (format node) and the frontend's write-cache mean as a cache mode. */
function blockdevCache(format: Props | undefined, dev: Props): NonNullable<Disk['driver']>['cache'] {
  const cache = format ? propObj(format, 'cache') : undefined;
  const wc = propBool(dev, 'write-cache');
  if (!cache && wc === undefined) return undefined;
  const direct = cache ? propBool(cache, 'direct') === true : false;
  if (cache && propBool(cache, 'no-flush') === true) return 'unsafe';
  if (direct) return wc === false ? 'directsync' : 'none';
  return wc === false ? 'writethrough' : 'writeback';
}

/**
 * Target names taken in a growing list of disks read so far, and per prefix the lowest index that
 * may be free: asked once per disk, rescanning the list every time made 1,000 disks quadratic.
 * NB: the list only grows, so the lowest free index only grows too.
 */
const namesTaken = new WeakMap<readonly Disk[], { seen: number; taken: Set<string>; from: Map<string, number> }>();

function nextFreeName(disks: readonly Disk[], prefix: string): string {
  let t = namesTaken.get(disks);
  if (!t) namesTaken.set(disks, (t = { seen: 0, taken: new Set(), from: new Map() }));
  for (; t.seen < disks.length; t.seen++) t.taken.add(disks[t.seen]!.target.dev);
  let i = t.from.get(prefix) ?? 0;
  while (t.taken.has(diskNameFromIndex(prefix, i))) i++;
  t.from.set(prefix, i);
  return diskNameFromIndex(prefix, i);
}

/**
 * The controller index of a disk's bus=ID.N: the controller device with that id, else libvirt's
 * naming (ide for q35's own AHCI, sata1, scsi0, …: the digits are the index), else the first.
 */
function busController(r: ArgvReader, busProp: string): number {
  const id = busProp.replace(/\.\d+$/, '');
  return r.controllerIds.get(id)?.index ?? Number(/^[a-z]+(\d+)$/.exec(id)?.[1] ?? 0);
}

function blockdevDisk(
  r: ArgvReader, dev: DeviceOption, fe: (typeof FRONTENDS)[string], source: DiskSource, img: ImageNodes,
  q35: boolean, disks: readonly Disk[],
): Disk {
  const dp = dev.props;
  const span = dev.opt.span;
  const format = img.format?.p;
  const storage = img.storage?.p;
  const busProp = propStr(dp, 'bus') ?? '';
  const bus: DiskBus = fe.bus === 'ide-or-sata' ? (q35 || /^sata|^ahci/.test(busProp) ? 'sata' : 'ide') : fe.bus;
  // NB: target names are the guest's business; libvirt's own tests number them in order
  const nextFree = (prefix: string) => nextFreeName(disks, prefix);
  const num = (k: string) => propNum(dp, k);
  const busNum = Number(/\.(\d+)$/.exec(busProp)?.[1] ?? 0);
  const ctl = busController(r, busProp);
  let name: string;
  let address: Address | undefined;
  switch (bus) {
    case 'ide':
      name = diskNameFromIndex('hd', busNum * 2 + (num('unit') ?? 0));
      break;
    case 'sata':
      // NB: an AHCI controller's ports are QEMU buses ide.N (sataC.N past the first)
      name = nextFree('sd');
      address = { type: 'drive', controller: ctl, bus: 0, target: 0, unit: busNum };
      break;
    case 'scsi': {
      const lun = num('lun');
      const unit = lun ?? num('scsi-id') ?? 0;
      name = nextFree('sd');
      address = { type: 'drive', controller: ctl, bus: num('channel') ?? 0, target: lun !== undefined ? (num('scsi-id') ?? 0) : 0, unit };
      break;
    }
    case 'fdc':
      name = diskNameFromIndex('fd', num('unit') ?? 0);
      break;
    case 'virtio': {
      name = nextFree('vd');
      address = pciAddressFromProps(dp);
      break;
    }
    default:
      name = nextFree('sd');
  }
  const cache = blockdevCache(format, dp);
  const fmt = imageFormat(img);
  const dc = format ? propStr(format, 'discard') : undefined;
  const discard = dc === 'unmap' || dc === 'ignore' ? dc : undefined;
  const dz = format ? propStr(format, 'detect-zeroes') : undefined;
  const detectZeroes = dz === 'on' || dz === 'off' || dz === 'unmap' ? dz : undefined;
  // <driver io>: the top storage node's aio= (libvirt repeats it down the chain)
  const aio = storage ? propStr(storage, 'aio') : undefined;
  const io = aio === 'threads' || aio === 'native' || aio === 'io_uring' ? aio : undefined;
  const front = readFrontend(r, dev, bus, fe.device);
  const ro = propBool(format ?? storage ?? {}, 'read-only') === true;
  return {
    source,
    ...front.disk,
    // NB: libvirt names its driver on every disk it has defined (qemuDomainDeviceDiskDefPostParse)
    driver: { name: 'qemu', ...(fmt ? { type: fmt } : {}), ...(cache ? { cache } : {}), ...(discard ? { discard } : {}), ...(io ? { io } : {}), ...(detectZeroes ? { detectZeroes } : {}), ...front.driver },
    target: { dev: name, bus, ...front.target },
    ...(ro || fe.device === 'cdrom' ? { readonly: true } : {}),
    ...(address ? { address } : {}),
    extra: [],
    ...(span ? { $span: span } : {}),
  };
}

/** The frontend -device's share of a <disk>, as deviceProps prints it. */
interface Frontend {
  readonly driver: Draft<NonNullable<Disk['driver']>>;
  readonly target: Pick<Disk['target'], 'removable' | 'rotationRate'>;
  readonly disk: Pick<Disk, 'device' | 'model' | 'bootOrder' | 'shareable' | 'serial' | 'wwn' | 'vendor' | 'product' | 'acpiIndex' | 'geometry' | 'blockio' | 'alias'>;
}

/**
 * What a disk's frontend -device says beyond its place on the bus, read alike whether -blockdev
 * nodes or a -drive hold the image: the device's properties are the same in both eras.
 */
function readFrontend(r: ArgvReader, dev: DeviceOption, bus: DiskBus, device: Disk['device']): Frontend {
  const dp = dev.props;
  const num = (k: string) => propNum(dp, k);
  const virtio = bus === 'virtio';
  const vo = (k: string) => (virtio ? propBool(dp, k) : undefined);
  const iothreadId = virtio ? propStr(dp, 'iothread') : undefined;
  const iothread = iothreadId === undefined ? undefined : r.iothreads.get(iothreadId);
  const werror = WERROR[propStr(dp, 'werror') ?? ''];
  const rerror = RERROR[propStr(dp, 'rerror') ?? ''];
  const driver: Draft<NonNullable<Disk['driver']>> = {
    ...(vo('ioeventfd') !== undefined ? { ioeventfd: vo('ioeventfd') } : {}),
    ...(vo('event_idx') !== undefined ? { eventIdx: vo('event_idx') } : {}),
    ...(vo('iommu_platform') !== undefined ? { iommu: vo('iommu_platform') } : {}),
    ...(vo('ats') !== undefined ? { ats: vo('ats') } : {}),
    ...(vo('packed') !== undefined ? { packed: vo('packed') } : {}),
    ...(vo('page-per-vq') !== undefined ? { pagePerVq: vo('page-per-vq') } : {}),
    ...(virtio && num('num-queues') !== undefined ? { queues: num('num-queues') } : {}),
    ...(virtio && num('queue-size') !== undefined ? { queueSize: num('queue-size') } : {}),
    ...(iothread !== undefined ? { iothread } : {}),
    // the error policies sit on the device (errorProps); as on -drive, a read policy equal to
    // the write policy is not repeated
    ...(werror ? { errorPolicy: werror } : {}),
    ...(rerror && rerror !== werror ? { rerrorPolicy: rerror } : {}),
  };
  const { rotationRate, ...shape } = frontendShape(dp);
  const vendor = bus === 'scsi' ? propStr(dp, 'vendor') : undefined;
  const product = bus === 'scsi' ? propStr(dp, 'product') : undefined;
  const acpiIndex = num('acpi-index');
  // usb-storage is removable='off' unless the XML says on
  const removable = bus === 'usb' && propBool(dp, 'removable') === true;
  // NB: a WWN is a 64-bit number, past what a JSON double holds exactly: read its digits as written
  const wwnProp = propStr(dp, 'wwn');
  const wwn = wwnProp === undefined ? undefined : (/"wwn":\s*(\d+)/.exec(dev.opt.rawValue ?? '')?.[1] ?? wwnProp);
  if (wwn !== undefined && !(/^(\d+|0x[0-9a-f]+)$/i.test(wwn) && BigInt(wwn) < 2n ** 64n)) {
    return fail('BadOptionValue', { option: '-device', value: `wwn=${wwn}`, reason: 'a WWN is a 64-bit unsigned number' }, dev.opt.valueSpan ?? dev.opt.span);
  }
  const serial = propStr(dp, 'serial');
  const boot = num('bootindex');
  const id = propStr(dp, 'id');
  // NB: libvirt names every SCSI disk's device_id after its serial or drive (drive-ALIAS): implied
  r.expect(dev.opt, 'device_id', serial ?? `drive-${id}`);
  return {
    driver,
    target: { ...(removable ? { removable } : {}), ...(rotationRate !== undefined ? { rotationRate } : {}) },
    disk: {
      // virtio-blk with scsi=on passes a LUN through
      device: virtio && propBool(dp, 'scsi') === true ? 'lun' : device,
      ...(virtio ? virtioModelOf(dev.driver, dp) : {}),
      ...(boot !== undefined ? { bootOrder: boot } : {}),
      ...(propBool(dp, 'share-rw') ? { shareable: true } : {}),
      ...(serial ? { serial } : {}),
      // QEMU takes the WWN as a number; libvirt writes it as 16 hex digits
      ...(wwn ? { wwn: BigInt(wwn).toString(16).padStart(16, '0') } : {}),
      ...(vendor !== undefined ? { vendor } : {}),
      ...(product !== undefined ? { product } : {}),
      ...(acpiIndex !== undefined ? { acpiIndex } : {}),
      ...shape,
      // user aliases (ua-…) are the only ones the XML carries
      ...(id?.startsWith('ua-') ? { alias: id } : {}),
    },
  };
}

/**
 * <target rotation_rate>, <geometry> and <blockio> from the frontend -device's properties (as
 * deviceProps prints them), whichever reader pairs the device with its image.
 */
function frontendShape(dp: Props): Pick<Disk, 'geometry' | 'blockio'> & { rotationRate?: number } {
  const n = (k: string) => propNum(dp, k);
  const rotationRate = n('rotation_rate');
  const [cyls, heads, secs] = [n('cyls'), n('heads'), n('secs')];
  // NB: <geometry> needs all three numbers; a translation alone has no XML home (left to the warning)
  const geometry = cyls !== undefined && heads !== undefined && secs !== undefined ? { cyls, heads, secs, ...(propStr(dp, 'bios-chs-trans') !== undefined ? { trans: propStr(dp, 'bios-chs-trans') } : {}) } : undefined;
  const blockio = { logical: n('logical_block_size'), physical: n('physical_block_size'), discardGranularity: n('discard_granularity') };
  const hasBlockio = Object.values(blockio).some((v) => v !== undefined);
  return {
    ...(rotationRate !== undefined ? { rotationRate } : {}),
    ...(geometry ? { geometry } : {}),
    ...(hasBlockio ? { blockio: Object.fromEntries(Object.entries(blockio).filter(([, v]) => v !== undefined)) } : {}),
  };
}

/** -drive bus=/unit=: QEMU reads an int and rejects a unit beyond the bus's devices. */
function driveNumber(p: Props, key: 'bus' | 'unit', max: number): number | undefined {
  const n = propNum(p, key);
  if (n !== undefined && !(Number.isInteger(n) && n >= 0 && n <= max)) {
    return fail('BadOptionValue', { option: '-drive', value: String(p[key]), reason: `${key} must be an integer from 0 to ${max}` });
  }
  return n;
}

/** The drive's place on its bus from bus=/unit= (libvirt: IDE has 2 units a bus, SCSI 7). */
function driveIndex(p: Props, bus: DiskBus, disks: readonly Disk[]): number {
  const perBus = bus === 'ide' ? 2 : bus === 'scsi' ? 7 : 0;
  const b = driveNumber(p, 'bus', 0x7fffffff);
  const u = driveNumber(p, 'unit', perBus ? perBus - 1 : 0x7fffffff);
  if (b !== undefined || u !== undefined) {
    return (b ?? 0) * perBus + (u ?? 0);
  }
  // neither: the next free index on this bus, as QEMU allocates
  const used = new Set(disks.filter((d) => d.target.bus === bus).map((d) => diskIndex(d.target.dev)));
  let i = 0;
  while (used.has(i)) i++;
  return i;
}

function driveToDisk(p: Props, bus: DiskBus, device: Disk['device'], dev: string, span: Span | undefined, ceph: boolean): Disk {
  const { source, auth } = sourceFromFileProps(p) ?? sourceFromFilename(propStr(p, 'file') ?? '', span, ceph);
  // NB: a gluster drive's debug level is qemu.conf's (gluster_debug_level), not the domain's
  void p['file.debug'];
  // NB: a vvfat directory is always a FAT image (drivePath)
  const format = propStr(p, 'format') ?? (source.type === 'dir' ? 'fat' : undefined);
  const cache = CACHE_MODES[propStr(p, 'cache') ?? ''];
  const werror = WERROR[propStr(p, 'werror') ?? ''];
  const rerror = RERROR[propStr(p, 'rerror') ?? ''];
  const aio = propStr(p, 'aio');
  const io = aio === 'threads' || aio === 'native' || aio === 'io_uring' ? aio : undefined;
  // NB: QEMU takes on/off as spellings of unmap/ignore (Proxmox writes discard=on)
  const discardProp = propStr(p, 'discard');
  const discard = discardProp === 'on' ? 'unmap' : discardProp === 'off' ? 'ignore' : discardProp;
  const dz = propStr(p, 'detect-zeroes');
  const driver: Draft<NonNullable<Disk['driver']>> = {
    ...(format ? { name: 'qemu', type: format } : {}),
    ...(cache ? { cache } : {}),
    ...(propBool(p, 'copy-on-read') ? { copyOnRead: true } : {}),
    ...(discard === 'unmap' || discard === 'ignore' ? { discard } : {}),
    ...(dz === 'on' || dz === 'off' || dz === 'unmap' ? { detectZeroes: dz } : {}),
    ...(werror ? { errorPolicy: werror } : {}),
    // NB: a read policy equal to the write policy is not repeated
    ...(rerror && rerror !== werror ? { rerrorPolicy: rerror } : {}),
    ...(io ? { io } : {}),
  };
  const serial = propStr(p, 'serial');
  return {
    source,
    device,
    ...(Object.keys(driver).length ? { driver } : {}),
    ...(auth ? { auth } : {}),
    target: { dev, bus },
    ...(propBool(p, 'readonly') || device === 'cdrom' ? { readonly: true } : {}),
    ...(serial ? { serial } : {}),
    // NB: snapshot=on discards the guest's writes when QEMU exits: libvirt's <transient/>
    extra: propBool(p, 'snapshot') ? [el('transient')] : [],
    ...(span ? { $span: span } : {}),
  };
}

/** -drive if=pflash: unit 0 is the firmware image, unit 1 its variable store. */
function readPflashDrive(r: ArgvReader, o: ParsedOption, p: Props): void {
  const file = propStr(p, 'file') ?? '';
  const os = r.draft.os;
  if ((propNum(p, 'unit') ?? (os.loader?.type === 'pflash' ? 1 : 0)) === 0) {
    // NB: a writable firmware image says readonly='no', as the -blockdev reader (os.ts) reads it
    os.loader = { path: file, type: 'pflash', readonly: propBool(p, 'readonly') === true };
  } else os.nvram = { path: file };
  if (propStr(p, 'format') && propStr(p, 'format') !== 'raw') r.diag.warn('IgnoredProperty', { option: '-drive', property: 'format' }, o.valueSpan);
}

/** Old-style CEPH_ARGS names the monitors of the first rbd disk. */
function assignCephMonitors(disks: Disk[], value: string, span: Span | undefined): void {
  const i = disks.findIndex((d) => d.source.type === 'network' && d.source.protocol === 'rbd');
  if (i < 0) return fail('BadOptionValue', { option: 'CEPH_ARGS', value, reason: 'set without an rbd disk' }, span);
  const d = disks[i]!;
  disks[i] = { ...d, source: { ...(d.source as Extract<DiskSource, { type: 'network' }>), hosts: cephArgsHosts(value, span) } };
}

/** -drive if=none,id=X paired with -device …,drive=X */
function readDriveWithDevice(r: ArgvReader, o: ParsedOption, p: Props, ceph: boolean): void {
  const id = propStr(p, 'id') ?? '';
  const dev = r.deviceWith('drive', id);
  const disks = r.draft.devices.disks;
  // NB: a scsi-generic on the drive makes it a <hostdev type='scsi'>: left to that family; a
  // frontend libvirt 9.0 has no disk bus for (nvme, QEMU's sd-card…) keeps the pair as written
  if (dev && (dev.driver === 'scsi-generic' || !(dev.driver in FRONTENDS))) {
    r.unclaim(o);
    return;
  }
  if (!dev) {
    r.diag.warn('UnmappedOption', { option: '-drive', detail: `id=${id} (no -device uses it)` }, o.span);
    return;
  }
  r.claim(dev.opt);
  const driver = dev.driver;
  const busProp = propStr(dev.props, 'bus') ?? '';
  // NB: as with -blockdev: ide-hd/ide-cd on q35 (its AHCI's ports are ide.N) or an AHCI are SATA
  const sata = driver.startsWith('ide-') && (/^(q35|pc-q35)/.test(r.draft.os.machine ?? '') || /^sata|^ahci/.test(busProp));
  const bus: DiskBus = sata ? 'sata' : driver.startsWith('ide-') ? 'ide' : driver.startsWith('scsi-') ? 'scsi' : driver.startsWith('virtio-blk') ? 'virtio' : driver === 'usb-storage' ? 'usb' : driver === 'floppy' ? 'fdc' : 'ide';
  const mediaProp = propStr(p, 'media');
  // NB: scsi-block passes a host LUN through: device='lun', as with -blockdev
  const media = mediaProp === 'cdrom' ? 'cdrom' : FRONTENDS[driver]?.device ?? 'disk';
  const ideBus = /^ide\.(\d+)$/.exec(busProp);
  const unit = propNum(dev.props, 'unit') ?? 0;
  // NB: SATA, SCSI and USB disks share the sdX names: a name is taken whichever bus took it
  const prefix = TARGET_PREFIX[bus] ?? 'hd';
  const used = new Set(disks.filter((d) => (d.target.bus && TARGET_PREFIX[d.target.bus]) === prefix).map((d) => diskIndex(d.target.dev)));
  // NB: an IDE or floppy disk's name is its place: bus*2+unit, or the floppy unit (fda, fdb)
  const place = bus === 'ide' && ideBus ? Number(ideBus[1]) * 2 + unit : bus === 'fdc' ? unit : undefined;
  let index = place ?? 0;
  if (place === undefined) while (used.has(index)) index++;
  const disk = driveToDisk(p, bus, media, diskNameFromIndex(prefix, index), o.valueSpan ?? o.span, ceph);
  const front = readFrontend(r, dev, bus, media);
  const port = /\.(\d+)$/.exec(busProp);
  const lun = propNum(dev.props, 'lun');
  const address: Address | undefined =
    sata && port ? { type: 'drive', controller: busController(r, busProp), bus: 0, target: 0, unit: Number(port[1]) }
    : bus === 'virtio' ? pciAddressFromProps(dev.props)
    // NB: as with -blockdev: scsi-id is the target and lun the unit when a lun is given
    : bus === 'scsi' && port ? { type: 'drive', controller: busController(r, busProp), bus: propNum(dev.props, 'channel') ?? 0, target: lun !== undefined ? (propNum(dev.props, 'scsi-id') ?? 0) : 0, unit: lun ?? propNum(dev.props, 'scsi-id') ?? 0 }
    : bus === 'usb' ? usbAddressFromProps(r, dev.props, dev.opt.span)
    : undefined;
  // NB: the device's error policies (where to-native prints them) win over the -drive's
  const { errorPolicy, rerrorPolicy, ...tuning } = disk.driver ?? {};
  const policy = front.driver.errorPolicy ? {} : { ...(errorPolicy ? { errorPolicy } : {}), ...(rerrorPolicy ? { rerrorPolicy } : {}) };
  const drv = { ...tuning, ...policy, ...front.driver };
  const merged: Disk = {
    ...disk, ...front.disk, ...(Object.keys(drv).length ? { driver: drv } : {}),
    target: { ...disk.target, ...front.target }, ...(address ? { address } : {}),
  };
  // NB: write-cache follows the -drive's cache mode (cacheFlags): implied when it agrees
  const wc = cacheFlags(merged);
  if (wc) r.expect(dev.opt, 'write-cache', wc.writeback);
  disks.push(merged);
}
