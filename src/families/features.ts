// <features>: acpi, apic, pae (others kept verbatim). argv: -no-acpi when ACPI is off.
import type { ArgvReader } from '../ir/argv-reader.js';
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

/** Machine types whose firmware tables libvirt controls with -no-acpi (x86 pc/q35). */
function machineHasAcpi(ctx: EmitContext): boolean {
  const arch = ctx.dom.os.arch ?? ctx.caps.arch;
  return ['i686', 'x86_64', 'aarch64'].includes(arch);
}

export function buildAcpi(ctx: EmitContext): void {
  // NB: libvirt prints -no-acpi for a guest without <acpi/> on machines that default to ACPI.
  if (machineHasAcpi(ctx) && !hasFeature(ctx.dom.features, 'acpi')) ctx.out.flag('-no-acpi');
}

export function readFeaturesArgv(r: ArgvReader): void {
  const d = r.draft;
  const noAcpi = r.take('-no-acpi').length > 0;
  const arch = d.os.arch ?? 'i686';
  // QEMU's x86 machines have ACPI, APIC and PAE unless told otherwise; libvirt's parser wrote them.
  if (!noAcpi && ['i686', 'x86_64'].includes(arch)) d.features.push({ kind: 'acpi' });
}
