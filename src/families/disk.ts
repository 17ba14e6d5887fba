// <disk>: file/block/network sources, drivers, targets and buses.
// argv: -blockdev node pairs + -device (modern), -drive if=none + -device (mid-era),
// -drive if=…/-hda/-cdrom (legacy).
import { fail } from '../errors.js';
import type { ArgvReader } from '../ir/argv-reader.js';
import { optProps, optText } from '../ir/argv-reader.js';
import type { Address, Disk, DiskBus, DiskSource } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import { propBool, propNum, propStr, props, type Props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { child, el, type XmlElement } from '../xml/tree.js';
import { checkEnum, enumAttr, intAttr, reqAttr } from '../xml/values.js';
import { readAddressXml, writeAddressXml, pciAddrText, pciBusName } from './address.js';

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
    drv && el('driver', { name: drv.name, type: drv.type, cache: drv.cache, error_policy: drv.errorPolicy, io: drv.io, discard: drv.discard, detect_zeroes: drv.detectZeroes }),
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
      return el('source', { protocol: s.protocol, name: s.name }, s.hosts.map((h) => el('host', { name: h.name, port: h.port, transport: h.transport, socket: h.socket })));
  }
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
    ctx.out.object('-blockdev', props({
      driver: protocolDriver(disk),
      ...(s.type === 'network' ? networkProps(s) : { filename: path }),
      'node-name': storage,
      'auto-read-only': true,
      discard: 'unmap',
    }));
    ctx.out.object('-blockdev', props({
      'node-name': format,
      'read-only': readOnly,
      driver: disk.driver?.type ?? 'raw',
      file: storage,
    }));
  }
  ctx.out.object('-device', deviceProps(disk, hasMedia ? format : undefined, info.bootindex));
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

function deviceProps(disk: Disk, drive: string | undefined, bootindex: number | undefined): Props {
  const bus = disk.target.bus ?? 'ide';
  const a = disk.address ?? driveAddressFor(disk);
  const placement: Record<string, string | number | undefined> = {};
  if (a?.type === 'drive') {
    if (bus === 'ide') Object.assign(placement, { bus: `ide.${a.bus}`, unit: a.unit });
    else if (bus === 'sata') Object.assign(placement, { bus: `ide.${a.unit}` });
    else if (bus === 'scsi') Object.assign(placement, { bus: `scsi${a.controller}.0`, channel: a.bus, 'scsi-id': a.target, lun: a.unit });
    else if (bus === 'fdc') Object.assign(placement, { unit: a.unit });
  } else if (a?.type === 'pci') Object.assign(placement, { bus: pciBusName(a.bus), addr: pciAddrText(a) });
  return props({
    driver: DEVICE_DRIVER[bus](disk),
    ...placement,
    drive,
    id: diskAlias(disk),
    bootindex,
    'share-rw': disk.shareable ? true : undefined,
    serial: disk.serial,
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
  ctx.out.object('-device', deviceProps(disk, id, bootindex));
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

const LEGACY_DISK_OPTS: Record<string, { dev: string; device: Disk['device']; bus: DiskBus }> = {
  '-hda': { dev: 'hda', device: 'disk', bus: 'ide' },
  '-hdb': { dev: 'hdb', device: 'disk', bus: 'ide' },
  '-hdc': { dev: 'hdc', device: 'disk', bus: 'ide' },
  '-hdd': { dev: 'hdd', device: 'disk', bus: 'ide' },
  '-cdrom': { dev: 'hdc', device: 'cdrom', bus: 'ide' },
  '-fda': { dev: 'fda', device: 'floppy', bus: 'fdc' },
  '-fdb': { dev: 'fdb', device: 'floppy', bus: 'fdc' },
};

function sourceFromPath(path: string): DiskSource {
  if (path === '') return { type: 'file' };
  if (path.startsWith('/dev/')) return { type: 'block', dev: path };
  return { type: 'file', file: path };
}

export function readDisksArgv(r: ArgvReader): void {
  const disks = r.draft.devices.disks;
  for (const o of r.take('-hda', '-hdb', '-hdc', '-hdd', '-cdrom', '-fda', '-fdb')) {
    const l = LEGACY_DISK_OPTS[o.name]!;
    disks.push({
      source: sourceFromPath(optText(o)),
      device: l.device,
      target: { dev: l.dev, bus: l.bus },
      ...(l.device === 'cdrom' ? { readonly: true } : {}),
      extra: [],
      $span: o.span,
    });
  }
  for (const o of r.take('-drive')) {
    const p = optProps(o);
    const iface = propStr(p, 'if') ?? 'ide';
    if (iface === 'none') {
      readDriveWithDevice(r, o.span, p);
      continue;
    }
    const bus: DiskBus = iface === 'floppy' ? 'fdc' : iface === 'virtio' ? 'virtio' : iface === 'scsi' ? 'scsi' : iface === 'sd' ? 'sd' : 'ide';
    const media = propStr(p, 'media') === 'cdrom' ? 'cdrom' : bus === 'fdc' ? 'floppy' : 'disk';
    const index = propNum(p, 'index') ?? legacyIndex(p, bus, disks);
    const prefix = bus === 'ide' ? 'hd' : bus === 'virtio' ? 'vd' : bus === 'fdc' ? 'fd' : 'sd';
    disks.push(driveToDisk(p, bus, media, diskNameFromIndex(prefix, index), o.span));
  }
}

function legacyIndex(p: Props, bus: DiskBus, disks: readonly Disk[]): number {
  const b = propNum(p, 'bus');
  const u = propNum(p, 'unit');
  if (bus === 'ide' && (b !== undefined || u !== undefined)) return (b ?? 0) * 2 + (u ?? 0);
  if (u !== undefined) return u;
  // the next free index on this bus, as QEMU allocates
  const used = new Set(disks.filter((d) => d.target.bus === bus).map((d) => diskIndex(d.target.dev)));
  let i = 0;
  while (used.has(i)) i++;
  return i;
}

function driveToDisk(p: Props, bus: DiskBus, media: Disk['device'], dev: string, span: Disk['$span']): Disk {
  const file = propStr(p, 'file') ?? '';
  const format = propStr(p, 'format');
  const cache = propStr(p, 'cache');
  const readonly = propBool(p, 'readonly');
  return {
    source: sourceFromPath(file),
    device: media,
    ...(format || cache ? { driver: { name: 'qemu', ...(format ? { type: format } : {}), ...(cache ? { cache: cache as NonNullable<Disk['driver']>['cache'] } : {}) } } : {}),
    target: { dev, bus },
    ...(readonly || media === 'cdrom' ? { readonly: true } : {}),
    ...(propStr(p, 'serial') ? { serial: propStr(p, 'serial') } : {}),
    extra: [],
    ...(span ? { $span: span } : {}),
  };
}

/** -drive if=none,id=X paired with -device …,drive=X */
function readDriveWithDevice(r: ArgvReader, span: Disk['$span'], p: Props): void {
  const id = propStr(p, 'id') ?? '';
  const dev = r.deviceWith('drive', id);
  const disks = r.draft.devices.disks;
  if (!dev) {
    r.diag.warn('UnmappedOption', { option: '-drive', detail: `id=${id} (no -device uses it)` }, span);
    return;
  }
  r.claim(dev.opt);
  const driver = dev.driver;
  const bus: DiskBus = driver.startsWith('ide-') ? 'ide' : driver.startsWith('scsi-') ? 'scsi' : driver.startsWith('virtio-blk') ? 'virtio' : driver === 'usb-storage' ? 'usb' : driver === 'floppy' ? 'fdc' : 'ide';
  const media = driver.endsWith('-cd') || propStr(p, 'media') === 'cdrom' ? 'cdrom' : driver === 'floppy' ? 'floppy' : 'disk';
  const prefix = bus === 'ide' ? 'hd' : bus === 'virtio' ? 'vd' : bus === 'fdc' ? 'fd' : 'sd';
  const ideBus = /^ide\.(\d+)$/.exec(propStr(dev.props, 'bus') ?? '');
  const unit = propNum(dev.props, 'unit') ?? 0;
  const used = new Set(disks.filter((d) => d.target.bus === bus).map((d) => diskIndex(d.target.dev)));
  let index = bus === 'ide' && ideBus ? Number(ideBus[1]) * 2 + unit : 0;
  if (!(bus === 'ide' && ideBus)) while (used.has(index)) index++;
  const disk = driveToDisk(p, bus, media, diskNameFromIndex(prefix, index), span);
  const bootindex = propNum(dev.props, 'bootindex');
  disks.push(bootindex !== undefined ? { ...disk, bootOrder: bootindex } : disk);
}
