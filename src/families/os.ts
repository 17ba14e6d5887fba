// The <os> element: guest arch and machine, firmware, direct kernel boot, boot order and menu.
// argv: -machine/-M, -accel/-enable-kvm, -boot, -kernel/-initrd/-append/-dtb, -bios.
import { readSmbiosModeXml } from './sysinfo.js';
import type { ArgvReader } from '../ir/argv-reader.js';
import { optProps, optText } from '../ir/argv-reader.js';
import type { BootDevice, Os } from '../ir/domain.js';
import { has, resolveMachineAlias } from '../qemu/caps.js';
import { hasHmat, machineMemoryProps, ramBackendId } from './memory.js';
import { propBool, propNum, propStr, props, type PropValue, type Props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { featureElement, stateOf } from './features.js';
import { networkStorageProps, readNetworkSourceXml, readNetworkStorageNode, writeNetworkSourceXml } from './disk.js';
import { child, children, el, textEl, type XmlElement } from '../xml/tree.js';
import { boolAttr, checkEnum, enumAttr, intAttr, reqAttr, sizeKiB, yesNo } from '../xml/values.js';
import { fail } from '../errors.js';
import { isArmVirt } from '../ir/defaults.js';

const BOOT_DEVS = ['hd', 'cdrom', 'fd', 'network'] as const;
const KNOWN = new Set(['type', 'firmware', 'loader', 'nvram', 'kernel', 'initrd', 'cmdline', 'dtb', 'boot', 'bootmenu', 'smbios', 'bios']);

// --- XML -> IR ---------------------------------------------------------------------------------

export function readOsXml(e: XmlElement): Os {
  const type = child(e, 'type');
  const loader = child(e, 'loader');
  const nvram = child(e, 'nvram');
  const bootmenu = child(e, 'bootmenu');
  const bios = child(e, 'bios');
  const text = (n: string) => child(e, n)?.text.trim();
  const firmware = enumAttr(e, 'firmware', ['bios', 'efi'] as const);
  const fwFeatures = child(e, 'firmware');
  const smbios = readSmbiosModeXml(e);
  return {
    type: 'hvm',
    ...(type?.attrs.arch ? { arch: type.attrs.arch } : {}),
    ...(type?.attrs.machine ? { machine: type.attrs.machine } : {}),
    ...(firmware ? { firmware } : {}),
    ...(fwFeatures ? { firmwareFeatures: readFirmwareFeaturesXml(fwFeatures) } : {}),
    ...(loader
      ? {
          loader: {
            path: loader.text.trim(),
            ...(loader.attrs.readonly ? { readonly: boolAttr(loader, 'readonly') } : {}),
            ...(loader.attrs.type ? { type: enumAttr(loader, 'type', ['rom', 'pflash'] as const) } : {}),
            ...(loader.attrs.secure ? { secure: boolAttr(loader, 'secure') } : {}),
            ...(loader.attrs.stateless ? { stateless: boolAttr(loader, 'stateless') } : {}),
          },
        }
      : {}),
    ...(nvram ? { nvram: readNvramXml(nvram) } : {}),
    ...(text('kernel') !== undefined ? { kernel: text('kernel') } : {}),
    ...(text('initrd') !== undefined ? { initrd: text('initrd') } : {}),
    ...(child(e, 'cmdline') ? { cmdline: child(e, 'cmdline')!.text } : {}),
    ...(text('dtb') !== undefined ? { dtb: text('dtb') } : {}),
    boot: children(e, 'boot').map((b) => checkEnum(b, 'boot dev', reqAttr(b, 'dev'), BOOT_DEVS)),
    ...(bootmenu
      ? { bootmenu: { enable: boolAttr(bootmenu, 'enable') ?? false, ...(intAttr(bootmenu, 'timeout') !== undefined ? { timeout: intAttr(bootmenu, 'timeout') } : {}) } }
      : {}),
    ...(smbios ? { smbios } : {}),
    ...(bios ? { bios: { useserial: boolAttr(bios, 'useserial'), rebootTimeout: intAttr(bios, 'rebootTimeout') } } : {}),
    extra: e.children.filter((c) => !KNOWN.has(c.name)),
    $span: e.span,
  };
}

/** <firmware><feature enabled='yes|no' name='secure-boot|enrolled-keys'/></firmware> */
function readFirmwareFeaturesXml(e: XmlElement): NonNullable<Os['firmwareFeatures']> {
  const out: { secureBoot?: boolean; enrolledKeys?: boolean } = {};
  for (const f of children(e, 'feature')) {
    const name = checkEnum(f, 'firmware feature name', reqAttr(f, 'name'), ['secure-boot', 'enrolled-keys'] as const);
    const enabled = boolAttr(f, 'enabled') ?? fail('XmlMissingAttribute', { attribute: 'enabled', element: 'feature' }, f.span);
    if (name === 'secure-boot') out.secureBoot = enabled;
    else out.enrolledKeys = enabled;
  }
  return out;
}

/** <nvram>PATH</nvram>, or <nvram type='network'><source protocol=…/></nvram> */
function readNvramXml(nvram: XmlElement): NonNullable<Os['nvram']> {
  const src = child(nvram, 'source');
  return {
    ...(nvram.attrs.type === 'network' && src ? { source: readNetworkSourceXml(src) } : nvram.text.trim() ? { path: nvram.text.trim() } : {}),
    ...(nvram.attrs.template ? { template: nvram.attrs.template } : {}),
  };
}

// --- IR -> XML ---------------------------------------------------------------------------------

export function writeOsXml(os: Os): XmlElement {
  const feats = os.firmwareFeatures;
  return el(
    'os',
    { firmware: os.firmware },
    el('type', { arch: os.arch, machine: os.machine }, os.type),
    feats && el('firmware', {},
      feats.enrolledKeys !== undefined && el('feature', { enabled: yesNo(feats.enrolledKeys), name: 'enrolled-keys' }),
      feats.secureBoot !== undefined && el('feature', { enabled: yesNo(feats.secureBoot), name: 'secure-boot' })),
    os.loader && el('loader', { readonly: yesNo(os.loader.readonly), secure: yesNo(os.loader.secure), type: os.loader.type, stateless: yesNo(os.loader.stateless) }, os.loader.path),
    os.nvram && (os.nvram.source
      ? el('nvram', { type: 'network', template: os.nvram.template }, writeNetworkSourceXml(os.nvram.source))
      : el('nvram', { template: os.nvram.template }, os.nvram.path ?? '')),
    textEl('kernel', os.kernel),
    textEl('initrd', os.initrd),
    textEl('cmdline', os.cmdline),
    textEl('dtb', os.dtb),
    os.boot.map((dev) => el('boot', { dev })),
    os.bootmenu && el('bootmenu', { enable: yesNo(os.bootmenu.enable), timeout: os.bootmenu.timeout }),
    os.smbios && el('smbios', { mode: os.smbios }),
    os.bios && el('bios', { useserial: yesNo(os.bios.useserial), rebootTimeout: os.bios.rebootTimeout }),
    os.extra,
  );
}

// --- IR -> argv --------------------------------------------------------------------------------

export function buildMachine(ctx: EmitContext): void {
  const { dom, caps, out } = ctx;
  const machine = resolveMachineAlias(dom.os.machine ?? 'pc', caps);
  if (dom.dumpCore !== undefined && !has(caps, 'machine.dump-guest-core')) {
    ctx.diag.warn('UnsupportedForTarget', { what: `<memory dumpCore='${dom.dumpCore ? 'on' : 'off'}'>`, target: 'QEMU before 1.2 (no -machine dump-guest-core)' }, dom.$span);
  }
  if (!has(caps, 'machine-opt')) {
    out.raw('-M', machine);
    // NB: -M takes the machine type only: the machine switches some <features> and <memoryBacking> become need -machine
    for (const name of ['vmport', 'smm', 'ioapic', 'gic']) {
      const f = featureElement(dom.features, name);
      if (f) ctx.diag.warn('UnsupportedForTarget', { what: `<${name}>`, target: 'QEMU without -machine' }, f.span);
    }
    if (machineMemoryProps(dom)['mem-merge']) ctx.diag.warn('UnsupportedForTarget', { what: '<memoryBacking><nosharepages/> (mem-merge=off)', target: 'QEMU without -machine' });
    if (dom.os.bios?.useserial) ctx.diag.warn('UnsupportedForTarget', { what: "<bios useserial='yes'> (graphics=off)", target: 'QEMU without -machine' });
    return;
  }
  const armVirt = isArmVirt(dom.os.arch ?? caps.arch, machine);
  const feats = dom.features;
  const smm = stateOf(featureElement(feats, 'smm'));
  const vmport = stateOf(featureElement(feats, 'vmport'));
  const ioapic = featureElement(feats, 'ioapic')?.attrs.driver;
  const hpet = dom.clock.timers.find((t) => t.name === 'hpet');
  const pflash = has(caps, 'blockdev') ? pflashNodes(ctx) : [];
  out.keyval('-machine', props({
    type: machine,
    // NB: -accel replaced -machine accel=; older libvirt put the accelerator here.
    accel: has(caps, 'accel') ? undefined : dom.type === 'kvm' ? 'kvm' : 'tcg',
    // NB: libvirt turns QEMU's own USB off whatever the machine (Arm boards included): its
    // controllers are the <controller type='usb'> ones
    usb: has(caps, 'machine.usb-off') ? 'off' : undefined,
    vmport: vmport === undefined ? undefined : vmport ? 'on' : 'off',
    // NB: a secure loader needs <smm state='on'>: the XML says so, or firmware autoselection added it
    smm: smm !== undefined ? (smm ? 'on' : 'off') : undefined,
    'gic-version': gicVersion(ctx, armVirt),
    kernel_irqchip: ioapic === 'qemu' ? 'split' : ioapic === 'kvm' ? 'on' : undefined,
    // NB: Arm's SMMUv3 is a virt machine property, after gic-version and before dump-guest-core
    // (buildIommu checks the machine)
    iommu: dom.devices.iommu?.model === 'smmuv3' ? 'smmuv3' : undefined,
    // <memory dumpCore> wins over qemu.conf's dump_guest_core, which is only the default
    'dump-guest-core': has(caps, 'machine.dump-guest-core') ? ((dom.dumpCore ?? ctx.conf.dumpGuestCore) ? 'on' : 'off') : undefined,
    ...machineMemoryProps(dom),
    // NUMA guests have a backend per node instead of one for all RAM
    'memory-backend': has(caps, 'memory-backend') && !dom.cpu?.numa?.length ? ramBackendId(ctx) : undefined,
    pflash0: pflash[0],
    pflash1: pflash[1],
    // NB: libvirt 9.0 puts hmat=on after the loader's pflash nodes
    hmat: hasHmat(dom) ? 'on' : undefined,
    hpet: hpet?.present !== undefined && has(caps, 'machine.hpet') ? (hpet.present ? 'on' : 'off') : undefined,
    // <bios useserial='yes'>: SeaBIOS prints to the serial port, which QEMU only does without a display
    graphics: dom.os.bios?.useserial ? 'off' : undefined,
  }));
  // NB: older QEMU's -no-hpet comes with the clock options (buildRtc)
  // NB: q35's TSEG size is a property of the MCH host bridge
  const tseg = featureElement(feats, 'smm')?.children.find((c) => c.name === 'tseg');
  if (tseg) out.raw('-global', `mch.extended-tseg-mbytes=${tsegMiB(tseg)}`);
}

/**
 * Arm virt's interrupt controller: libvirt names the version (the defaults chose one) where it
 * found QEMU's gic-version option, which it probes on aarch64 only; without it only the machine's
 * own GICv2 can be had.
 */
function gicVersion(ctx: EmitContext, armVirt: boolean): string | undefined {
  const gic = featureElement(ctx.dom.features, 'gic');
  const version = gic?.attrs.version;
  if (!armVirt || version === undefined) return undefined;
  if ((ctx.dom.os.arch ?? ctx.caps.arch) === 'aarch64') return version;
  if (version !== '2') fail('UnsupportedDevice', { what: `GIC version ${version} on this emulator (it has no gic-version option)` }, gic?.span);
  return undefined;
}

function tsegMiB(e: XmlElement): number {
  const n = Number(e.text.trim());
  const unit = (e.attrs.unit ?? 'MiB').toLowerCase();
  const scale: Record<string, number> = { b: 1 / 1048576, bytes: 1 / 1048576, k: 1 / 1024, kib: 1 / 1024, kb: 1000 / 1048576, m: 1, mib: 1, mb: 1e6 / 1048576, g: 1024, gib: 1024, gb: 1e9 / 1048576 };
  return Math.floor(n * (scale[unit] ?? 1));
}

/** The NVRAM file of a pflash loader: given, or NAME_VARS.fd in the NVRAM directory (stateless: none). */
function nvramPath(ctx: EmitContext): string | undefined {
  const { loader, nvram } = ctx.dom.os;
  if (!loader || loader.type !== 'pflash' || loader.stateless) return undefined;
  if (nvram?.path) return nvram.path;
  if (!loader.readonly && !nvram) return undefined;
  return `${ctx.conf.nvramDir}/${ctx.dom.name}_VARS.fd`;
}

/** NB: pflash blockdevs come before -machine, which refers to them as pflash0/pflash1. */
function pflashNodes(ctx: EmitContext): string[] {
  const loader = ctx.dom.os.loader;
  if (loader?.type !== 'pflash') return [];
  const images: Array<{ path: string; readOnly: boolean }> = [{ path: loader.path, readOnly: !!loader.readonly }];
  const netVars = loader.stateless ? undefined : ctx.dom.os.nvram?.source;
  const vars = netVars ? '' : nvramPath(ctx);
  if (vars !== undefined) images.push({ path: vars, readOnly: false });
  // NB: libvirt copies the template to the variable store on the first start; a command line run
  // by hand needs that file made first (domxml launch does it)
  const template = ctx.dom.os.nvram?.template;
  if (ctx.runnable && vars && template) ctx.diag.warn('NvramFromTemplate', { path: vars, template }, ctx.dom.os.$span);
  return images.map((img, i) => {
    const storage = `libvirt-pflash${i}-storage`;
    const format = `libvirt-pflash${i}-format`;
    // a network variable store: its protocol's storage node (secrets first), as a disk's
    const location = i === 1 && netVars ? networkStorageProps(ctx, netVars, storage, ctx.dom.os.$span) : { driver: 'file', filename: img.path };
    ctx.out.object('-blockdev', props({ ...location, 'node-name': storage, 'auto-read-only': true, discard: 'unmap' }));
    ctx.out.object('-blockdev', props({ 'node-name': format, 'read-only': img.readOnly, driver: 'raw', file: storage }));
    return format;
  });
}

export function buildAccel(ctx: EmitContext): void {
  const tcg = featureElement(ctx.dom.features, 'tcg');
  const tb = tcg?.children.find((c) => c.name === 'tb-cache');
  // <kvm><dirty-ring state='on' size/>: KVM's dirty page ring (libvirt's default size is 4096 entries)
  const ring = featureElement(ctx.dom.features, 'kvm')?.children.find((c) => c.name === 'dirty-ring');
  const ringSize = ctx.dom.type === 'kvm' && stateOf(ring) === true ? (intAttr(ring!, 'size') ?? 4096) : undefined;
  if (ringSize !== undefined && !has(ctx.caps, 'accel.dirty-ring')) ctx.diag.warn('UnsupportedForTarget', { what: '<kvm><dirty-ring>', target: 'QEMU before 6.1 (no -accel kvm,dirty-ring-size=)' }, ring!.span);
  if (has(ctx.caps, 'accel')) {
    ctx.out.keyval('-accel', props({
      accel: ctx.dom.type === 'kvm' ? 'kvm' : 'tcg',
      'tb-size': ctx.dom.type !== 'kvm' && tb ? Math.floor(sizeKiB(tb) / 1024) : undefined,
      'dirty-ring-size': has(ctx.caps, 'accel.dirty-ring') ? ringSize : undefined,
    }));
    return;
  }
  if (tb && ctx.dom.type !== 'kvm') ctx.diag.warn('UnsupportedForTarget', { what: '<tcg><tb-cache>', target: 'QEMU without -accel tcg,tb-size= (4.2)' }, tb.span);
  if (has(ctx.caps, 'kqemu') && ctx.dom.type === 'qemu') ctx.out.flag('-no-kqemu');
  // NB: before -machine accel= (QEMU 1.0) a KVM guest said so with -enable-kvm, or the line
  // would run under TCG (and read back as type='qemu')
  else if (!has(ctx.caps, 'machine-opt') && ctx.dom.type === 'kvm') ctx.out.flag('-enable-kvm');
}

const LEGACY_BOOT: Record<BootDevice, string> = { fd: 'a', hd: 'c', cdrom: 'd', network: 'n' };

/** -boot: per-device bootindex (emitted by each device) plus strict=on, or the legacy letters. */
export function buildBoot(ctx: EmitContext): void {
  const os = ctx.dom.os;
  const menu = os.bootmenu;
  if (has(ctx.caps, 'boot.strict')) {
    ctx.out.keyval('-boot', props({
      menu: menu ? (menu.enable ? 'on' : 'off') : undefined,
      'splash-time': menu?.enable && menu.timeout !== undefined ? menu.timeout : undefined,
      'reboot-timeout': os.bios?.rebootTimeout,
      strict: 'on',
    }));
    return;
  }
  // NB: the boot menu's splash time and the BIOS reboot timeout came with -boot strict= (1.5)
  if (menu?.enable && menu.timeout !== undefined) ctx.diag.warn('UnsupportedForTarget', { what: '<bootmenu timeout>', target: `QEMU ${ctx.caps.version.join('.')} (-boot splash-time=)` });
  if (os.bios?.rebootTimeout !== undefined) ctx.diag.warn('UnsupportedForTarget', { what: '<bios rebootTimeout>', target: `QEMU ${ctx.caps.version.join('.')} (-boot reboot-timeout=)` });
  const order = (os.boot.length ? os.boot : ['hd' as const]).map((d) => LEGACY_BOOT[d]).join('');
  ctx.out.raw('-boot', menu ? `order=${order},menu=${menu.enable ? 'on' : 'off'}` : order);
}

export function buildKernel(ctx: EmitContext): void {
  const os = ctx.dom.os;
  if (os.kernel !== undefined) ctx.out.raw('-kernel', os.kernel);
  if (os.initrd !== undefined) ctx.out.raw('-initrd', os.initrd);
  if (os.cmdline !== undefined) ctx.out.raw('-append', os.cmdline);
  if (os.dtb !== undefined) ctx.out.raw('-dtb', os.dtb);
}

/** The firmware after -cpu: -bios, or a pflash loader's flash protection (and, before -blockdev, its -drive). */
export function buildBios(ctx: EmitContext): void {
  const l = ctx.dom.os.loader;
  if (l && l.type !== 'pflash') ctx.out.raw('-bios', l.path);
  // NB: firmware built for SMM has its flash writable from SMM only (before its -drive, if any)
  if (l?.type === 'pflash' && l.secure) ctx.out.raw('-global', 'driver=cfi.pflash01,property=secure,value=on');
  if (l?.type === 'pflash' && !has(ctx.caps, 'blockdev')) {
    ctx.out.keyval('-drive', props({ file: l.path, if: 'pflash', format: 'raw', unit: 0, readonly: l.readonly ? 'on' : undefined }));
    const vars = nvramPath(ctx);
    // NB: a network variable store is a -blockdev node (libvirt 8.5 on): a -drive names a local file only
    const net = ctx.dom.os.nvram?.source;
    if (net) ctx.diag.warn('UnsupportedForTarget', { what: `<nvram type='network'> (${net.protocol})`, target: '-drive if=pflash (QEMU without -blockdev)' });
    else if (vars) ctx.out.keyval('-drive', props({ file: vars, if: 'pflash', format: 'raw', unit: 1 }));
  }
}

// --- argv -> IR --------------------------------------------------------------------------------

const LETTER_BOOT: Record<string, BootDevice> = { a: 'fd', b: 'fd', c: 'hd', d: 'cdrom', n: 'network', o: 'network', p: 'network' };

/** Arch from the emulator name: qemu-system-ARCH; plain qemu/kvm meant i686/x86_64. */
export function archFromEmulator(emulator: string): string {
  const base = emulator.split('/').pop() ?? emulator;
  const m = /qemu-system-([a-z0-9_]+)/.exec(base);
  if (m) return m[1] === 'i386' ? 'i686' : m[1]!;
  if (/^(qemu-kvm|kvm)$/.test(base)) return 'x86_64';
  return 'i686';
}

/**
 * -machine pflashN=NODE: the firmware (0) or its variable store (1) as a -blockdev format node
 * over a file node; both nodes are claimed here. False when the nodes are no image libvirt
 * describes: they stay unclaimed (kept verbatim), and so does the key.
 */
function readPflashNode(r: ArgvReader, key: 'pflash0' | 'pflash1', node: string): boolean {
  const byName = (name: string) => r.cmd.options.find((o) => o.name === '-blockdev' && !r.isClaimed(o) && propStr(optProps(o), 'node-name') === name);
  const format = byName(node);
  const storage = format ? byName(propStr(optProps(format), 'file') ?? '') : undefined;
  const file = storage ?? format;
  const path = file ? propStr(optProps(file), 'filename') : undefined;
  // a variable store on a network protocol: <nvram type='network'>
  const net = key === 'pflash1' && storage && path === undefined ? readNetworkStorageNode(r, storage) : undefined;
  // NB: libvirt 9.0's flash images are raw, and only the firmware (<loader readonly>) is read-only
  const settleFormat = (f: NonNullable<typeof format>) => {
    r.expect(f, 'driver', 'raw');
    if (key === 'pflash1') r.expect(f, 'read-only', false);
  };
  if (format && net) {
    r.claim(format);
    r.claim(storage!);
    settleFormat(format);
    r.draft.os.nvram = { source: net };
    return true;
  }
  // NB: a node no -blockdev defines would stop QEMU: not kept
  if (!format) {
    r.diag.warn('IgnoredProperty', { option: '-machine', property: `${key}=${node}` }, undefined);
    return true;
  }
  if (path === undefined) return false;
  r.claim(format);
  if (storage) r.claim(storage);
  // a lone file node (no format layer) is the image itself
  if (storage) settleFormat(format);
  else r.settle(format, 'driver', 'read-only');
  // NB: the storage node's driver, discard and read-only flags are what libvirt always gives a flash image
  if (storage) r.settle(storage, 'driver', 'auto-read-only', 'discard');
  const d = r.draft;
  if (key === 'pflash0') d.os.loader = { path, readonly: propBool(optProps(format), 'read-only') === true, type: 'pflash' };
  else d.os.nvram = { path };
  return true;
}

/**
 * One -machine key with an XML home, into the draft; false for any other key or value (left to
 * keepUnreadProps). type= and accel= are read with the machine; memory-backend=, nvdimm= and hmat=
 * by the memory family.
 */
function readMachineKey(r: ArgvReader, k: string, p: Props, ciphers: XmlElement[], span: XmlElement['span']): boolean {
  const d = r.draft;
  const on = propBool(p, k);
  const text = propStr(p, k);
  // s390 key wrapping: <keywrap><cipher name='aes|dea' state/></keywrap>
  const wrap = /^(aes|dea)-key-wrap$/.exec(k);
  if (wrap && on !== undefined) ciphers.push(el('cipher', { name: wrap[1], state: on ? 'on' : 'off' }));
  else if (k === 'pflash0' || k === 'pflash1') return readPflashNode(r, k, text ?? '');
  // machine switches libvirt keeps as <features>: <smm state/>, <vmport state/>; auto is QEMU's
  // default, which no element says
  else if ((k === 'smm' || k === 'vmport') && on !== undefined) d.features.push({ kind: 'other', element: el(k, { state: on ? 'on' : 'off' }) });
  else if ((k === 'smm' || k === 'vmport') && text === 'auto') return true;
  // <ioapic driver='qemu'/> splits the irqchip (what an IOMMU's interrupt remapping needs)
  else if (k === 'kernel_irqchip' && (text === 'split' || on === true)) d.features.push({ kind: 'other', element: el('ioapic', { driver: text === 'split' ? 'qemu' : 'kvm' }) });
  // <timer name='hpet' present/> (QEMU 8.0 and later; -no-hpet before)
  else if (k === 'hpet' && on !== undefined) d.clock.timers = [...d.clock.timers.filter((t) => t.name !== 'hpet'), { name: 'hpet', present: on }];
  // <memoryBacking><nosharepages/> turns KSM off for the guest; on is QEMU's default
  else if (k === 'mem-merge' && on === false) d.memoryBacking = { ...(d.memoryBacking ?? {}), nosharepages: true };
  else if (k === 'mem-merge' && on === true) return true;
  // <gic version/>: Arm virt's interrupt controller is a machine property
  else if (k === 'gic-version' && text) d.features.push({ kind: 'other', element: el('gic', { version: text }) });
  // NB: libvirt's own for every domain (its USB controllers are <controller>s; qemu.conf's
  // dump_guest_core is off by default): read even when the trial to-native cannot say so; another
  // value has no XML home here and is kept
  else if ((k === 'usb' || k === 'dump-guest-core') && on === false) return true;
  // <memory dumpCore='on'>: off is qemu.conf's default, so only on needs saying
  else if (k === 'dump-guest-core' && on === true) d.dumpCore = true;
  // <bios useserial='yes'> (see buildMachine)
  else if (k === 'graphics' && on === false) d.os.bios = { ...d.os.bios, useserial: true };
  // NB: acpi=on|off (QEMU 8.0's spelling of -no-acpi, which libvirt 9.1 prints) is <acpi/> or its
  // absence: read with the features
  else if (k === 'acpi' && on !== undefined) return true;
  // <iommu model='smmuv3'/>: Arm virt's IOMMU is a machine property, not a -device
  else if (k === 'iommu' && text === 'smmuv3') d.devices.iommu = { model: 'smmuv3', extra: [], ...(span ? { $span: span } : {}) };
  else return false;
  return true;
}

export function readOsArgv(r: ArgvReader): void {
  const d = r.draft;
  d.os.arch = archFromEmulator(r.cmd.emulator);
  // NB: an emulator named for KVM (qemu-kvm, kvm) runs KVM guests without being told
  if ((r.cmd.emulator.split('/').pop() ?? '').includes('kvm')) d.type = 'kvm';
  const ciphers: XmlElement[] = [];
  for (const m of r.take('-M', '-machine')) {
    const p = optProps(m);
    let type = propStr(p, 'type');
    // NB: Proxmox versions its patched machine types as pc-i440fx-8.1+pve0; libvirt's machine
    // names cannot hold '+', and the upstream type is the one to ask libvirt's QEMU for
    const pve = type && /^([a-zA-Z0-9_.-]+)\+pve\d+$/.exec(type);
    if (pve) {
      r.diag.warn('MachineRenamed', { written: type!, machine: pve[1]!, why: "Proxmox's version suffix: libvirt's machine names have no '+'" }, m.valueSpan);
      type = pve[1];
    }
    if (type) d.os.machine = type;
    const accel = propStr(p, 'accel');
    if (accel) d.type = accel.split(':')[0] === 'kvm' ? 'kvm' : 'qemu';
    // NB: QEMU merges repeated -machine options into one dict, so a key without an XML home is
    // left unread and kept as a second -machine in <qemu:commandline> (keepUnreadProps): each value
    // is peeked at past the watch (which traps get/has only) and settled only where it is mapped
    const raw: Props = Object.fromEntries(Object.keys(p).map((k) => [k, Object.getOwnPropertyDescriptor(p, k)?.value as PropValue]));
    for (const k of Object.keys(raw)) {
      if (readMachineKey(r, k, raw, ciphers, m.valueSpan ?? m.span)) r.settle(m, k);
    }
  }
  if (ciphers.length) d.extra.push(el('keywrap', {}, ciphers));
  for (const a of r.take('-accel')) {
    const p = optProps(a);
    d.type = propStr(p, 'accel') === 'kvm' ? 'kvm' : d.type;
    // <features><tcg><tb-cache>: TCG's translation cache in MiB (buildAccel); libvirt keeps it in KiB
    const tb = propNum(p, 'tb-size');
    if (tb !== undefined) {
      d.features = [...d.features.filter((f) => !(f.kind === 'other' && f.element.name === 'tcg')), { kind: 'other', element: el('tcg', {}, el('tb-cache', { unit: 'KiB' }, String(tb * 1024))) }];
    }
  }
  if (r.take('-enable-kvm').length) d.type = 'kvm';
  if (r.take('-no-kvm').length) d.type = 'qemu';
  r.take('-no-kqemu', '-kernel-kqemu');
  // NB: QEMU merges repeated -boot options (a key libvirt has no place for may follow in a second one)
  const p = r.takeMerged('-boot');
  if (p) {
    // NB: strict=on is what libvirt always asks for with per-device boot indexes: read, it is settled
    void p['strict'];
    const order = propStr(p, 'order') ?? propStr(p, 'once');
    if (order) {
      const devs: BootDevice[] = [];
      for (const ch of order) {
        const dev = LETTER_BOOT[ch];
        if (dev && !devs.includes(dev)) devs.push(dev);
      }
      d.os.boot = devs;
    }
    const menu = propBool(p, 'menu');
    if (menu !== undefined) {
      const t = propNum(p, 'splash-time');
      d.os.bootmenu = { enable: menu, ...(t !== undefined ? { timeout: t } : {}) };
    }
    const rt = propNum(p, 'reboot-timeout');
    if (rt !== undefined) d.os.bios = { ...(d.os.bios ?? {}), rebootTimeout: rt };
  }
  const one = (name: string) => {
    const o = r.takeLast(name);
    return o ? optText(o) : undefined;
  };
  const kernel = one('-kernel');
  const initrd = one('-initrd');
  const cmdline = one('-append');
  const dtb = one('-dtb');
  const bios = one('-bios');
  if (kernel !== undefined) d.os.kernel = kernel;
  if (initrd !== undefined) d.os.initrd = initrd;
  if (cmdline !== undefined) d.os.cmdline = cmdline;
  if (dtb !== undefined) d.os.dtb = dtb;
  if (bios !== undefined) d.os.loader = { path: bios };
}

/** -global cfi.pflash01 secure=on: the flash is writable from SMM only, <loader secure='yes'>. */
export function readLoaderSecureArgv(r: ArgvReader): void {
  const loader = r.draft.os.loader;
  for (const g of r.take('-global')) {
    const secure = /^(?:driver=cfi\.pflash01,property=secure,value=|cfi\.pflash01\.secure=)(on|true|yes)$/.test(optText(g));
    if (secure && loader?.type === 'pflash') r.draft.os.loader = { ...loader, secure: true };
    else r.unclaim(g);
  }
}
