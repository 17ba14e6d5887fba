// <on_poweroff>/<on_reboot>/<on_crash>. argv: -no-shutdown (libvirt handles power-off itself),
// -no-reboot when a reboot must stop the guest.
import type { ArgvReader } from '../ir/argv-reader.js';
import type { Domain, LifecycleAction } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import type { EmitContext } from '../emit/context.js';
import { textEl, type XmlElement } from '../xml/tree.js';
import { checkEnum } from '../xml/values.js';

const ACTIONS = ['destroy', 'restart', 'preserve', 'rename-restart', 'coredump-destroy', 'coredump-restart'] as const;

export function readLifecycleXml(e: XmlElement): LifecycleAction {
  return checkEnum(e, e.name, e.text.trim(), ACTIONS);
}

export function writeLifecycleXml(d: Domain): XmlElement[] {
  return [
    textEl('on_poweroff', d.onPoweroff ?? 'destroy'),
    textEl('on_reboot', d.onReboot ?? 'restart'),
    textEl('on_crash', d.onCrash ?? 'destroy'),
  ].filter((x): x is XmlElement => x !== undefined);
}

export function buildLifecycle(ctx: EmitContext): void {
  // NB: -no-shutdown lets libvirt see a guest power-off and decide; it is left out when the
  // guest must stop on reboot too, since then QEMU exiting is the right outcome.
  const onReboot = ctx.dom.onReboot ?? 'restart';
  if (has(ctx.caps, 'no-shutdown') && onReboot !== 'destroy') ctx.out.flag('-no-shutdown');
  if (onReboot === 'destroy') ctx.out.flag('-no-reboot');
}

export function readLifecycleArgv(r: ArgvReader): void {
  r.take('-no-shutdown');
  if (r.take('-no-reboot').length) r.draft.onReboot = 'destroy';
}
