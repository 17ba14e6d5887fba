// <video>: vga/cirrus/vmvga/qxl/virtio/bochs/ramfb/none. argv: -device VGA/cirrus-vga/qxl-vga/qxl/
// virtio-vga/virtio-gpu-pci/bochs-display/ramfb/…; legacy -vga std|cirrus|vmware|qxl|none.
import type { ArgvReader } from '../ir/argv-reader.js';
import { optText } from '../ir/argv-reader.js';
import type { Video, VideoModel } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import { propBool, propNum, props, type PropValue } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { fail } from '../errors.js';
import { child, el, type XmlElement } from '../xml/tree.js';
import { boolAttr, checkEnum, intAttr, yesNo } from '../xml/values.js';
import { pciAddressFromProps, pciPlacement, readAddressXml, writeAddressXml } from './address.js';

const MODELS = ['default', 'vga', 'cirrus', 'vmvga', 'xen', 'vbox', 'qxl', 'parallels', 'virtio', 'gop', 'none', 'bochs', 'ramfb'] as const;
const KNOWN = new Set(['model', 'driver', 'alias', 'address', 'acpi']);

export function readVideoXml(e: XmlElement): Video {
  const m = child(e, 'model');
  const accel = m && child(m, 'acceleration');
  const res = m && child(m, 'resolution');
  const address = child(e, 'address');
  const alias = child(e, 'alias');
  const driver = child(e, 'driver');
  const acpi = child(e, 'acpi');
  const n = (k: string) => (m ? intAttr(m, k) : undefined);
  const o = <T>(k: string, v: T | undefined) => (v === undefined ? {} : { [k]: v });
  return {
    // NB: libvirt picks the model for 'default' (or none given) when it defines the guest
    model: m?.attrs.type !== undefined ? checkEnum(m, 'video model type', m.attrs.type, MODELS) : 'default',
    ...o('vram', n('vram')),
    ...o('ram', n('ram')),
    ...o('vgamem', n('vgamem')),
    ...o('vram64', n('vram64')),
    ...o('heads', n('heads')),
    ...o('primary', m ? boolAttr(m, 'primary') : undefined),
    ...o('accel3d', accel ? boolAttr(accel, 'accel3d') : undefined),
    ...o('accel2d', accel ? boolAttr(accel, 'accel2d') : undefined),
    ...o('rendernode', accel?.attrs.rendernode),
    ...(res ? { resolution: { x: intAttr(res, 'x') ?? 0, y: intAttr(res, 'y') ?? 0 } } : {}),
    ...(driver ? { driver: driver.attrs } : {}),
    ...o('acpiIndex', acpi ? intAttr(acpi, 'index') : undefined),
    ...(alias?.attrs.name ? { alias: alias.attrs.name } : {}),
    ...(address ? { address: readAddressXml(address) } : {}),
    extra: e.children.filter((c) => !KNOWN.has(c.name)),
    $span: e.span,
  };
}

export function writeVideoXml(v: Video): XmlElement {
  const accel = v.accel3d !== undefined || v.accel2d !== undefined || v.rendernode !== undefined;
  return el(
    'video',
    {},
    v.driver && el('driver', v.driver),
    el(
      'model',
      { type: v.model, ram: v.ram, vram: v.vram, vram64: v.vram64, vgamem: v.vgamem, heads: v.heads, primary: v.primary ? 'yes' : undefined },
      accel && el('acceleration', { accel3d: yesNo(v.accel3d), accel2d: yesNo(v.accel2d), rendernode: v.rendernode }),
      v.resolution && el('resolution', { x: v.resolution.x, y: v.resolution.y }),
    ),
    v.extra,
    v.alias !== undefined && el('alias', { name: v.alias }),
    v.acpiIndex !== undefined && el('acpi', { index: v.acpiIndex }),
    writeAddressXml(v.address),
  );
}

/** KiB of video RAM libvirt gives each model by default (virDomainVideoDefaultRAM). */
function defaultVram(model: VideoModel): number {
  switch (model) {
    case 'vga':
    case 'cirrus':
    case 'vmvga':
    case 'bochs':
      return 16 * 1024;
    case 'xen':
      return 4 * 1024;
    case 'qxl':
      // QEMU's qxl defaults are 64 MiB for both BARs
      return 64 * 1024;
    default:
      return 0;
  }
}

/**
 * libvirt's define-time video defaults: a model for <video> without one (cirrus on x86, as
 * libvirt 9.0 still picks it), the primary card first, vram/heads, and qxl's ram/vgamem.
 * Also the implicit video card a guest with graphics gets when it has none.
 */
export function withVideoDefaults(videos: readonly Video[], hasGraphics: boolean, x86: boolean): Video[] {
  const fallback: VideoModel = x86 ? 'cirrus' : 'virtio';
  let list: Video[] = videos.map((v) => (v.model === 'default' ? { ...v, model: fallback } : v));
  if (!list.length && hasGraphics) list = [{ model: fallback, extra: [] }];
  // NB: libvirt moves the card marked primary to the front; the first one is primary otherwise
  const p = list.findIndex((v) => v.primary);
  if (p > 0) list = [list[p]!, ...list.slice(0, p), ...list.slice(p + 1)];
  return list.map((v, i) => {
    if (v.model === 'none') return v;
    const vram = v.vram ?? (defaultVram(v.model) || undefined);
    const qxl = v.model === 'qxl';
    return {
      ...v,
      ...(vram !== undefined ? { vram } : {}),
      ...(qxl ? { ram: v.ram ?? 64 * 1024, vgamem: v.vgamem ?? 16 * 1024 } : {}),
      heads: v.heads ?? 1,
      ...(i === 0 ? { primary: true } : {}),
    };
  });
}

/**
 * The -device driver: the primary card gets the model with VGA compatibility (where the emulator
 * has it: qemu-system-aarch64/arm build no virtio-vga, so libvirt falls back to virtio-gpu-pci).
 */
function videoDriver(v: Video, primary: boolean, virtioVga: boolean): string {
  const gl = v.accel3d === true;
  if (isVhostUser(v)) return primary ? 'vhost-user-vga' : 'vhost-user-gpu-pci';
  if (primary) {
    switch (v.model) {
      case 'vga': return 'VGA';
      case 'cirrus': return 'cirrus-vga';
      case 'vmvga': return 'vmware-svga';
      case 'qxl': return 'qxl-vga';
      case 'virtio':
        if (!virtioVga) return gl ? 'virtio-gpu-gl-pci' : 'virtio-gpu-pci';
        return gl ? 'virtio-vga-gl' : 'virtio-vga';
      case 'bochs': return 'bochs-display';
      case 'ramfb': return 'ramfb';
      default: break;
    }
  } else if (v.model === 'qxl') return 'qxl';
  else if (v.model === 'virtio') return gl ? 'virtio-gpu-gl-pci' : 'virtio-gpu-pci';
  return fail('UnsupportedDevice', { what: `video model '${v.model}'${primary ? '' : ' as a secondary card'}` }, v.$span);
}

/** <driver name='vhostuser'>: the GPU runs in a vhost-user-gpu helper that libvirt starts. */
const isVhostUser = (v: Video) => v.model === 'virtio' && v.driver?.name === 'vhostuser';

/** libvirt hands QEMU the helper's socket as a pre-opened fd; these stand for them. */
const FIRST_VHOST_USER_GPU_FD = 60;

const LEGACY_VGA: Partial<Record<VideoModel, string>> = { vga: 'std', cirrus: 'cirrus', vmvga: 'vmware', qxl: 'qxl', xen: 'xenfb', none: 'none' };

export function buildVideos(ctx: EmitContext): void {
  const videos = ctx.dom.devices.videos;
  if (!has(ctx.caps, 'device')) {
    const v = videos[0];
    const vga = v && LEGACY_VGA[v.model];
    if (vga) ctx.out.raw('-vga', vga);
    else if (v) ctx.diag.warn('UnsupportedForTarget', { what: `video model '${v.model}'`, target: 'QEMU without -device' }, v.$span);
    // NB: -vga names the one display adapter's model: its sizes, heads, ACPI index and any
    // secondary adapter need -device
    const lost = v && vga ? [
      (v.vram64 !== undefined || v.ram !== undefined || (v.heads ?? 1) !== 1) && 'ram/vram64/heads',
      (v.accel3d !== undefined || v.accel2d !== undefined) && '<acceleration>',
      v.acpiIndex !== undefined && '<acpi index>',
      v.alias !== undefined && '<alias>',
    ].filter((x): x is string => !!x) : [];
    if (lost.length) ctx.diag.warn('UnsupportedForTarget', { what: `${lost.join(', ')} of <video model='${v!.model}'>`, target: 'QEMU without -device (-vga)' }, v!.$span);
    for (const extra of videos.slice(1)) ctx.diag.warn('UnsupportedForTarget', { what: `secondary <video model='${extra.model}'>`, target: 'QEMU without -device (-vga)' }, extra.$span);
    return;
  }
  videos.forEach((v, i) => {
    if (v.model === 'none') return;
    const arch = ctx.dom.os.arch ?? ctx.caps.arch;
    const driver = videoDriver(v, i === 0, !(arch === 'aarch64' || arch.startsWith('arm')));
    const virtio = v.model === 'virtio';
    const id = v.alias ?? `video${i}`;
    const chardev = isVhostUser(v) ? `chr-vu-${id}` : undefined;
    if (chardev) {
      if (ctx.runnable) ctx.diag.warn('UnsupportedForTarget', { what: 'vhost-user-gpu', target: 'a runnable command (start the vhost-user-gpu helper on the socket)' }, v.$span);
      ctx.out.keyval('-chardev', props({ backend: 'socket', id: chardev, ...(ctx.runnable ? { path: `${ctx.paths.stateDir}/${chardev}.sock` } : { fd: String(FIRST_VHOST_USER_GPU_FD + i) }) }));
    }
    const p: Record<string, PropValue | undefined> = { driver };
    // NB: libvirt 9.0 gives virtio-vga and the virtio(-gpu) -pci devices the virtio transport
    // options, but not a primary vhost-user-vga
    if (virtio && v.driver && !(i === 0 && chardev)) {
      const sw = (k: string) => (v.driver?.[k] === undefined ? undefined : v.driver[k] === 'on');
      p.iommu_platform = sw('iommu');
      p.ats = sw('ats');
      p.packed = sw('packed');
      p['page-per-vq'] = sw('page_per_vq');
    }
    p.id = id;
    if ((v.model === 'qxl' || virtio) && v.heads) p.max_outputs = v.heads;
    p.chardev = chardev;
    if (v.model === 'qxl') {
      // sizes in bytes, except the vram64/vgamem ones QEMU takes in MiB
      p.ram_size = v.ram ? v.ram * 1024 : undefined;
      p.vram_size = v.vram ? v.vram * 1024 : undefined;
      p.vram64_size_mb = Math.floor((v.vram64 ?? 0) / 1024);
      p.vgamem_mb = v.vgamem ? Math.floor(v.vgamem / 1024) : undefined;
    } else if ((v.model === 'vga' || v.model === 'vmvga') && v.vram) {
      p.vgamem_mb = Math.floor(v.vram / 1024);
    } else if (v.model === 'bochs' && v.vram) {
      p.vgamem = v.vram * 1024;
    }
    if (v.resolution) {
      p.xres = v.resolution.x;
      p.yres = v.resolution.y;
    }
    Object.assign(p, pciPlacement(ctx.dom, v.address));
    p['acpi-index'] = v.acpiIndex;
    ctx.out.object('-device', props(p));
  });
}

// --- argv -> IR -------------------------------------------------------------------------------

const BY_DRIVER: Record<string, VideoModel> = {
  VGA: 'vga', 'cirrus-vga': 'cirrus', 'vmware-svga': 'vmvga', 'qxl-vga': 'qxl', qxl: 'qxl', 'virtio-vga': 'virtio', 'virtio-vga-gl': 'virtio',
  'virtio-gpu-pci': 'virtio', 'virtio-gpu-gl-pci': 'virtio', 'bochs-display': 'bochs', ramfb: 'ramfb',
};
const BY_VGA: Record<string, VideoModel> = { std: 'vga', cirrus: 'cirrus', vmware: 'vmvga', qxl: 'qxl', xenfb: 'xen', virtio: 'virtio', none: 'none' };

export function readVideoArgv(r: ArgvReader): void {
  const videos = r.draft.devices.videos;
  const vga = r.takeLast('-vga');
  if (vga) {
    const model = BY_VGA[optText(vga)];
    // NB: a card named by -vga is the guest's whether or not a display shows it (as with -device)
    if (!model) r.unclaim(vga);
    else if (model !== 'none') videos.push({ model, extra: [], $span: vga.span });
  }
  for (const dev of r.devices((drv) => drv in BY_DRIVER)) {
    r.claim(dev.opt);
    const model = BY_DRIVER[dev.driver]!;
    const kib = (k: string, scale: number) => {
      const n = propNum(dev.props, k);
      return n === undefined ? undefined : Math.floor((n * scale) / 1024);
    };
    const address = pciAddressFromProps(dev.props);
    const o = <T>(k: string, v: T | undefined) => (v === undefined ? {} : { [k]: v });
    const heads = propNum(dev.props, 'max_outputs');
    const [xres, yres] = [propNum(dev.props, 'xres'), propNum(dev.props, 'yres')];
    // NB: the virtio transport options of a virtio GPU (see buildVideos) are its <driver>'s
    const DRIVER_ATTR = { iommu_platform: 'iommu', ats: 'ats', packed: 'packed', 'page-per-vq': 'page_per_vq' } as const;
    const driver = Object.fromEntries(
      (Object.keys(DRIVER_ATTR) as (keyof typeof DRIVER_ATTR)[]).flatMap((k) => {
        const v = model === 'virtio' ? propBool(dev.props, k) : undefined;
        return v === undefined ? [] : [[DRIVER_ATTR[k], v ? 'on' : 'off']];
      }),
    );
    videos.push({
      model,
      ...(model === 'qxl' ? { ...o('ram', kib('ram_size', 1)), ...o('vram', kib('vram_size', 1)), ...o('vram64', kib('vram64_size_mb', 1024 * 1024) || undefined), ...o('vgamem', kib('vgamem_mb', 1024 * 1024)) } : {}),
      ...(model === 'vga' || model === 'vmvga' ? o('vram', kib('vgamem_mb', 1024 * 1024)) : {}),
      ...(model === 'bochs' ? o('vram', kib('vgamem', 1)) : {}),
      ...o('heads', heads),
      ...(dev.driver.includes('-gl') ? { accel3d: true } : {}),
      // <resolution> needs both sizes (libvirt requires x and y)
      ...(xres !== undefined && yres !== undefined ? { resolution: { x: xres, y: yres } } : {}),
      ...(Object.keys(driver).length ? { driver } : {}),
      ...o('acpiIndex', propNum(dev.props, 'acpi-index')),
      ...(address ? { address } : {}),
      extra: [],
      $span: dev.opt.span,
    });
  }
  // NB: "-vga none", or -nodefaults with no card (what libvirt prints for <model type='none'/>), is
  // a guest without a card. Without graphics libvirt adds none either; with graphics its define
  // would add its default card, so the guest says <model type='none'/> (a passed-through GPU, or
  // an mdev display).
  const noCard = vga ? BY_VGA[optText(vga)] === 'none' : r.has('-nodefaults');
  if (noCard && !videos.length && r.draft.devices.graphics.length) {
    videos.push({ model: 'none', extra: [], ...(vga ? { $span: vga.span } : {}) });
  }
}
