// The qemu: XML namespace: <qemu:commandline> raw arguments/environment, <qemu:capabilities>,
// <qemu:override> (-device property changes) and <qemu:deprecation> (-compat).
// from-native puts every option no family claims in <qemu:commandline>, with a warning naming it.
import type { ArgvReader } from '../ir/argv-reader.js';
import { optProps } from '../ir/argv-reader.js';
import type { EmitContext } from '../emit/context.js';
import type { Domain, QemuDeprecation, QemuDeviceOverride, QemuPropertyOverride } from '../ir/domain.js';
import { fail } from '../errors.js';
import { has } from '../qemu/caps.js';
import { lookupOption } from '../qemu/options.js';
import { propStr, type PropValue, type Props } from '../qemu/props.js';
import { children, el, type XmlElement } from '../xml/tree.js';
import { checkEnum, reqAttr } from '../xml/values.js';
import { isStandardEnv } from './process.js';

const DEPRECATION = ['none', 'omit', 'reject', 'crash'] as const;
const PROPERTY_TYPES = ['string', 'signed', 'unsigned', 'bool', 'remove'] as const;

export function readQemuCapabilitiesXml(e: XmlElement): { add: string[]; del: string[] } {
  return {
    add: children(e, 'qemu:add').map((c) => reqAttr(c, 'capability')),
    del: children(e, 'qemu:del').map((c) => reqAttr(c, 'capability')),
  };
}

export function readQemuOverrideXml(e: XmlElement): QemuDeviceOverride[] {
  return children(e, 'qemu:device').map((dev) => ({
    alias: reqAttr(dev, 'alias'),
    frontend: children(dev, 'qemu:frontend').flatMap((f) =>
      children(f, 'qemu:property').map((p): QemuPropertyOverride => {
        const name = reqAttr(p, 'name');
        const type = checkEnum(p, 'qemu:property type', reqAttr(p, 'type'), PROPERTY_TYPES);
        if (type === 'remove') return { name, type };
        const value = reqAttr(p, 'value');
        if (type === 'bool') checkEnum(p, 'qemu:property value', value, ['true', 'false'] as const);
        if ((type === 'signed' && !/^-?\d+$/.test(value)) || (type === 'unsigned' && !/^\d+$/.test(value))) {
          return fail('XmlBadValue', { what: `qemu:property ${type} value`, value, expected: type === 'signed' ? 'an integer' : 'a non-negative integer' }, p.span);
        }
        return { name, type, value };
      }),
    ),
  }));
}

export function readQemuDeprecationXml(e: XmlElement): QemuDeprecation {
  return checkEnum(e, 'qemu:deprecation behavior', reqAttr(e, 'behavior'), DEPRECATION);
}

/** Whether the domain needs the qemu: namespace declared. */
export function usesQemuNamespace(d: Domain): boolean {
  return Boolean(d.qemuCommandline || d.qemuCapabilities || d.qemuOverrides || d.qemuDeprecation);
}

/** The qemu: elements, in libvirt's order (qemuDomainDefNamespaceFormatXML). */
export function writeQemuNamespaceXml(d: Domain): XmlElement[] {
  const out: XmlElement[] = [];
  const cmd = d.qemuCommandline;
  if (cmd) {
    out.push(el('qemu:commandline', {}, cmd.args.map((a) => el('qemu:arg', { value: a })), cmd.env.map((e) => el('qemu:env', { name: e.name, value: e.value }))));
  }
  const caps = d.qemuCapabilities;
  if (caps) {
    out.push(el('qemu:capabilities', {}, caps.add.map((c) => el('qemu:add', { capability: c })), caps.del.map((c) => el('qemu:del', { capability: c }))));
  }
  if (d.qemuOverrides) {
    out.push(el('qemu:override', {}, d.qemuOverrides.map((o) =>
      el('qemu:device', { alias: o.alias }, el('qemu:frontend', {}, o.frontend.map((p) => el('qemu:property', { name: p.name, type: p.type, value: p.type === 'remove' ? undefined : p.value })))),
    )));
  }
  if (d.qemuDeprecation) out.push(el('qemu:deprecation', { behavior: d.qemuDeprecation }));
  return out;
}

/** What -compat says for each behaviour (qemuBuildCompatDeprecatedCommandLine); 'none' says nothing. */
const COMPAT: Readonly<Record<QemuDeprecation, Props | undefined>> = {
  none: undefined,
  omit: { 'deprecated-output': 'hide' },
  reject: { 'deprecated-output': 'hide', 'deprecated-input': 'reject' },
  crash: { 'deprecated-output': 'hide', 'deprecated-input': 'crash' },
};

export function buildCompat(ctx: EmitContext): void {
  const behavior = ctx.dom.qemuDeprecation ?? ctx.conf.deprecationBehavior;
  const compat = behavior && COMPAT[behavior];
  if (!compat) return;
  if (!has(ctx.caps, 'compat-deprecated')) {
    ctx.diag.warn('UnsupportedForTarget', { what: `deprecation behavior '${behavior}'`, target: 'QEMU before 6.0 (no -compat)' }, ctx.dom.$span);
    return;
  }
  ctx.out.object('-compat', compat);
}

export function buildQemuCommandlineArgs(ctx: EmitContext): void {
  for (const a of ctx.dom.qemuCommandline?.args ?? []) ctx.out.options.push({ name: a, value: { kind: 'none' } });
}

export function qemuCommandlineEnv(ctx: EmitContext): Array<[string, string]> {
  return (ctx.dom.qemuCommandline?.env ?? []).map((e) => [e.name, e.value ?? '']);
}

function overrideValue(p: Exclude<QemuPropertyOverride, { type: 'remove' }>): PropValue {
  switch (p.type) {
    case 'string':
      return p.value;
    case 'bool':
      return p.value === 'true';
    default:
      return Number(p.value);
  }
}

/**
 * <qemu:override>: libvirt rewrites each -device whose id is the alias, property by property in
 * document order: the old value is dropped and the new one appended (so it prints last), or just
 * dropped for type='remove'. NB: runs after every device is built; it changes them in place.
 * <qemu:capabilities> tweak libvirt's probed QEMU capabilities, which domxml models by version.
 */
export function applyQemuOverrides(ctx: EmitContext): void {
  if (ctx.dom.qemuCapabilities) {
    ctx.diag.warn('UnsupportedForTarget', { what: '<qemu:capabilities>', target: 'domxml, which takes QEMU capabilities from --qemu-version' }, ctx.dom.$span);
  }
  for (const o of ctx.dom.qemuOverrides ?? []) {
    const opts = ctx.out.options;
    const i = opts.findIndex((x) => x.name === '-device' && x.value.kind === 'props' && propStr(x.value.props, 'id') === o.alias);
    const target = opts[i];
    if (!target || target.value.kind !== 'props') {
      ctx.diag.warn('UnsupportedForTarget', { what: `<qemu:device alias='${o.alias}'> override`, target: 'this domain (no device has that alias)' }, ctx.dom.$span);
      continue;
    }
    const p: Record<string, PropValue> = { ...target.value.props };
    for (const prop of o.frontend) {
      delete p[prop.name];
      if (prop.type !== 'remove') p[prop.name] = overrideValue(prop);
    }
    opts[i] = { name: target.name, value: { ...target.value, props: p } };
  }
}

/** -compat deprecated-output=hide[,deprecated-input=reject|crash] back to <qemu:deprecation>. */
export function readCompatArgv(r: ArgvReader): void {
  for (const o of r.take('-compat')) {
    const p = optProps(o);
    const input = propStr(p, 'deprecated-input');
    const output = propStr(p, 'deprecated-output');
    const known = Object.keys(p).every((k) => k === 'deprecated-input' || k === 'deprecated-output');
    const behavior = !known || output !== 'hide' ? undefined : input === undefined || input === 'accept' ? 'omit' : input === 'reject' || input === 'crash' ? input : undefined;
    if (!behavior) {
      r.unclaim(o);
      continue;
    }
    r.draft.qemuDeprecation = behavior;
  }
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
  // NB: libvirt passes <qemu:env> without a value as NAME='', so an empty value reads back as none
  for (const e of r.cmd.env) {
    if (!isStandardEnv(e.name)) r.draft.qemuEnv.push({ name: e.name, ...(e.value ? { value: e.value } : {}) });
  }
}
