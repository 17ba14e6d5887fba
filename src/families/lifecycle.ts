// <on_poweroff>/<on_reboot>/<on_crash>. argv: -no-shutdown (libvirt handles power-off itself),
// -no-reboot when a reboot must stop the guest (QEMU before set-action); <pm> as -global disable_s3/s4.
import type { ArgvReader } from '../ir/argv-reader.js';
import { optText } from '../ir/argv-reader.js';
import { fail } from '../errors.js';
import type { Domain, LifecycleAction } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import type { EmitContext } from '../emit/context.js';
import { isQ35 } from '../ir/defaults.js';
import { child, el, textEl, type XmlElement } from '../xml/tree.js';
import { boolAttr, checkEnum } from '../xml/values.js';

const ACTIONS = ['destroy', 'restart', 'preserve', 'rename-restart', 'coredump-destroy', 'coredump-restart'] as const;

export function readLifecycleXml(e: XmlElement): LifecycleAction {
  return checkEnum(e, e.name, e.text.trim(), ACTIONS);
}

export function readPmXml(e: XmlElement): NonNullable<Domain['pm']> {
  const state = (name: string) => {
    const c = child(e, name);
    return c?.attrs.enabled !== undefined ? boolAttr(c, 'enabled') : undefined;
  };
  const mem = state('suspend-to-mem');
  const disk = state('suspend-to-disk');
  return { ...(mem !== undefined ? { suspendToMem: mem } : {}), ...(disk !== undefined ? { suspendToDisk: disk } : {}) };
}

export function writeLifecycleXml(d: Domain): XmlElement[] {
  const yn = (b: boolean | undefined) => (b === undefined ? undefined : b ? 'yes' : 'no');
  return [
    textEl('on_poweroff', d.onPoweroff ?? 'destroy'),
    textEl('on_reboot', d.onReboot ?? 'restart'),
    textEl('on_crash', d.onCrash ?? 'destroy'),
    d.pm && el('pm', {}, d.pm.suspendToMem !== undefined && el('suspend-to-mem', { enabled: yn(d.pm.suspendToMem) }), d.pm.suspendToDisk !== undefined && el('suspend-to-disk', { enabled: yn(d.pm.suspendToDisk) })),
  ].filter((x): x is XmlElement => !!x);
}

export function buildLifecycle(ctx: EmitContext): void {
  const onReboot = ctx.dom.onReboot ?? 'restart';
  if (has(ctx.caps, 'set-action')) {
    // NB: with QEMU's set-action, libvirt always starts with -no-shutdown and tells QEMU what
    // reboot/crash/shutdown do over QMP, so <on_*> leave no trace on the command line
    ctx.out.flag('-no-shutdown');
  } else {
    // -no-shutdown lets libvirt see a guest power-off and decide; it is left out when the
    // guest must stop on reboot too, since then QEMU exiting is the right outcome
    if (has(ctx.caps, 'no-shutdown') && onReboot !== 'destroy') ctx.out.flag('-no-shutdown');
    if (onReboot === 'destroy') ctx.out.flag('-no-reboot');
  }
  buildPm(ctx);
}

/** <pm>: the chipset's power-management device gets disable_s3/disable_s4 (PIIX4_PM or ICH9-LPC). */
function buildPm(ctx: EmitContext): void {
  const pm = ctx.dom.pm;
  if (!pm) return;
  if (!has(ctx.caps, 'pm.disable-s3')) {
    ctx.diag.warn('UnsupportedForTarget', { what: '<pm> (suspend-to-mem/suspend-to-disk)', target: `QEMU ${ctx.caps.version.join('.')} (PIIX4_PM.disable_s3/disable_s4 came in 1.2)` });
    return;
  }
  const dev = isQ35(ctx.dom.os.machine) ? 'ICH9-LPC' : 'PIIX4_PM';
  if (pm.suspendToMem !== undefined) ctx.out.raw('-global', `${dev}.disable_s3=${pm.suspendToMem ? 0 : 1}`);
  if (pm.suspendToDisk !== undefined) ctx.out.raw('-global', `${dev}.disable_s4=${pm.suspendToDisk ? 0 : 1}`);
}

export function readLifecycleArgv(r: ArgvReader): void {
  r.take('-no-shutdown');
  if (r.take('-no-reboot').length) r.draft.onReboot = 'destroy';
  // -global PIIX4_PM.disable_s3=1 (ICH9-LPC on q35): the chipset hides the sleep state
  for (const g of r.take('-global')) {
    const m = /^(?:PIIX4_PM|ICH9-LPC)\.disable_s([34])=(.*)$/.exec(optText(g));
    if (!m) {
      r.unclaim(g);
      continue;
    }
    if (m[2] !== '0' && m[2] !== '1') return fail('BadOptionValue', { option: '-global', value: optText(g), reason: 'disable_s3/disable_s4 take 0 or 1' }, g.valueSpan);
    const enabled = m[2] === '0';
    r.draft.pm = { ...r.draft.pm, ...(m[1] === '3' ? { suspendToMem: enabled } : { suspendToDisk: enabled }) };
  }
}
