// <qemu:commandline>: raw QEMU arguments and environment variables, passed through as written.
// from-native puts every option no family claims here, with a warning naming it.
import type { ArgvReader } from '../ir/argv-reader.js';
import type { EmitContext } from '../emit/context.js';
import { lookupOption } from '../qemu/options.js';
import { isStandardEnv } from './process.js';

export function buildQemuCommandlineArgs(ctx: EmitContext): void {
  for (const a of ctx.dom.qemuCommandline?.args ?? []) ctx.out.options.push({ name: a, value: { kind: 'none' } });
}

export function qemuCommandlineEnv(ctx: EmitContext): Array<[string, string]> {
  return (ctx.dom.qemuCommandline?.env ?? []).map((e) => [e.name, e.value ?? '']);
}

/** Whatever no family claimed: kept verbatim, in order, each named in a warning. */
export function readLeftoversArgv(r: ArgvReader): void {
  for (const o of r.unclaimed()) {
    r.claim(o);
    const spec = lookupOption(o.written || '-');
    if (o.name === '') {
      r.diag.warn('UnmappedOption', { option: `'${o.rawValue ?? ''}'`, detail: '(positional argument)' }, o.span);
      r.draft.qemuArgs.push(o.rawValue ?? '');
      continue;
    }
    if (!spec) r.diag.warn('UnknownOption', { option: o.written }, o.span);
    else if (spec.until) r.diag.warn('RemovedOption', { option: o.written, version: spec.until, hint: spec.removedHint ?? '' }, o.span);
    else r.diag.warn('UnmappedOption', { option: o.written, detail: '' }, o.span);
    r.draft.qemuArgs.push(o.written);
    if (o.rawValue !== undefined) r.draft.qemuArgs.push(o.rawValue);
  }
  for (const e of r.cmd.env) {
    if (!isStandardEnv(e.name)) r.draft.qemuEnv.push({ name: e.name, value: e.value });
  }
}
