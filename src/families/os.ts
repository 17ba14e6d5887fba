// The <os> element: guest arch and machine, firmware, direct kernel boot, boot order and menu.
// argv: -machine/-M, -accel/-enable-kvm, -boot, -kernel/-initrd/-append/-dtb, -bios.
import type { ArgvReader } from '../ir/argv-reader.js';
import { optProps, optText } from '../ir/argv-reader.js';
import type { BootDevice, Os } from '../ir/domain.js';
import { has, resolveMachineAlias } from '../qemu/caps.js';
import { propBool, propNum, propStr, props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { child, children, el, textEl, type XmlElement } from '../xml/tree.js';
import { boolAttr, checkEnum, enumAttr, intAttr, reqAttr, yesNo } from '../xml/values.js';

const BOOT_DEVS = ['hd', 'cdrom', 'fd', 'network'] as const;
const KNOWN = new Set(['type', 'loader', 'nvram', 'kernel', 'initrd', 'cmdline', 'dtb', 'boot', 'bootmenu', 'bios']);

// --- XML -> IR ---------------------------------------------------------------------------------

export function readOsXml(e: XmlElement): Os {
  const type = child(e, 'type');
  const loader = child(e, 'loader');
  const nvram = child(e, 'nvram');
  const bootmenu = child(e, 'bootmenu');
  const bios = child(e, 'bios');
  const text = (n: string) => child(e, n)?.text.trim();
  return {
    type: 'hvm',
    ...(type?.attrs.arch ? { arch: type.attrs.arch } : {}),
    ...(type?.attrs.machine ? { machine: type.attrs.machine } : {}),
    ...(loader
      ? {
          loader: {
            path: loader.text.trim(),
            ...(loader.attrs.readonly ? { readonly: boolAttr(loader, 'readonly') } : {}),
            ...(loader.attrs.type ? { type: enumAttr(loader, 'type', ['rom', 'pflash'] as const) } : {}),
            ...(loader.attrs.secure ? { secure: boolAttr(loader, 'secure') } : {}),
          },
        }
      : {}),
    ...(nvram ? { nvram: { ...(nvram.text.trim() ? { path: nvram.text.trim() } : {}), ...(nvram.attrs.template ? { template: nvram.attrs.template } : {}) } } : {}),
    ...(text('kernel') !== undefined ? { kernel: text('kernel') } : {}),
    ...(text('initrd') !== undefined ? { initrd: text('initrd') } : {}),
    ...(child(e, 'cmdline') ? { cmdline: child(e, 'cmdline')!.text } : {}),
    ...(text('dtb') !== undefined ? { dtb: text('dtb') } : {}),
    boot: children(e, 'boot').map((b) => checkEnum(b, 'boot dev', reqAttr(b, 'dev'), BOOT_DEVS)),
    ...(bootmenu
      ? { bootmenu: { enable: boolAttr(bootmenu, 'enable') ?? false, ...(intAttr(bootmenu, 'timeout') !== undefined ? { timeout: intAttr(bootmenu, 'timeout') } : {}) } }
      : {}),
    ...(bios ? { bios: { useserial: boolAttr(bios, 'useserial'), rebootTimeout: intAttr(bios, 'rebootTimeout') } } : {}),
    extra: e.children.filter((c) => !KNOWN.has(c.name)),
    $span: e.span,
  };
}

// --- IR -> XML ---------------------------------------------------------------------------------

export function writeOsXml(os: Os): XmlElement {
  return el(
    'os',
    {},
    el('type', { arch: os.arch, machine: os.machine }, os.type),
    os.loader && el('loader', { readonly: yesNo(os.loader.readonly), secure: yesNo(os.loader.secure), type: os.loader.type }, os.loader.path),
    os.nvram && el('nvram', { template: os.nvram.template }, os.nvram.path ?? ''),
    textEl('kernel', os.kernel),
    textEl('initrd', os.initrd),
    textEl('cmdline', os.cmdline),
    textEl('dtb', os.dtb),
    os.boot.map((dev) => el('boot', { dev })),
    os.bootmenu && el('bootmenu', { enable: yesNo(os.bootmenu.enable), timeout: os.bootmenu.timeout }),
    os.bios && el('bios', { useserial: yesNo(os.bios.useserial), rebootTimeout: os.bios.rebootTimeout }),
    os.extra,
  );
}

// --- IR -> argv --------------------------------------------------------------------------------

export function buildMachine(ctx: EmitContext): void {
  const { dom, caps, out } = ctx;
  const machine = resolveMachineAlias(dom.os.machine ?? 'pc', caps);
  if (!has(caps, 'machine-opt')) {
    out.raw('-M', machine);
    return;
  }
  const isPc = /^pc($|-)|^q35$/.test(machine);
  out.keyval('-machine', props({
    type: machine,
    // NB: -accel replaced -machine accel=; older libvirt put the accelerator here.
    accel: has(caps, 'accel') ? undefined : dom.type === 'kvm' ? 'kvm' : 'tcg',
    usb: has(caps, 'machine.usb-off') && isPc ? 'off' : undefined,
    'dump-guest-core': has(caps, 'machine.dump-guest-core') ? (ctx.conf.dumpGuestCore ? 'on' : 'off') : undefined,
    'memory-backend': has(caps, 'memory-backend') ? 'pc.ram' : undefined,
  }));
}

export function buildAccel(ctx: EmitContext): void {
  if (has(ctx.caps, 'accel')) ctx.out.keyval('-accel', props({ accel: ctx.dom.type === 'kvm' ? 'kvm' : 'tcg' }));
  else if (has(ctx.caps, 'kqemu') && ctx.dom.type === 'qemu') ctx.out.flag('-no-kqemu');
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

export function buildBios(ctx: EmitContext): void {
  const l = ctx.dom.os.loader;
  if (l && l.type !== 'pflash') ctx.out.raw('-bios', l.path);
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

export function readOsArgv(r: ArgvReader): void {
  const d = r.draft;
  d.os.arch = archFromEmulator(r.cmd.emulator);
  for (const m of r.take('-M', '-machine')) {
    const p = optProps(m);
    const type = propStr(p, 'type');
    if (type) d.os.machine = type;
    const accel = propStr(p, 'accel');
    if (accel) d.type = accel.split(':')[0] === 'kvm' ? 'kvm' : 'qemu';
    for (const k of Object.keys(p)) {
      if (!['type', 'accel', 'usb', 'dump-guest-core', 'memory-backend'].includes(k)) r.diag.warn('IgnoredProperty', { option: m.written, property: k }, m.valueSpan);
    }
  }
  for (const a of r.take('-accel')) d.type = propStr(optProps(a), 'accel') === 'kvm' ? 'kvm' : d.type;
  if (r.take('-enable-kvm').length) d.type = 'kvm';
  if (r.take('-no-kvm').length) d.type = 'qemu';
  r.take('-no-kqemu', '-kernel-kqemu');
  const boot = r.takeLast('-boot');
  if (boot) {
    const p = optProps(boot);
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
