// The qemu: XML namespace: <qemu:commandline> raw arguments/environment, <qemu:capabilities>,
// <qemu:override> (-device property changes) and <qemu:deprecation> (-compat).
// from-native puts every option no family claims in <qemu:commandline>, and the -device properties
// no family reads in <qemu:override>, each with a warning naming it.
import type { ArgvReader } from '../ir/argv-reader.js';
import { optProps } from '../ir/argv-reader.js';
import type { EmitContext } from '../emit/context.js';
import type { EmittedOption } from '../emit/argv.js';
import type { Domain, QemuDeprecation, QemuDeviceOverride, QemuPropertyOverride } from '../ir/domain.js';
import { fail, type Diagnostics } from '../errors.js';
import type { ParsedOption } from '../lexer/argv-parser.js';
import { has } from '../qemu/caps.js';
import { lookupOption } from '../qemu/options.js';
import { printKeyval, propStr, scalarText, type PropValue, type Props } from '../qemu/props.js';
import { children, el, type XmlElement } from '../xml/tree.js';
import { checkEnum, reqAttr } from '../xml/values.js';
import { isStandardEnv } from './process.js';
import { parsePciAddr } from './address.js';

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

/** What a -device, -object, -global, -netdev or -chardev is, for the warning that keeps it. */
function leftoverKind(o: ParsedOption): string {
  const key = ({ '-device': 'driver', '-object': 'qom-type', '-netdev': 'type', '-chardev': 'backend' } as Record<string, string>)[o.name];
  if (o.name === '-global') return o.rawValue ?? '';
  return key && o.value.kind === 'props' ? propStr(o.value.props, key) ?? '' : '';
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
    else r.diag.warn('UnmappedOption', { option: o.written, detail: leftoverKind(o) }, o.span);
    r.draft.qemuArgs.push(o.written);
    if (o.rawValue !== undefined) r.draft.qemuArgs.push(o.rawValue);
  }
  // NB: libvirt passes <qemu:env> without a value as NAME='', so an empty value reads back as none
  for (const e of r.cmd.env) {
    if (!isStandardEnv(e.name)) r.draft.qemuEnv.push({ name: e.name, ...(e.value ? { value: e.value } : {}) });
  }
}

/** A mapped option's properties that no reader looked at (from-argv.ts collects them). */
export interface UnreadProps {
  readonly opt: ParsedOption;
  readonly keys: readonly string[];
}

/**
 * Options QEMU merges when repeated, by the name to keep a key under: a key no reader maps still
 * takes effect from a second such option in <qemu:commandline>, after libvirt's own. Their
 * QemuOptsList has merge_lists (-boot, -rtc, -name, -icount, -action, -spice), or vl.c merges them
 * into one dict (-machine and its -M spelling with keyval_parse_into, -smp as the machine's smp
 * member). NB: not -msg, whose keys QEMU reads whole each time (a second one resets the first's);
 * -overcommit is kept by its reader (process.ts), for the same reason.
 */
const MERGED_OPTIONS: ReadonlyMap<string, string> = new Map([
  ['-boot', '-boot'], ['-rtc', '-rtc'], ['-name', '-name'], ['-icount', '-icount'], ['-action', '-action'],
  ['-spice', '-spice'], ['-machine', '-machine'], ['-M', '-machine'], ['-smp', '-smp'],
]);

/**
 * Properties that place a device (and a user alias, which libvirt keeps): where the -device
 * to-native prints for a domain and the one read from the command line both carry one, they agree
 * if the two are the same device.
 */
const PLACING = ['addr', 'port', 'unit', 'scsi-id', 'lun', 'channel', 'chassis', 'mac', 'serial'] as const;

/**
 * QEMU's other names for PCI devices (qdev-monitor.c's qdev_alias_table, as `-device help` lists
 * them for x86), which a command line may use where libvirt prints the type name.
 */
const DRIVER_ALIASES: Readonly<Record<string, string>> = {
  'virtio-9p': 'virtio-9p-pci', 'virtio-balloon': 'virtio-balloon-pci', 'virtio-blk': 'virtio-blk-pci',
  'virtio-gpu': 'virtio-gpu-pci', 'virtio-gpu-gl': 'virtio-gpu-gl-pci', 'virtio-input-host': 'virtio-input-host-pci',
  'virtio-iommu': 'virtio-iommu-pci', 'virtio-keyboard': 'virtio-keyboard-pci', 'virtio-mouse': 'virtio-mouse-pci',
  'virtio-net': 'virtio-net-pci', 'virtio-rng': 'virtio-rng-pci', 'virtio-scsi': 'virtio-scsi-pci',
  'virtio-serial': 'virtio-serial-pci', 'virtio-tablet': 'virtio-tablet-pci',
  lsi: 'lsi53c895a', ahci: 'ich9-ahci', 'e1000-82540em': 'e1000', ac97: 'AC97', es1370: 'ES1370',
};

/** Descriptors the parent process passed: numbers that mean nothing to a QEMU libvirt starts. */
const DESCRIPTORS = new Set(['fd', 'fds', 'vhostfd', 'vhostfds']);

/**
 * What the readers left unread of mapped options, kept where libvirt has a place for it: a
 * -device's property as <qemu:override> of the device to-native prints for the domain (found in
 * `trial`, its to-native output; its id is the alias libvirt assigns), a merged option's keys as a
 * second option in <qemu:commandline>. A property the trial prints with the same value was not lost
 * (libvirt derives it, e.g. qemu-xhci's p3 from its ports); anything else is warned as dropped.
 * `mapped` are the -device options the domain holds, in command-line order.
 */
export function keepUnreadProps(
  dom: Domain,
  unread: readonly UnreadProps[],
  mapped: readonly ParsedOption[],
  trial: readonly EmittedOption[] | undefined,
  diag: Diagnostics,
): Domain {
  const overrides = new Map<string, QemuPropertyOverride[]>();
  const args: string[] = [];
  const dropped = (o: ParsedOption, keys: readonly string[]) => {
    for (const k of keys) diag.warn('IgnoredProperty', { option: o.name, property: k }, o.valueSpan ?? o.span);
  };
  for (const { opt, keys } of unread) {
    const p = optProps(opt);
    const merged = MERGED_OPTIONS.get(opt.name);
    if (opt.name === '-device') {
      const target = trial && trialDevice(opt, mapped, trial);
      const alias = target && propStr(target, 'id');
      if (!target || !alias) {
        dropped(opt, keys);
        continue;
      }
      for (const k of keys) {
        if (target[k] !== undefined && sameValue(p[k]!, target[k]!)) continue;
        // NB: a bus without addr= has no <address> (libvirt reads a partial one as none and picks
        // the place itself); as an override it would move the device off the bus libvirt gives it
        if (k === 'bus' && p.addr === undefined) {
          diag.warn('PlacementLeftToLibvirt', { option: `${opt.name} ${propStr(p, 'driver') ?? ''}`.trim(), bus: propStr(p, 'bus') ?? '' }, opt.valueSpan ?? opt.span);
          continue;
        }
        const prop = DESCRIPTORS.has(k) ? undefined : overrideProperty(k, p[k]!, opt);
        if (!prop) {
          dropped(opt, [k]);
          continue;
        }
        overrides.set(alias, [...(overrides.get(alias) ?? []), prop]);
        diag.warn('KeptAsOverride', { option: `${opt.name} ${propStr(p, 'driver') ?? ''}`.trim(), property: k, alias }, opt.valueSpan ?? opt.span);
      }
    } else if (merged && opt.value.kind === 'props' && opt.value.form === 'keyval') {
      const printed = (trial ?? []).filter((e) => e.name === merged && e.value.kind === 'props').map((e) => (e.value.kind === 'props' ? e.value.props : {}));
      const kept = keys.filter((k) => !printed.some((t) => t[k] !== undefined && sameValue(p[k]!, t[k]!)));
      if (!kept.length) continue;
      args.push(merged, printKeyval(Object.fromEntries(kept.map((k) => [k, p[k]!]))));
      for (const k of kept) diag.warn('UnmappedOption', { option: merged, detail: `property '${k}'` }, opt.valueSpan ?? opt.span);
    } else dropped(opt, keys);
  }
  if (!overrides.size && !args.length) return dom;
  const cmd = dom.qemuCommandline;
  return {
    ...dom,
    ...(args.length ? { qemuCommandline: { args: [...(cmd?.args ?? []), ...args], env: cmd?.env ?? [] } } : {}),
    ...(overrides.size ? { qemuOverrides: [...(dom.qemuOverrides ?? []), ...[...overrides].map(([alias, frontend]) => ({ alias, frontend }))] } : {}),
  };
}

/**
 * The -device to-native prints for a -device of the command line: the one at the same place among
 * the devices of its driver, when both lists have as many; else the only one its placing
 * properties single out. Either way none of those may disagree; no answer when in doubt.
 */
function trialDevice(opt: ParsedOption, mapped: readonly ParsedOption[], trial: readonly EmittedOption[]): Props | undefined {
  const p = optProps(opt);
  const driverOf = (q: Props) => {
    const d = propStr(q, 'driver') ?? '';
    return DRIVER_ALIASES[d] ?? d;
  };
  const driver = driverOf(p);
  const ours = mapped.filter((o) => driverOf(optProps(o)) === driver);
  const printed = trial.flatMap((e) => (e.name === '-device' && e.value.kind === 'props' && driverOf(e.value.props) === driver ? [e.value.props] : []));
  const keys = [...PLACING, ...(propStr(p, 'id')?.startsWith('ua-') ? ['id'] : [])];
  const shared = (t: Props) => keys.filter((k) => p[k] !== undefined && t[k] !== undefined);
  const fits = (t: Props) => shared(t).every((k) => samePlace(k, p[k]!, t[k]!));
  if (ours.length === printed.length) {
    const t = printed[ours.indexOf(opt)];
    return t && fits(t) ? t : undefined;
  }
  const singled = printed.filter((t) => shared(t).length > 0 && fits(t));
  return singled.length === 1 ? singled[0] : undefined;
}

function samePlace(key: string, a: PropValue, b: PropValue): boolean {
  if (key === 'addr') {
    const [x, y] = [parsePciAddr(scalarText(a)), parsePciAddr(scalarText(b))];
    if (x && y) return x.slot === y.slot && x.function === y.function;
  }
  if (key === 'mac') return scalarText(a).toLowerCase() === scalarText(b).toLowerCase();
  return scalarText(a) === scalarText(b);
}

function sameValue(a: PropValue, b: PropValue): boolean {
  return scalarText(a) === scalarText(b);
}

/**
 * A property value as <qemu:property>: JSON values carry their type. NB: QEMU reads JSON -device
 * strictly typed ("expected: boolean" for "on"), so a QemuOpts value is typed too: by the option
 * table, else on/off (QemuOpts' boolean spelling, and what a bare flag stands for) as bool and an
 * integer as a number. No override holds null, a fraction, a list or an object.
 */
function overrideProperty(name: string, v: PropValue, opt: ParsedOption): QemuPropertyOverride | undefined {
  const integer = (n: number): QemuPropertyOverride => ({ name, type: n < 0 ? 'signed' : 'unsigned', value: String(n) });
  if (typeof v === 'boolean') return { name, type: 'bool', value: String(v) };
  if (typeof v === 'number') return Number.isSafeInteger(v) ? integer(v) : undefined;
  if (typeof v !== 'string') return undefined;
  if (opt.value.kind !== 'props' || opt.value.form !== 'keyval') return { name, type: 'string', value: v };
  const typed = opt.spec?.props?.[name];
  if (typed === 'string') return { name, type: 'string', value: v };
  if (typed !== 'number' && typed !== 'size' && (v === 'on' || v === 'off')) return { name, type: 'bool', value: String(v === 'on') };
  if (typed !== 'bool' && /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v))) return integer(Number(v));
  return { name, type: 'string', value: v };
}
