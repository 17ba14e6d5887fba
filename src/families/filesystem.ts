// <filesystem>: host directories shared with the guest. argv: -fsdev + -device virtio-9p-pci (9p),
// -chardev socket to virtiofsd + -device vhost-user-fs-pci (virtiofs).
import type { ArgvReader, DeviceOption } from '../ir/argv-reader.js';
import { optProps } from '../ir/argv-reader.js';
import type { Filesystem, FilesystemDriverType, VirtiofsBinary } from '../ir/domain.js';
import type { ParsedOption } from '../lexer/argv-parser.js';
import { has } from '../qemu/caps.js';
import { printKeyval, propBool, propNum, propStr, props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { child, el, type XmlElement } from '../xml/tree.js';
import { boolAttr, checkEnum, enumAttr, intAttr, onOff, parseIntValue } from '../xml/values.js';
import { fail } from '../errors.js';
import {
  acpiIndexFromProps, pciAddressFromProps, pciPlacementWithAcpi, readAcpiIndexXml, readAddressXml, readVirtioOptionsXml, virtioModelOf, virtioModelProps,
  virtioOptionsAttrs, virtioOptionsFromProps, virtioTransportProps, writeAcpiXml, writeAddressXml,
} from './address.js';

const TYPES = ['mount', 'block', 'file', 'template', 'ram', 'bind', 'volume'] as const;
const DRIVERS = ['path', 'handle', 'loop', 'nbd', 'ploop', 'virtiofs'] as const;
const ACCESS = ['passthrough', 'mapped', 'squash'] as const;
const MODELS = ['virtio', 'virtio-transitional', 'virtio-non-transitional'] as const;
const MULTIDEVS = ['default', 'remap', 'forbid', 'warn'] as const;
const SOURCE_ATTRS = ['dir', 'socket', 'dev', 'file', 'name', 'usage', 'units'] as const;
const KNOWN = new Set(['driver', 'binary', 'source', 'target', 'readonly', 'boot', 'alias', 'acpi', 'address']);
/** libvirt's prefix of the -fsdev id of a 9p filesystem (QEMU_FSDEV_HOST_PREFIX). */
const FSDEV_PREFIX = 'fsdev-';

// --- XML -----------------------------------------------------------------------------------

/** fmode/dmode are octal in XML ("644" and "0644" alike). */
function octalAttr(e: XmlElement, name: string): number | undefined {
  const v = e.attrs[name];
  if (v === undefined) return undefined;
  if (!/^[0-7]{1,4}$/.test(v.trim())) return fail('XmlBadValue', { what: `filesystem ${name}`, value: v, expected: 'an octal permission mode such as 0644' }, e.span);
  return parseInt(v.trim(), 8);
}

const octal = (n: number | undefined): string | undefined => (n === undefined ? undefined : n.toString(8).padStart(4, '0'));

function readBinaryXml(b: XmlElement | undefined): VirtiofsBinary | undefined {
  if (!b) return undefined;
  const cache = child(b, 'cache');
  const sandbox = child(b, 'sandbox');
  const lock = child(b, 'lock');
  const pool = child(b, 'thread_pool');
  const lockOpts = lock && { ...opt('posix', boolAttr(lock, 'posix')), ...opt('flock', boolAttr(lock, 'flock')) };
  return {
    ...opt('path', b.attrs.path),
    ...opt('xattr', boolAttr(b, 'xattr')),
    ...opt('cache', cache && enumAttr(cache, 'mode', ['none', 'always', 'auto'] as const)),
    ...opt('sandbox', sandbox && enumAttr(sandbox, 'mode', ['namespace', 'chroot'] as const)),
    ...opt('lock', lockOpts),
    ...opt('threadPoolSize', pool && intAttr(pool, 'size')),
  };
}

function opt<K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
}

export function readFilesystemXml(e: XmlElement): Filesystem {
  const drv = child(e, 'driver');
  const src = child(e, 'source');
  const target = child(e, 'target');
  const alias = child(e, 'alias');
  const address = child(e, 'address');
  const boot = child(e, 'boot');
  if (!target?.attrs.dir) return fail('XmlMissingElement', { element: "target dir='…'", parent: 'filesystem' }, e.span);
  const multidevs = enumAttr(e, 'multidevs', MULTIDEVS);
  const driver = drv && {
    ...opt('type', enumAttr(drv, 'type', DRIVERS)),
    ...opt('format', drv.attrs.format),
    ...opt('wrpolicy', enumAttr(drv, 'wrpolicy', ['immediate'] as const)),
    ...opt('queue', intAttr(drv, 'queue')),
    ...readVirtioOptionsXml(drv),
  };
  const source: Record<string, string | number> = {};
  for (const k of SOURCE_ATTRS) {
    const v = src?.attrs[k];
    if (v !== undefined) source[k] = k === 'usage' ? parseIntValue(src!, 'filesystem source usage', v) : v;
  }
  return {
    type: checkEnum(e, 'filesystem type', e.attrs.type ?? 'mount', TYPES),
    ...opt('accessmode', enumAttr(e, 'accessmode', ACCESS)),
    ...opt('model', enumAttr(e, 'model', MODELS)),
    ...(multidevs && multidevs !== 'default' ? { multidevs } : {}),
    ...opt('fmode', octalAttr(e, 'fmode')),
    ...opt('dmode', octalAttr(e, 'dmode')),
    ...(driver && Object.keys(driver).length ? { driver } : {}),
    ...opt('binary', readBinaryXml(child(e, 'binary'))),
    source,
    target: target.attrs.dir,
    ...(child(e, 'readonly') ? { readonly: true } : {}),
    ...opt('bootOrder', boot && intAttr(boot, 'order')),
    ...opt('bootLoadparm', boot?.attrs.loadparm),
    ...opt('alias', alias?.attrs.name),
    ...readAcpiIndexXml(e),
    ...(address ? { address: readAddressXml(address) } : {}),
    extra: e.children.filter((c) => !KNOWN.has(c.name)),
    $span: e.span,
  };
}

function writeBinaryXml(b: VirtiofsBinary | undefined): XmlElement | undefined {
  if (!b) return undefined;
  return el(
    'binary',
    { path: b.path, xattr: onOff(b.xattr) },
    b.cache !== undefined && el('cache', { mode: b.cache }),
    b.sandbox !== undefined && el('sandbox', { mode: b.sandbox }),
    b.lock !== undefined && el('lock', { posix: onOff(b.lock.posix), flock: onOff(b.lock.flock) }),
    b.threadPoolSize !== undefined && el('thread_pool', { size: b.threadPoolSize }),
  );
}

/** NB: libvirt's order: driver, binary, source, target, readonly, (space limits), boot, alias, address. */
export function writeFilesystemXml(f: Filesystem): XmlElement {
  const d = f.driver;
  const driverAttrs = d && { type: d.type, format: d.format, wrpolicy: d.wrpolicy, queue: d.queue, ...virtioOptionsAttrs(d) };
  return el(
    'filesystem',
    { type: f.type, accessmode: f.accessmode, model: f.model, multidevs: f.multidevs, fmode: octal(f.fmode), dmode: octal(f.dmode) },
    driverAttrs && el('driver', driverAttrs),
    writeBinaryXml(f.binary),
    Object.keys(f.source).length > 0 && el('source', { ...f.source }),
    el('target', { dir: f.target }),
    f.readonly && el('readonly'),
    f.extra,
    f.bootOrder !== undefined && el('boot', { order: f.bootOrder, loadparm: f.bootLoadparm }),
    f.alias !== undefined && el('alias', { name: f.alias }),
    writeAcpiXml(f.acpiIndex),
    writeAddressXml(f.address),
  );
}

// --- IR -> argv ------------------------------------------------------------------------------

/** The 9p drivers QEMU serves itself (the rest belong to other hypervisors). */
const is9p = (f: Filesystem) => f.driver?.type === undefined || f.driver.type === 'path' || f.driver.type === 'handle';

/** Where libvirt has virtiofsd listen when the XML names no socket (qemuDomainGetVHostUserFSSocketPath). */
function virtiofsSocket(ctx: EmitContext, alias: string): string {
  return `${ctx.paths.stateDir}/${alias}-fs.sock`;
}

/** NB: libvirt numbers filesystems fs0, fs1, … in document order, whatever their driver. */
function filesystemAlias(f: Filesystem, index: number): string {
  return f.alias ?? `fs${index}`;
}

/** The -fsdev QemuOpts of a 9p filesystem, in libvirt's order (qemuBuildFSStr). */
function fsdevProps(f: Filesystem, alias: string) {
  const local = f.driver?.type !== 'handle';
  const SECURITY = { passthrough: 'passthrough', mapped: 'mapped', squash: 'none' } as const;
  return props({
    fsdriver: local ? 'local' : 'handle',
    // NB: 9p shares default to passthrough (qemuDomainDeviceDefPostParse)
    security_model: local ? SECURITY[f.accessmode ?? 'passthrough'] : undefined,
    multidevs: local ? f.multidevs : undefined,
    fmode: local ? octal(f.fmode) : undefined,
    dmode: local ? octal(f.dmode) : undefined,
    writeout: f.driver?.wrpolicy,
    id: `${FSDEV_PREFIX}${alias}`,
    path: f.source.dir ?? '',
  });
}

export function buildFilesystems(ctx: EmitContext): void {
  ctx.dom.devices.filesystems.forEach((f, i) => {
    const alias = filesystemAlias(f, i);
    if (!has(ctx.caps, 'device')) {
      ctx.diag.warn('UnsupportedForTarget', { what: `<filesystem> ${f.target}`, target: 'QEMU without -device' }, f.$span);
      return;
    }
    if (f.type !== 'mount') {
      ctx.diag.warn('UnsupportedForTarget', { what: `<filesystem type='${f.type}'>`, target: 'QEMU (only type=mount is shared)' }, f.$span);
      return;
    }
    for (const e of f.extra) ctx.diag.warn('XmlUnsupportedElement', { element: e.name, detail: `of filesystem ${alias}` }, e.span);
    if (f.driver?.type === 'virtiofs') {
      const chardev = `chr-vu-${alias}`;
      const socket = f.source.socket ?? virtiofsSocket(ctx, alias);
      if (ctx.runnable && f.source.socket === undefined) {
        ctx.diag.warn('RunnableSubstitute', { what: `the virtiofsd sharing ${f.source.dir ?? 'the directory'}`, instead: `the socket ${socket}, where virtiofsd has to be started` }, f.$span);
      }
      ctx.out.keyval('-chardev', props({ backend: 'socket', id: chardev, path: socket }));
      ctx.out.object('-device', props({
        // NB: vhost-user-fs is virtio 1.0 only: QEMU has no (non-)transitional variant
        driver: 'vhost-user-fs-pci',
        ...virtioTransportProps(f.driver),
        id: alias,
        chardev,
        'queue-size': f.driver.queue,
        tag: f.target,
        bootindex: f.bootOrder,
        ...pciPlacementWithAcpi(ctx.dom, f),
      }));
      return;
    }
    if (!is9p(f)) {
      ctx.diag.warn('UnsupportedForTarget', { what: `<filesystem> driver type='${f.driver?.type}'`, target: 'QEMU' }, f.$span);
      return;
    }
    // NB: libvirt ends a read-only share with the bare QemuOpts flag "readonly" (=on)
    ctx.out.raw('-fsdev', printKeyval(fsdevProps(f, alias), 'fsdriver') + (f.readonly ? ',readonly' : ''));
    ctx.out.object('-device', props({
      ...virtioModelProps(ctx, 'virtio-9p-pci', f.model),
      ...virtioTransportProps(f.driver),
      id: alias,
      fsdev: `${FSDEV_PREFIX}${alias}`,
      mount_tag: f.target,
      ...pciPlacementWithAcpi(ctx.dom, f),
    }));
  });
}

// --- argv -> IR ------------------------------------------------------------------------------

const DEVICE = /^(virtio-9p|vhost-user-fs)-pci(-transitional|-non-transitional)?$/;

function addressOf(dev: DeviceOption): Pick<Filesystem, 'address' | 'acpiIndex'> {
  const address = pciAddressFromProps(dev.props, { multifunction: true });
  return address ? { address, ...acpiIndexFromProps(dev.props) } : {};
}

function userAlias(id: string | undefined): { alias?: string } {
  return id?.startsWith('ua-') ? { alias: id } : {};
}


const ACCESS_OF: Readonly<Record<string, Filesystem['accessmode']>> = { passthrough: 'passthrough', mapped: 'mapped', 'mapped-xattr': 'mapped', none: 'squash' };

/** The share a -fsdev (or -virtfs) describes: driver, security model, modes, path. */
function shareFromFsdev(r: ArgvReader, o: ParsedOption): Pick<Filesystem, 'accessmode' | 'multidevs' | 'fmode' | 'dmode' | 'driver' | 'source' | 'readonly'> {
  const p = optProps(o);
  const mode = (k: string) => {
    const v = propStr(p, k);
    return v !== undefined && /^[0-7]{1,4}$/.test(v) ? parseInt(v, 8) : undefined;
  };
  const multidevs = propStr(p, 'multidevs');
  const security = propStr(p, 'security_model');
  // NB: mapped-file has no XML spelling (libvirt's mapped is QEMU's mapped-xattr)
  if (security !== undefined && !ACCESS_OF[security]) r.diag.warn('IgnoredProperty', { option: o.name, property: `security_model=${security}` }, o.span);
  const wrpolicy = propStr(p, 'writeout') === 'immediate' ? ('immediate' as const) : undefined;
  const driver = { ...(propStr(p, 'fsdriver') === 'handle' ? { type: 'handle' as FilesystemDriverType } : {}), ...opt('wrpolicy', wrpolicy) };
  return {
    ...opt('accessmode', security === undefined ? undefined : ACCESS_OF[security]),
    ...(multidevs === 'remap' || multidevs === 'forbid' || multidevs === 'warn' ? { multidevs } : {}),
    ...opt('fmode', mode('fmode')),
    ...opt('dmode', mode('dmode')),
    ...(Object.keys(driver).length ? { driver } : {}),
    source: { dir: propStr(p, 'path') ?? '' },
    ...(propBool(p, 'readonly') ? { readonly: true } : {}),
  };
}

const isLocal9p = (o: ParsedOption) => ['local', 'handle'].includes(propStr(optProps(o), 'fsdriver') ?? '');

function read9p(r: ArgvReader, dev: DeviceOption): Filesystem | undefined {
  const fsdev = r.unclaimedWithId('-fsdev', propStr(dev.props, 'fsdev'));
  if (!fsdev || !isLocal9p(fsdev)) return undefined;
  r.claim(fsdev);
  const share = shareFromFsdev(r, fsdev);
  const driver = { ...share.driver, ...virtioOptionsFromProps(dev.props) };
  return {
    type: 'mount',
    ...share,
    ...virtioModelOf(dev.driver, dev.props),
    ...(Object.keys(driver).length ? { driver } : {}),
    target: propStr(dev.props, 'mount_tag') ?? '',
    ...userAlias(propStr(dev.props, 'id')),
    ...addressOf(dev),
    extra: [],
    $span: dev.opt.span,
  };
}

function readVirtiofs(r: ArgvReader, dev: DeviceOption): Filesystem | undefined {
  const chardev = r.unclaimedWithId('-chardev', propStr(dev.props, 'chardev'));
  const path = chardev && propStr(optProps(chardev), 'path');
  // virtiofsd listens on a unix socket: a chardev of another backend is no <source socket>
  if (!chardev || path === undefined || propStr(optProps(chardev), 'backend') !== 'socket') return undefined;
  r.claim(chardev);
  const id = propStr(dev.props, 'id') ?? '';
  // NB: a socket named after the device in the domain's state directory is the virtiofsd
  // libvirt starts itself; the directory it shares is on virtiofsd's command line, not QEMU's,
  // so the share reads back as a virtiofsd started outside libvirt, on that socket
  const own = new RegExp(`/domain-[^/]+/${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-fs\\.sock$`).test(path);
  if (own) r.diag.warn('HostSideUnknown', { option: '-chardev', what: `the directory virtiofsd shares through ${path}`, outcome: "read as <source socket> of a virtiofsd started outside libvirt" }, chardev.span);
  const queue = propNum(dev.props, 'queue-size');
  const boot = propNum(dev.props, 'bootindex');
  return {
    type: 'mount',
    driver: { type: 'virtiofs', ...opt('queue', queue), ...virtioOptionsFromProps(dev.props) },
    source: { socket: path },
    target: propStr(dev.props, 'tag') ?? '',
    ...opt('bootOrder', boot),
    ...userAlias(id),
    ...addressOf(dev),
    extra: [],
    $span: dev.opt.span,
  };
}

export function readFilesystemsArgv(r: ArgvReader): void {
  for (const dev of r.devices((drv) => DEVICE.test(drv))) {
    const f = dev.driver.startsWith('vhost-user-fs') ? readVirtiofs(r, dev) : read9p(r, dev);
    if (!f) continue;
    r.claim(dev.opt);
    r.draft.devices.filesystems.push(f);
  }
  // -virtfs: QEMU's shorthand for -fsdev plus a virtio-9p-pci on the next free slot
  for (const o of r.unclaimed()) {
    if (o.name !== '-virtfs' || !isLocal9p(o)) continue;
    r.claim(o);
    r.draft.devices.filesystems.push({ type: 'mount', ...shareFromFsdev(r, o), target: propStr(optProps(o), 'mount_tag') ?? '', extra: [], $span: o.span });
  }
}
