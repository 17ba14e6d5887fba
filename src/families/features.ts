// <features>: acpi, apic, pae (others kept verbatim). argv: -no-acpi when ACPI is off, -device vmcoreinfo.
import type { ArgvReader } from '../ir/argv-reader.js';
import { optProps } from '../ir/argv-reader.js';
import { propBool, propNum, propStr } from '../qemu/props.js';
import { has } from '../qemu/caps.js';
import type { Feature } from '../ir/domain.js';
import type { EmitContext } from '../emit/context.js';
import { el, type XmlElement } from '../xml/tree.js';
import { enumAttr } from '../xml/values.js';

export function readFeaturesXml(e: XmlElement): Feature[] {
  return e.children.map((c): Feature => {
    switch (c.name) {
      case 'acpi':
        return { kind: 'acpi', $span: c.span };
      case 'pae':
        return { kind: 'pae', $span: c.span };
      case 'apic': {
        const eoi = enumAttr(c, 'eoi', ['on', 'off'] as const);
        return { kind: 'apic', ...(eoi ? { eoi } : {}), $span: c.span };
      }
      default:
        return { kind: 'other', element: c, $span: c.span };
    }
  });
}

export function writeFeaturesXml(features: readonly Feature[]): XmlElement | undefined {
  if (!features.length) return undefined;
  return el(
    'features',
    {},
    features.map((f) => {
      switch (f.kind) {
        case 'acpi':
        case 'pae':
          return el(f.kind);
        case 'apic':
          return el('apic', { eoi: f.eoi });
        case 'other':
          return f.element;
      }
    }),
  );
}

export const hasFeature = (features: readonly Feature[], kind: Feature['kind']): boolean => features.some((f) => f.kind === kind);

/** A <features> child the IR keeps verbatim (smm, vmport, hyperv, kvm, pmu, ioapic, tcg …). */
export function featureElement(features: readonly Feature[], name: string): XmlElement | undefined {
  for (const f of features) if (f.kind === 'other' && f.element.name === name) return f.element;
  return undefined;
}

/** state='on'|'off' of a <features> child (or of a child of one); undefined when absent. */
export function stateOf(e: XmlElement | undefined): boolean | undefined {
  const v = e?.attrs.state;
  return v === undefined ? undefined : v === 'on';
}

/** Machine types whose firmware tables libvirt controls with -no-acpi (x86 pc/q35). */
function machineHasAcpi(ctx: EmitContext): boolean {
  const arch = ctx.dom.os.arch ?? ctx.caps.arch;
  return ['i686', 'x86_64', 'aarch64'].includes(arch);
}

export function buildAcpi(ctx: EmitContext): void {
  // NB: libvirt prints -no-acpi for a guest without <acpi/> on machines that default to ACPI.
  if (machineHasAcpi(ctx) && !hasFeature(ctx.dom.features, 'acpi')) ctx.out.flag('-no-acpi');
}

/** <vmcoreinfo state='on'/>: the fw_cfg device a guest kernel leaves its crash-dump notes in. */
export function buildVmcoreinfo(ctx: EmitContext): void {
  const e = featureElement(ctx.dom.features, 'vmcoreinfo');
  if (stateOf(e) !== true) return;
  if (has(ctx.caps, 'device.vmcoreinfo')) ctx.out.object('-device', { driver: 'vmcoreinfo' });
  else ctx.diag.warn('UnsupportedForTarget', { what: '<vmcoreinfo>', target: 'QEMU before 2.11 (no vmcoreinfo device)' }, e!.span);
}

/** libvirt's order of <features> children (virDomainFeature). */
const FEATURE_ORDER = ['acpi', 'apic', 'pae', 'hap', 'viridian', 'privnet', 'hyperv', 'kvm', 'pvspinlock', 'capabilities', 'pmu', 'vmport', 'gic', 'smm', 'ioapic', 'hpt', 'vmcoreinfo', 'htm', 'nested-hv', 'msrs', 'ccf-assist', 'xen', 'cfpc', 'sbbc', 'ibs', 'tcg'];
const featureName = (f: Feature): string => (f.kind === 'other' ? f.element.name : f.kind);
const rank = (f: Feature): number => {
  const i = FEATURE_ORDER.indexOf(featureName(f));
  return i < 0 ? FEATURE_ORDER.length : i;
};

export function readFeaturesArgv(r: ArgvReader): void {
  const d = r.draft;
  const machineAcpi = r.cmd.options.filter((o) => (o.name === '-M' || o.name === '-machine') && o.value.kind === 'props').map((o) => propBool(optProps(o), 'acpi')).filter((v) => v !== undefined).pop();
  const noAcpi = r.take('-no-acpi').length > 0 || machineAcpi === false;
  const arch = d.os.arch ?? 'i686';
  // QEMU's x86 machines have ACPI unless told otherwise; libvirt's parser wrote it. NB: aarch64
  // guests get their ACPI tables through UEFI, and libvirt allows <acpi/> only with a UEFI loader
  // (a -machine pflash0= loader is read by now; an -drive if=pflash one only later, with the disks)
  const uefi = d.os.loader?.type === 'pflash' || r.cmd.options.some((o) => o.name === '-drive' && propStr(optProps(o), 'if') === 'pflash');
  if (!noAcpi && (['i686', 'x86_64'].includes(arch) || (arch === 'aarch64' && uefi))) d.features.push({ kind: 'acpi' });
  // NB: libvirt's parser marked PAE for KVM named by the emulator (qemu-kvm) or by
  // -machine accel=kvm, not for -enable-kvm
  const emulator = r.cmd.emulator.split('/').pop() ?? '';
  const accelKvm = r.cmd.options.some((o) => (o.name === '-M' || o.name === '-machine') && /^kvm\b/.test(propStr(optProps(o), 'accel') ?? ''));
  if ((emulator.includes('kvm') || accelKvm) && !d.features.some((f) => f.kind === 'pae')) d.features.push({ kind: 'pae' });
  for (const dev of r.devices((drv) => drv === 'vmcoreinfo')) {
    r.claim(dev.opt);
    if (!d.features.some((f) => f.kind === 'other' && f.element.name === 'vmcoreinfo')) d.features.push({ kind: 'other', element: el('vmcoreinfo', { state: 'on' }) });
  }
  // NB: after the -cpu reader, which builds <kvm> from its kvm-* flags: -accel kvm,dirty-ring-size=N
  // (see buildAccel) is one more child of it, libvirt's last
  for (const a of r.cmd.options.filter((o) => o.name === '-accel')) {
    const size = propNum(optProps(a), 'dirty-ring-size');
    if (size === undefined) continue;
    const i = d.features.findIndex((f) => f.kind === 'other' && f.element.name === 'kvm');
    const kvm = i >= 0 ? (d.features[i] as Extract<Feature, { kind: 'other' }>).element : el('kvm');
    const ring = el('dirty-ring', { state: 'on', size });
    const merged = { ...kvm, children: [...kvm.children.filter((c) => c.name !== 'dirty-ring'), ring] };
    if (i >= 0) d.features[i] = { kind: 'other', element: merged };
    else d.features.push({ kind: 'other', element: merged });
  }
  d.features.sort((a, b) => rank(a) - rank(b));
}
