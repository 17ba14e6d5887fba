// <disk>: file/block/network sources, drivers, targets and buses.
// argv: -blockdev node pairs + -device (modern), -drive if=none + -device (mid-era),
// -drive if=…/-hda/-cdrom (legacy).
import { fail, type Span } from '../errors.js';
import type { ArgvReader } from '../ir/argv-reader.js';
import { optProps, optText } from '../ir/argv-reader.js';
import type { Address, Disk, DiskAuth, DiskBus, DiskSource, Draft } from '../ir/domain.js';
import type { ParsedOption } from '../lexer/argv-parser.js';
import { cephArgsHosts, sourceFromFilename, type DriveSource } from './disk-source-argv.js';
import { has } from '../qemu/caps.js';
import { propBool, propNum, propObj, propStr, props, type Props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { child, el, type XmlElement } from '../xml/tree.js';
import { checkEnum, enumAttr, intAttr, reqAttr } from '../xml/values.js';
import { parsePciAddr, pciPlacement, readAddressXml, writeAddressXml } from './address.js';
import { controllerAlias } from './controller.js';
import { usbPortOf } from './input.js';
import { DEFAULT_SCSI_MODEL } from '../ir/pci-addresses.js';

const DISK_TYPES = ['file', 'block', 'dir', 'network', 'volume', 'nvme', 'vhostuser'] as const;
const DEVICES = ['disk', 'cdrom', 'floppy', 'lun'] as const;
const BUSES = ['ide', 'scsi', 'virtio', 'xen', 'usb', 'sata', 'fdc', 'sd', 'uml'] as const;
const KNOWN = new Set(['driver', 'source', 'target', 'readonly', 'shareable', 'serial', 'wwn', 'boot', 'alias', 'address', 'blockio', 'geometry']);

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
          },
        }
      : {}),
    target: {
      dev,
      ...(target.attrs.bus ? { bus: checkEnum(target, 'disk target bus', target.attrs.bus, BUSES) } : { bus: busFromTarget(dev) }),
      ...(target.attrs.tray ? { tray: enumAttr(target, 'tray', ['open', 'closed'] as const) } : {}),
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
    ...(child(e, 'wwn') ? { wwn: child(e, 'wwn')!.text.trim() } : {}),
    ...(e.attrs.snapshot ? { snapshot: e.attrs.snapshot } : {}),
    ...(boot ? { bootOrder: intAttr(boot, 'order') } : {}),
    ...(alias?.attrs.name ? { alias: alias.attrs.name } : {}),
    ...(address ? { address: readAddressXml(address) } : {}),
    extra: e.children.filter((c) => !KNOWN.has(c.name)),
    $span: e.span,
  };
}

function readSource(type: (typeof DISK_TYPES)[number], src: XmlElement | undefined): DiskSource {
  switch (type) {
    case 'file':
      return { type, ...(src?.attrs.file !== undefined ? { file: src.attrs.file } : {}) };
    case 'block':
      return { type, ...(src?.attrs.dev !== undefined ? { dev: src.attrs.dev } : {}) };
    case 'dir':
      return { type, ...(src?.attrs.dir !== undefined ? { dir: src.attrs.dir } : {}) };
    case 'volume':
    case 'nvme':
    case 'vhostuser':
      return { type, ...(src ? { element: src } : {}) };
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
      };
    }
  }
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
    { type: s.type, device: d.device, snapshot: d.snapshot },
    drv && el('driver', {
      name: drv.name, type: drv.type, cache: drv.cache, error_policy: drv.errorPolicy, rerror_policy: drv.rerrorPolicy, io: drv.io,
      discard: drv.discard, queues: drv.queues, queue_size: drv.queueSize, detect_zeroes: drv.detectZeroes, iothread: drv.iothread,
      iommu: onOff(drv.iommu), ats: onOff(drv.ats), packed: onOff(drv.packed),
    }),
    d.auth && authXml(d.auth),
    sourceXml(s),
    el('target', { dev: d.target.dev, bus: d.target.bus, tray: d.target.tray, rotation_rate: d.target.rotationRate }),
    d.geometry && el('geometry', { cyls: d.geometry.cyls, heads: d.geometry.heads, secs: d.geometry.secs, trans: d.geometry.trans }),
    d.blockio && el('blockio', { logical_block_size: d.blockio.logical, physical_block_size: d.blockio.physical, discard_granularity: d.blockio.discardGranularity }),
    d.bootOrder !== undefined && el('boot', { order: d.bootOrder }),
    d.readonly && el('readonly'),
    d.shareable && el('shareable'),
    d.serial !== undefined && el('serial', {}, d.serial),
    d.wwn !== undefined && el('wwn', {}, d.wwn),
    d.extra,
    d.alias !== undefined && el('alias', { name: d.alias }),
    writeAddressXml(d.address),
  );
}

const onOff = (b: boolean | undefined) => (b === undefined ? undefined : b ? 'on' : 'off');

function sourceXml(s: DiskSource): XmlElement | undefined {
  switch (s.type) {
    case 'file':
      return s.file === undefined ? undefined : el('source', { file: s.file });
    case 'block':
      return s.dev === undefined ? undefined : el('source', { dev: s.dev });
    case 'dir':
      return s.dir === undefined ? undefined : el('source', { dir: s.dir });
    case 'volume':
    case 'nvme':
    case 'vhostuser':
      return s.element;
    case 'network':
      return el(
        'source',
        { protocol: s.protocol, name: s.name },
        s.hosts.map((h) => el('host', { name: h.name, port: h.port, transport: h.transport, socket: h.socket })),
        s.snapshot !== undefined && el('snapshot', { name: s.snapshot }),
        s.config !== undefined && el('config', { file: s.config }),
        s.auth && authXml(s.auth),
      );
  }
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
  /** blockdev node index, libvirt-N */
  readonly nodeIndex: number;
  readonly bootindex?: number;
}

/** Emits every disk; `bootIndexes` maps disks to their bootindex (see the boot family). */
export function buildDisks(ctx: EmitContext, bootIndexes: ReadonlyMap<object, number>): void {
  const disks = ctx.dom.devices.disks;
  const fdc = has(ctx.caps, 'device') ? buildFloppyController(ctx, bootIndexes) : false;
  disks.forEach((disk, i) => {
    // NB: libvirt numbers blockdev nodes in reverse disk order: the last disk is libvirt-1.
    const nodeIndex = disks.length - i;
    // a floppy boots through its controller's bootindexA/B, not its own bootindex
    const bootindex = fdc && disk.target.bus === 'fdc' ? undefined : bootIndexes.get(disk);
    const src = disk.source;
    if (src.type === 'vhostuser' && src.element?.attrs.path && has(ctx.caps, 'blockdev')) {
      buildVhostUserDisk(ctx, disk, src.element, bootindex);
      return;
    }
    if (src.type === 'volume' || src.type === 'nvme' || src.type === 'vhostuser') {
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
    driver: 'vhost-user-blk-pci',
    iommu_platform: drv?.iommu, ats: drv?.ats, packed: drv?.packed,
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

function protocolDriver(disk: Disk): string {
  const s = disk.source;
  // NB: libvirt asks the host whether a block cdrom is a real drive (host_cdrom); without the
  // host we take the kernel's names for optical drives (/dev/cdrom, /dev/srN) to be ones
  if (s.type === 'block') return disk.device === 'cdrom' && /^\/dev\/(cdrom|sr\d+)$/.test(s.dev ?? '') ? 'host_cdrom' : 'host_device';
  if (s.type === 'network') return s.protocol;
  return 'file';
}

function buildBlockdevDisk(ctx: EmitContext, info: DiskEmitInfo): void {
  const { disk, nodeIndex } = info;
  const path = sourcePath(disk.source);
  const storage = `libvirt-${nodeIndex}-storage`;
  const format = `libvirt-${nodeIndex}-format`;
  const readOnly = disk.readonly === true || disk.device === 'cdrom';
  const hasMedia = path !== undefined || disk.source.type === 'network';
  if (hasMedia) {
    const s = disk.source;
    const cache = cacheFlags(disk);
    const cacheProp = cache ? { cache: { direct: cache.direct, 'no-flush': cache.noFlush } } : {};
    ctx.out.object('-blockdev', props({
      driver: protocolDriver(disk),
      ...(s.type === 'network' ? networkProps(s) : { filename: path }),
      'node-name': storage,
      ...cacheProp,
      'auto-read-only': true,
      discard: 'unmap',
    }));
    ctx.out.object('-blockdev', props({
      'node-name': format,
      'read-only': readOnly,
      ...(disk.driver?.discard === 'unmap' ? { discard: 'unmap' } : {}),
      ...cacheProp,
      ...(disk.driver?.detectZeroes ? { 'detect-zeroes': disk.driver.detectZeroes === 'unmap' && disk.driver.discard !== 'unmap' ? 'on' : disk.driver.detectZeroes } : {}),
      driver: disk.driver?.type ?? 'raw',
      file: storage,
    }));
  }
  ctx.out.object('-device', deviceProps(ctx, disk, hasMedia ? format : undefined, info.bootindex));
}

function networkProps(s: Extract<DiskSource, { type: 'network' }>): Record<string, unknown> {
  const h = s.hosts[0];
  switch (s.protocol) {
    case 'nbd':
      return { server: h?.transport === 'unix' ? { type: 'unix', path: h.socket } : { type: 'inet', host: h?.name, port: String(h?.port ?? 10809) }, ...(s.name ? { export: s.name } : {}) };
    case 'http':
    case 'https':
    case 'ftp':
    case 'ftps':
    case 'tftp':
      return { url: `${s.protocol}://${h?.name ?? ''}${h?.port ? `:${h.port}` : ''}/${(s.name ?? '').replace(/^\//, '')}` };
    default:
      return { server: s.hosts.map((x) => ({ host: x.name, port: String(x.port ?? '') })), ...(s.name ? { image: s.name } : {}) };
  }
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
    if (port) Object.assign(placement, { bus: `usb.${port.bus}`, port: port.port });
  } else Object.assign(placement, pciPlacement(dom, a));
  const driver = DEVICE_DRIVER[bus](disk);
  const cache = cacheFlags(disk);
  return props({
    driver,
    ...placement,
    // NB: scsi-hd reports the -drive id (or the serial) as its VPD device id, as QEMU did before -blockdev
    device_id: driver === 'scsi-hd' || driver === 'scsi-cd' ? (disk.serial ?? `drive-${alias}`) : undefined,
    drive,
    id: alias,
    bootindex,
    'share-rw': disk.shareable ? true : undefined,
    serial: disk.serial,
    wwn: disk.wwn !== undefined ? wwnNumber(disk.wwn) : undefined,
    removable: bus === 'usb' ? false : undefined,
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
    ...(bus === 'virtio'
      ? { iothread: disk.driver?.iothread !== undefined ? `iothread${disk.driver.iothread}` : undefined, 'num-queues': disk.driver?.queues, 'queue-size': disk.driver?.queueSize, iommu_platform: disk.driver?.iommu, ats: disk.driver?.ats, packed: disk.driver?.packed }
      : {}),
  });
}

function buildDriveDeviceDisk(ctx: EmitContext, disk: Disk, bootindex: number | undefined): void {
  const path = sourcePath(disk.source);
  const id = `drive-${diskAlias(disk)}`;
  ctx.out.keyval('-drive', props({
    file: path,
    format: disk.driver?.type,
    if: 'none',
    id,
    media: disk.device === 'cdrom' ? 'cdrom' : undefined,
    readonly: disk.readonly ? 'on' : undefined,
    cache: disk.driver?.cache,
  }));
  ctx.out.object('-device', deviceProps(ctx, disk, id, bootindex));
}

/** QEMU 0.x: -drive file=…,if=ide,index=N (the index counts units across the bus). */
function buildLegacyDrive(ctx: EmitContext, disk: Disk): void {
  const bus = disk.target.bus ?? 'ide';
  const ifName = bus === 'fdc' ? 'floppy' : bus === 'sata' ? 'ide' : bus;
  ctx.out.keyval('-drive', props({
    file: sourcePath(disk.source) ?? '',
    if: ifName,
    media: disk.device === 'cdrom' ? 'cdrom' : undefined,
    index: diskIndex(disk.target.dev),
    boot: undefined,
    format: disk.driver?.type,
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
  readBlockdevDisks(r);
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
    // the chain device -> [filters] -> format -> storage
    let format = drive !== undefined ? nodes.get(drive) : undefined;
    if (drive !== undefined && !format) continue; // a -drive id, or a node we do not have
    const chain: Node[] = [];
    while (format && FILTERS.has(propStr(format.p, 'driver') ?? '')) {
      chain.push(format);
      format = nodes.get(propStr(format.p, 'file') ?? '');
    }
    const fileRef = format ? propStr(format.p, 'file') : undefined;
    const storage = fileRef !== undefined && nodes.has(fileRef) ? nodes.get(fileRef)! : format;
    if (storage === format) format = undefined;
    const source: DriveSource | undefined = storage ? blockdevSource(storage.p) : { source: { type: 'file' } };
    if (!source) continue; // a storage driver with no <disk> equivalent: left to <qemu:commandline>
    r.claim(dev.opt);
    for (const n of [...chain, ...(format ? [format] : []), ...(storage ? [storage] : [])]) used.add(n);
    const disk = blockdevDisk(dev.props, fe, source.source, format?.p, storage?.p, q35, disks, dev.opt.span, dev.opt.rawValue);
    // credentials go on the <disk>, where libvirt's own configurations keep them
    disks.push(source.auth ? { ...disk, auth: source.auth } : disk);
  }
  for (const n of nodes.values()) if (!used.has(n)) r.unclaim(n.opt);
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
    case 'nbd':
      return { source: { type: 'network', protocol: 'nbd', ...(str('export') ? { name: str('export') } : {}), hosts: servers() } };
    case 'rbd': {
      const conf = str('conf');
      const snap = str('snapshot');
      const user = str('user');
      return {
        source: {
          type: 'network', protocol: 'rbd', name: `${str('pool') ?? ''}/${str('image') ?? ''}`, hosts: servers(),
          ...(snap ? { snapshot: snap } : {}), ...(conf ? { config: conf } : {}),
        },
        ...(user ? { auth: { username: user, secretType: 'ceph' } } : {}),
      };
    }
    case 'gluster':
      return { source: { type: 'network', protocol: 'gluster', name: `${str('volume') ?? ''}/${(str('path') ?? '').replace(/^\//, '')}`, hosts: servers() } };
    case 'iscsi': {
      const portal = /^(?:\[(.*)\]|([^:]*))(?::(\d+))?$/.exec(str('portal') ?? '');
      const host = portal ? { name: portal[1] ?? portal[2] ?? '', ...(portal[3] ? { port: Number(portal[3]) } : {}) } : { name: '' };
      const user = str('user');
      return {
        source: { type: 'network', protocol: 'iscsi', name: propNum(p, 'lun') ? `${str('target') ?? ''}/${propNum(p, 'lun')}` : str('target') ?? '', hosts: [host] },
        ...(user ? { auth: { username: user, secretType: 'iscsi' } } : {}),
      };
    }
    case 'http':
    case 'https':
    case 'ftp':
    case 'ftps':
    case 'tftp':
      return sourceFromFilename(str('url') ?? '');
    case 'nfs':
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

function blockdevDisk(
  dp: Props, fe: (typeof FRONTENDS)[string], source: DiskSource, format: Props | undefined, storage: Props | undefined,
  q35: boolean, disks: readonly Disk[], span: Span | undefined, raw: string | undefined,
): Disk {
  const busProp = propStr(dp, 'bus') ?? '';
  const bus: DiskBus = fe.bus === 'ide-or-sata' ? (q35 || /^sata|^ahci/.test(busProp) ? 'sata' : 'ide') : fe.bus;
  // NB: target names are the guest's business; libvirt's own tests number them in order
  const nextFree = (prefix: string) => nextFreeName(disks, prefix);
  const num = (k: string) => propNum(dp, k);
  const busNum = Number(/\.(\d+)$/.exec(busProp)?.[1] ?? 0);
  const ctl = Number(/^[a-z]+(\d+)\./.exec(busProp)?.[1] ?? 0);
  let dev: string;
  let address: Address | undefined;
  switch (bus) {
    case 'ide':
      dev = diskNameFromIndex('hd', busNum * 2 + (num('unit') ?? 0));
      break;
    case 'sata':
      // NB: an AHCI controller's ports are QEMU buses ide.N (sataC.N past the first)
      dev = nextFree('sd');
      address = { type: 'drive', controller: ctl, bus: 0, target: 0, unit: busNum };
      break;
    case 'scsi': {
      const lun = num('lun');
      const unit = lun ?? num('scsi-id') ?? 0;
      dev = nextFree('sd');
      address = { type: 'drive', controller: ctl, bus: num('channel') ?? 0, target: lun !== undefined ? (num('scsi-id') ?? 0) : 0, unit };
      break;
    }
    case 'fdc':
      dev = diskNameFromIndex('fd', num('unit') ?? 0);
      break;
    case 'virtio': {
      dev = nextFree('vd');
      const pci = parsePciAddr(propStr(dp, 'addr') ?? '');
      const pbus = /^pci\.(\d+)$/.exec(busProp);
      if (pci) address = { type: 'pci', domain: 0, bus: pbus ? Number(pbus[1]) : 0, slot: pci.slot, function: pci.function };
      break;
    }
    default:
      dev = nextFree('sd');
  }
  const cache = blockdevCache(format, dp);
  const fmt = format ? propStr(format, 'driver') : undefined;
  const discard = format && propStr(format, 'discard') === 'unmap' ? 'unmap' : undefined;
  const dz = format ? propStr(format, 'detect-zeroes') : undefined;
  const detectZeroes = dz === 'on' || dz === 'off' || dz === 'unmap' ? dz : undefined;
  const drv: Draft<NonNullable<Disk['driver']>> = {
    ...(fmt ? { type: fmt } : {}), ...(cache ? { cache } : {}), ...(discard ? { discard } : {}), ...(detectZeroes ? { detectZeroes } : {}),
  };
  // NB: a WWN is a 64-bit number, past what a JSON double holds exactly: read its digits as written
  const wwn = /"wwn":\s*(\d+)/.exec(raw ?? '')?.[1] ?? propStr(dp, 'wwn');
  const serial = propStr(dp, 'serial');
  const boot = num('bootindex');
  const id = propStr(dp, 'id');
  const ro = propBool(format ?? storage ?? {}, 'read-only') === true;
  return {
    source,
    device: fe.device,
    ...(Object.keys(drv).length ? { driver: drv } : {}),
    target: { dev, bus },
    ...(boot !== undefined ? { bootOrder: boot } : {}),
    ...(ro || fe.device === 'cdrom' ? { readonly: true } : {}),
    ...(propBool(dp, 'share-rw') ? { shareable: true } : {}),
    ...(serial ? { serial } : {}),
    // QEMU takes the WWN as a number; libvirt writes it as 16 hex digits
    ...(wwn ? { wwn: BigInt(wwn).toString(16).padStart(16, '0') } : {}),
    // user aliases (ua-…) are the only ones the XML carries
    ...(id?.startsWith('ua-') ? { alias: id } : {}),
    ...(address ? { address } : {}),
    extra: [],
    ...(span ? { $span: span } : {}),
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
  const { source, auth } = sourceFromFilename(propStr(p, 'file') ?? '', span, ceph);
  const format = propStr(p, 'format');
  const cache = CACHE_MODES[propStr(p, 'cache') ?? ''];
  const werror = WERROR[propStr(p, 'werror') ?? ''];
  const rerror = RERROR[propStr(p, 'rerror') ?? ''];
  const aio = propStr(p, 'aio');
  const io = aio === 'threads' || aio === 'native' || aio === 'io_uring' ? aio : undefined;
  const driver: Draft<NonNullable<Disk['driver']>> = {
    ...(format ? { name: 'qemu', type: format } : {}),
    ...(cache ? { cache } : {}),
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
    os.loader = { path: file, type: 'pflash', ...(propBool(p, 'readonly') ? { readonly: true } : {}) };
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
  if (!dev) {
    r.diag.warn('UnmappedOption', { option: '-drive', detail: `id=${id} (no -device uses it)` }, o.span);
    return;
  }
  r.claim(dev.opt);
  const driver = dev.driver;
  const bus: DiskBus = driver.startsWith('ide-') ? 'ide' : driver.startsWith('scsi-') ? 'scsi' : driver.startsWith('virtio-blk') ? 'virtio' : driver === 'usb-storage' ? 'usb' : driver === 'floppy' ? 'fdc' : 'ide';
  const media = driver.endsWith('-cd') || propStr(p, 'media') === 'cdrom' ? 'cdrom' : driver === 'floppy' ? 'floppy' : 'disk';
  const ideBus = /^ide\.(\d+)$/.exec(propStr(dev.props, 'bus') ?? '');
  const unit = propNum(dev.props, 'unit') ?? 0;
  const used = new Set(disks.filter((d) => d.target.bus === bus).map((d) => diskIndex(d.target.dev)));
  let index = bus === 'ide' && ideBus ? Number(ideBus[1]) * 2 + unit : 0;
  if (!(bus === 'ide' && ideBus)) while (used.has(index)) index++;
  const disk = driveToDisk(p, bus, media, diskNameFromIndex(TARGET_PREFIX[bus] ?? 'hd', index), o.valueSpan ?? o.span, ceph);
  const bootindex = propNum(dev.props, 'bootindex');
  const serial = propStr(dev.props, 'serial');
  disks.push({ ...disk, ...(bootindex !== undefined ? { bootOrder: bootindex } : {}), ...(serial ? { serial } : {}) });
}
