// <disk>: file/block/network sources, drivers, targets and buses.
// argv: -blockdev node pairs + -device (modern), -drive if=none + -device (mid-era),
// -drive if=…/-hda/-cdrom (legacy).
import { fail, type Span } from '../errors.js';
import type { ArgvReader } from '../ir/argv-reader.js';
import { optProps, optText } from '../ir/argv-reader.js';
import type { Address, Disk, DiskAuth, DiskBus, DiskSource, Draft } from '../ir/domain.js';
import type { ParsedOption } from '../lexer/argv-parser.js';
import { cephArgsHosts, sourceFromFilename } from './disk-source-argv.js';
import { has } from '../qemu/caps.js';
import { propBool, propNum, propStr, props, type Props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { child, el, type XmlElement } from '../xml/tree.js';
import { checkEnum, enumAttr, intAttr, reqAttr } from '../xml/values.js';
import { pciPlacement, readAddressXml, writeAddressXml } from './address.js';
import { controllerAlias } from './controller.js';
import { DEFAULT_SCSI_MODEL } from '../ir/pci-addresses.js';

const DISK_TYPES = ['file', 'block', 'dir', 'network'] as const;
const DEVICES = ['disk', 'cdrom', 'floppy', 'lun'] as const;
const BUSES = ['ide', 'scsi', 'virtio', 'xen', 'usb', 'sata', 'fdc', 'sd', 'uml'] as const;
const KNOWN = new Set(['driver', 'source', 'target', 'readonly', 'shareable', 'serial', 'wwn', 'boot', 'alias', 'address']);

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
          },
        }
      : {}),
    target: {
      dev,
      ...(target.attrs.bus ? { bus: checkEnum(target, 'disk target bus', target.attrs.bus, BUSES) } : { bus: busFromTarget(dev) }),
      ...(target.attrs.tray ? { tray: enumAttr(target, 'tray', ['open', 'closed'] as const) } : {}),
    },
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
    drv && el('driver', { name: drv.name, type: drv.type, cache: drv.cache, error_policy: drv.errorPolicy, rerror_policy: drv.rerrorPolicy, io: drv.io, discard: drv.discard, detect_zeroes: drv.detectZeroes }),
    d.auth && authXml(d.auth),
    sourceXml(s),
    el('target', { dev: d.target.dev, bus: d.target.bus, tray: d.target.tray }),
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

function sourceXml(s: DiskSource): XmlElement | undefined {
  switch (s.type) {
    case 'file':
      return s.file === undefined ? undefined : el('source', { file: s.file });
    case 'block':
      return s.dev === undefined ? undefined : el('source', { dev: s.dev });
    case 'dir':
      return s.dir === undefined ? undefined : el('source', { dir: s.dir });
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
  disks.forEach((disk, i) => {
    // NB: libvirt numbers blockdev nodes in reverse disk order: the last disk is libvirt-1.
    const nodeIndex = disks.length - i;
    const bootindex = bootIndexes.get(disk);
    if (has(ctx.caps, 'blockdev')) buildBlockdevDisk(ctx, { disk, nodeIndex, ...(bootindex !== undefined ? { bootindex } : {}) });
    else if (has(ctx.caps, 'device')) buildDriveDeviceDisk(ctx, disk, bootindex);
    else buildLegacyDrive(ctx, disk);
  });
}

function protocolDriver(disk: Disk): string {
  const s = disk.source;
  if (s.type === 'block') return disk.device === 'cdrom' ? 'host_cdrom' : 'host_device';
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
  switch (disk.driver?.cache) {
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
  } else Object.assign(placement, pciPlacement(dom, a));
  const driver = DEVICE_DRIVER[bus](disk);
  const cache = cacheFlags(disk);
  return props({
    driver,
    ...placement,
    // NB: scsi-hd reports the -drive id (or the serial) as its VPD device id, as QEMU did before -blockdev
    device_id: driver === 'scsi-hd' ? (disk.serial ?? `drive-${alias}`) : undefined,
    drive,
    id: alias,
    bootindex,
    'share-rw': disk.shareable ? true : undefined,
    serial: disk.serial,
    wwn: disk.wwn !== undefined ? wwnNumber(disk.wwn) : undefined,
    removable: bus === 'usb' ? false : undefined,
    'write-cache': cache && bus !== 'fdc' && bus !== 'sd' ? (cache.writeback ? 'on' : 'off') : undefined,
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
      r.diag.warn('IgnoredProperty', { option: '-drive', property: `if=${iface}` }, o.valueSpan);
      r.draft.qemuArgs.push(o.written, o.rawValue ?? '');
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
}

/** The drive's place on its bus from bus=/unit= (libvirt: IDE has 2 units a bus, SCSI 7). */
function driveIndex(p: Props, bus: DiskBus, disks: readonly Disk[]): number {
  const b = propNum(p, 'bus');
  const u = propNum(p, 'unit');
  if (b !== undefined || u !== undefined) {
    const perBus = bus === 'ide' ? 2 : bus === 'scsi' ? 7 : 0;
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
