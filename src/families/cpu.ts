// <cpu>: mode, model, topology, features. argv: -cpu MODEL,+feat,-feat / feat=on|off.
import type { ArgvReader } from '../ir/argv-reader.js';
import { optText } from '../ir/argv-reader.js';
import type { Cpu, Feature, NumaCell } from '../ir/domain.js';
import { fail } from '../errors.js';
import { isArmVirt } from '../ir/defaults.js';
import { has } from '../qemu/caps.js';
import type { EmitContext } from '../emit/context.js';
import { featureElement, stateOf } from './features.js';
import { readCellMemoryXml, readInterconnectsXml, writeCellMemory, writeInterconnectsXml } from './memory.js';
import { child, children, el, type XmlElement } from '../xml/tree.js';
import { checkEnum, enumAttr, intAttr, reqAttr } from '../xml/values.js';

const KNOWN = new Set(['model', 'vendor', 'topology', 'cache', 'maxphysaddr', 'feature', 'numa']);
const POLICIES = ['force', 'require', 'optional', 'disable', 'forbid'] as const;

export function readCpuXml(e: XmlElement): Cpu {
  const model = child(e, 'model');
  const topo = child(e, 'topology');
  const vendor = child(e, 'vendor');
  const cache = child(e, 'cache');
  const maxphysaddr = child(e, 'maxphysaddr');
  const numa = child(e, 'numa');
  const interconnects = numa && child(numa, 'interconnects');
  return {
    ...(e.attrs.mode ? { mode: enumAttr(e, 'mode', ['custom', 'host-model', 'host-passthrough', 'maximum'] as const) } : {}),
    ...(e.attrs.match ? { match: enumAttr(e, 'match', ['minimum', 'exact', 'strict'] as const) } : {}),
    ...(e.attrs.check ? { check: enumAttr(e, 'check', ['none', 'partial', 'full'] as const) } : {}),
    ...(e.attrs.migratable ? { migratable: enumAttr(e, 'migratable', ['on', 'off'] as const) === 'on' } : {}),
    ...(model ? { model: model.text.trim(), ...(model.attrs.fallback ? { fallback: enumAttr(model, 'fallback', ['allow', 'forbid'] as const) } : {}) } : {}),
    ...(vendor ? { vendor: vendor.text.trim() } : {}),
    ...(topo
      ? {
          topology: {
            sockets: intAttr(topo, 'sockets') ?? 1,
            ...(topo.attrs.dies !== undefined ? { dies: intAttr(topo, 'dies') } : {}),
            cores: intAttr(topo, 'cores') ?? 1,
            threads: intAttr(topo, 'threads') ?? 1,
          },
        }
      : {}),
    ...(cache ? { cache: { ...(intAttr(cache, 'level') !== undefined ? { level: intAttr(cache, 'level') } : {}), mode: checkEnum(cache, 'cpu cache mode', reqAttr(cache, 'mode'), ['emulate', 'passthrough', 'disable'] as const) } } : {}),
    ...(maxphysaddr
      ? { maxphysaddr: { mode: checkEnum(maxphysaddr, 'maxphysaddr mode', reqAttr(maxphysaddr, 'mode'), ['passthrough', 'emulate'] as const), ...(maxphysaddr.attrs.bits !== undefined ? { bits: intAttr(maxphysaddr, 'bits') } : {}) } }
      : {}),
    features: children(e, 'feature').map((f) => ({ policy: checkEnum(f, 'cpu feature policy', f.attrs.policy ?? 'require', POLICIES), name: reqAttr(f, 'name') })),
    ...(numa ? { numa: children(numa, 'cell').map(readNumaCell) } : {}),
    ...(interconnects ? { interconnects: readInterconnectsXml(interconnects) } : {}),
    extra: e.children.filter((c) => !KNOWN.has(c.name)),
    $span: e.span,
  };
}

function readNumaCell(c: XmlElement, i: number): NumaCell {
  return {
    id: intAttr(c, 'id') ?? i,
    ...(c.attrs.cpus !== undefined ? { cpus: c.attrs.cpus } : {}),
    ...readCellMemoryXml(c),
  };
}

function writeNumaCell(n: NumaCell): XmlElement {
  const mem = writeCellMemory(n);
  return el('cell', { id: n.id, cpus: n.cpus, ...mem.attrs }, mem.children);
}

export function writeCpuXml(c: Cpu): XmlElement {
  return el(
    'cpu',
    { mode: c.mode, match: c.match, check: c.check, migratable: c.migratable === undefined ? undefined : c.migratable ? 'on' : 'off' },
    c.model !== undefined && el('model', { fallback: c.fallback }, c.model),
    c.vendor !== undefined && el('vendor', {}, c.vendor),
    c.topology && el('topology', { sockets: c.topology.sockets, dies: c.topology.dies, cores: c.topology.cores, threads: c.topology.threads }),
    c.cache && el('cache', { level: c.cache.level, mode: c.cache.mode }),
    c.maxphysaddr && el('maxphysaddr', { mode: c.maxphysaddr.mode, bits: c.maxphysaddr.bits }),
    c.features.map((f) => el('feature', { policy: f.policy, name: f.name })),
    c.numa && el('numa', {}, c.numa.map(writeNumaCell), writeInterconnectsXml(c.interconnects)),
    c.extra,
  );
}

const X86 = new Set(['x86_64', 'i686']);

/** libvirt feature names QEMU spells differently (virQEMUCapsCPUFeaturesX86 translations). */
const QEMU_FEATURE_NAME: Record<string, string> = { pclmuldq: 'pclmulqdq' };
const qemuFeature = (name: string) => QEMU_FEATURE_NAME[name] ?? name.replace(/_/g, '-');

/** Hyper-V enlightenments libvirt passes as hv-NAME=on, in its order (virDomainHyperv). */
const HYPERV_ORDER = ['relaxed', 'vapic', 'spinlocks', 'vpindex', 'runtime', 'synic', 'stimer', 'reset', 'vendor_id', 'frequencies', 'reenlightenment', 'tlbflush', 'ipi', 'evmcs', 'avic'];

/** -cpu flags that come from <features>, <clock> timers and the Hyper-V panic device. */
function extraCpuFlags(ctx: EmitContext): string[] {
  const dom = ctx.dom;
  const out: string[] = [];
  for (const t of dom.clock.timers) {
    if (t.name === 'kvmclock' && t.present !== undefined) out.push(`kvmclock=${t.present ? 'on' : 'off'}`);
    if (t.name === 'hypervclock' && t.present) out.push('hv-time=on');
    if (t.name === 'tsc' && t.frequency !== undefined) out.push(`tsc-frequency=${t.frequency}`);
  }
  const apic = dom.features.find((f) => f.kind === 'apic');
  if (apic?.kind === 'apic' && apic.eoi) out.push(`kvm-pv-eoi=${apic.eoi}`);
  const pvspin = stateOf(featureElement(dom.features, 'pvspinlock'));
  if (pvspin !== undefined) out.push(`kvm-pv-unhalt=${pvspin ? 'on' : 'off'}`);
  const hyperv = featureElement(dom.features, 'hyperv');
  if (hyperv) {
    if (hyperv.attrs.mode === 'passthrough') out.push('hv-passthrough=on');
    for (const name of HYPERV_ORDER) {
      const e = hyperv.children.find((c) => c.name === name);
      if (!e || stateOf(e) !== true) continue;
      if (name === 'spinlocks') out.push(`hv-spinlocks=0x${Number(e.attrs.retries ?? 0xfff).toString(16)}`);
      else if (name === 'vendor_id') out.push(`hv-vendor-id=${e.attrs.value ?? ''}`);
      else out.push(`hv-${name}=on`);
      if (name === 'stimer' && stateOf(e.children.find((c) => c.name === 'direct')) === true) out.push('hv-stimer-direct=on');
    }
  }
  const kvm = featureElement(dom.features, 'kvm');
  if (kvm) {
    const st = (n: string) => stateOf(kvm.children.find((c) => c.name === n));
    if (st('hidden') === true) out.push('kvm=off');
    if (st('hint-dedicated') === true) out.push('kvm-hint-dedicated=on');
    if (st('poll-control') === true) out.push('kvm-poll-control=on');
    const ipi = st('pv-ipi');
    if (ipi === false) out.push('kvm-pv-ipi=off');
  }
  const pmu = stateOf(featureElement(dom.features, 'pmu'));
  if (pmu !== undefined) out.push(`pmu=${pmu ? 'on' : 'off'}`);
  // the Hyper-V crash MSRs are how a <panic model='hyperv'/> reaches the guest (NB: libvirt
  // prints this one flag bare, without =on)
  if (dom.devices.panics.some((p) => p.model === 'hyperv')) out.push('hv-crash');
  return out;
}

export function buildCpu(ctx: EmitContext): void {
  const cpu = ctx.dom.cpu;
  const arch = ctx.dom.os.arch ?? ctx.caps.arch;
  let model: string | undefined;
  if (cpu?.mode === 'host-passthrough' || cpu?.mode === 'host-model') model = 'host';
  else if (cpu?.mode === 'maximum') model = 'max';
  else if (cpu?.model) model = cpu.model;
  const extra = X86.has(arch) ? extraCpuFlags(ctx) : [];
  // NB: without a model of its own the guest gets the emulator's default (qemu64 for
  // qemu-system-x86_64, whatever the guest arch), named when flags follow it
  if (!model && X86.has(arch) && (has(ctx.caps, 'cpu.default-model') || extra.length)) model = 'qemu64';
  if (!model) return;
  const feats = (cpu?.features ?? [])
    .filter((f) => f.policy !== 'optional')
    .map((f) => `${qemuFeature(f.name)}=${f.policy === 'disable' || f.policy === 'forbid' ? 'off' : 'on'}`);
  // NB: libvirt's order: the model, migratable (host/max only), features, the flags of other
  // elements, then the cache properties and the physical address width (qemuBuildCpuModelArgStr,
  // qemuBuildCpuCommandLine)
  const migratable = cpu?.migratable !== undefined && (model === 'host' || model === 'max') && has(ctx.caps, 'cpu.migratable') ? [`migratable=${cpu.migratable ? 'on' : 'off'}`] : [];
  ctx.out.raw('-cpu', [model, ...migratable, ...feats, ...extra, ...cacheFlags(ctx, model), ...physBitsFlags(cpu?.maxphysaddr)].join(','));
}

/** <maxphysaddr>: phys-bits=N, and host-phys-bits=on for the host's width (libvirt 9.0 allows no bits with it). */
function physBitsFlags(m: Cpu['maxphysaddr']): string[] {
  if (!m) return [];
  return [...(m.bits !== undefined ? [`phys-bits=${m.bits}`] : []), ...(m.mode === 'passthrough' ? ['host-phys-bits=on'] : [])];
}

/** <cache mode>: l3-cache=on for an emulated L3; the host's cache info; or neither. */
function cacheFlags(ctx: EmitContext, model: string): string[] {
  const mode = ctx.dom.cpu?.cache?.mode;
  if (!mode) return [];
  const out = mode === 'emulate' ? ['l3-cache=on'] : mode === 'passthrough' ? ['host-cache-info=on'] : [];
  if (!has(ctx.caps, 'cpu.cache')) return out;
  // NB: host-cache-info exists on host/max CPUs only
  if (mode !== 'passthrough' && (model === 'host' || model === 'max')) out.push('host-cache-info=off');
  if (mode !== 'emulate') out.push('l3-cache=off');
  return out;
}

/** The CPU of QEMU 7.2's virt machine types, which libvirt names for a TCG guest without a model. */
export const ARM_VIRT_DEFAULT_MODEL = 'cortex-a15';

/** QEMU x86 CPU models without long mode: a guest on one of them is i686 whatever the emulator. */
const MODELS_32BIT = new Set(['qemu32', 'kvm32', 'pentium', 'pentium2', 'pentium3', '486', 'coreduo', 'n270', 'athlon']);

/** Hyper-V enlightenments -cpu accepts as hv_NAME (spinlocks and vendor_id take a value). */
const HYPERV_FLAGS = new Set(['relaxed', 'vapic', 'spinlocks', 'vpindex', 'runtime', 'synic', 'stimer', 'reset', 'vendor_id', 'frequencies', 'reenlightenment', 'tlbflush', 'ipi', 'evmcs', 'avic']);

/** The <features><kvm> child each kvm-* -cpu flag is (extraCpuFlags), and libvirt's order of them. */
/**
 * Properties of QEMU's x86 CPU object that are not CPUID features, so never a <feature>: those on by
 * default (check warns about missing features, vmware-cpuid-freq) mean nothing when set on, and
 * the rest have no element in libvirt 9.0 (host-phys-bits-limit came with maxphysaddr limit= in
 * 9.1), so they are dropped with a warning (QEMU takes one -cpu: a second could not carry them);
 * host-phys-bits and phys-bits are <maxphysaddr>.
 */
const CPU_PROPS_ON_BY_DEFAULT = new Set(['check', 'vmware-cpuid-freq', 'full-cpuid-auto-level']);
const CPU_PROPS = new Set(['vendor', 'model-id', 'family', 'model', 'stepping', 'level', 'xlevel', 'min-level', 'min-xlevel', 'host-phys-bits-limit', 'lmce', 'legacy-cache', 'ucode-rev', 'fill-mtrr-mask', 'cpuid-0xb', 'tcg-cpuid', 'kvm-no-smi-migration']);
const KVM_FLAGS: Readonly<Record<string, string>> = { 'kvm-hint-dedicated': 'hint-dedicated', 'kvm-poll-control': 'poll-control', 'kvm-pv-ipi': 'pv-ipi' };
const KVM_ORDER = ['hidden', 'hint-dedicated', 'poll-control', 'pv-ipi'];

const isOn = (v: string | undefined) => v === undefined || ['on', 'true', 'yes'].includes(v);

/**
 * -cpu MODEL[,+FEAT|-FEAT|FEAT=on|off|hv_…|kvm=off…] as libvirt's parser read it: qemu32/qemu64
 * alone are QEMU's defaults (no <cpu>); some flags are not CPUID features but other elements:
 * kvmclock is a clock timer, kvm-pv-eoi the APIC's EOI, kvm-pv-unhalt <pvspinlock>, hv_* Hyper-V
 * features (hv-passthrough the mode, hv-stimer-direct a child of stimer), hv_crash a panic device,
 * kvm=off and kvm-* hints <features><kvm>, pmu <pmu>, tsc-frequency the tsc timer.
 */
export function readCpuArgv(r: ArgvReader): void {
  const o = r.takeLast('-cpu');
  if (!o) return;
  const d = r.draft;
  const [model = '', ...flags] = (o.value.kind === 'props' ? (o.rawValue ?? '') : optText(o)).split(',');
  if (!model) return fail('BadOptionValue', { option: '-cpu', value: o.rawValue ?? '', reason: 'no CPU model' }, o.valueSpan);
  const features: Array<Cpu['features'][number]> = [];
  const hyperv: XmlElement[] = [];
  let hypervMode: 'custom' | 'passthrough' = 'custom';
  let stimerDirect = false;
  const kvm: XmlElement[] = [];
  let migratable: boolean | undefined;
  let check: Cpu['check'];
  const cacheProps: { l3?: boolean; host?: boolean } = {};
  const physBits: { host?: boolean; bits?: number } = {};
  const x86 = X86.has(d.os.arch ?? '');
  for (const flag of flags) {
    if (!flag) return fail('BadOptionValue', { option: '-cpu', value: o.rawValue ?? '', reason: 'empty CPU flag' }, o.valueSpan);
    const m = /^([+-])(.+)$/.exec(flag) ?? /^([^=]+)=(on|off|true|false|yes|no)$/.exec(flag);
    const hv = /^hv[_-]([^=]+)(?:=(.*))?$/.exec(flag);
    if (flag === 'hv_crash' || flag === 'hv-crash') d.devices.panics.push({ model: 'hyperv', extra: [] });
    // the Hyper-V reference clock is a <clock> timer, not an enlightenment
    else if (hv && hv[1] === 'time') d.clock.timers = [...d.clock.timers.filter((t) => t.name !== 'hypervclock'), { name: 'hypervclock', present: hv[2] !== 'off' }];
    else if (hv && hv[1] === 'passthrough') hypervMode = isOn(hv[2]) ? 'passthrough' : 'custom';
    else if (hv && (hv[1] === 'stimer-direct' || hv[1] === 'stimer_direct')) stimerDirect = isOn(hv[2]);
    else if (hv && HYPERV_FLAGS.has(hv[1]!.replace(/-/g, '_'))) {
      const name = hv[1]!.replace(/-/g, '_');
      const value = hv[2];
      if (name === 'spinlocks') {
        // NB: Hyper-V ignores spinlock retry counts below 0xfff, so libvirt raised them
        const retries = value === undefined ? NaN : Number(value);
        if (!Number.isInteger(retries)) return fail('BadOptionValue', { option: '-cpu', value: flag, reason: 'hv_spinlocks needs a retry count' }, o.valueSpan);
        hyperv.push(el('spinlocks', { state: 'on', retries: Math.max(retries, 0xfff) }));
      } else if (name === 'vendor_id') hyperv.push(el('vendor_id', { state: 'on', value }));
      else hyperv.push(el(name, { state: value === 'off' ? 'off' : 'on' }));
    } else if (flag === 'kvm=off') kvm.push(el('hidden', { state: 'on' }));
    // QEMU's default: KVM's signature visible
    else if (flag === 'kvm=on') continue;
    // NB: enforce refuses to start without every feature asked for: libvirt's check='full' (which
    // libvirt checks itself, printing nothing)
    else if (flag === 'enforce' || /^enforce=(on|true|yes)$/.test(flag)) check = 'full';
    else if (CPU_PROPS_ON_BY_DEFAULT.has(flag) || (m && CPU_PROPS_ON_BY_DEFAULT.has(m[1]!) && isOn(m[2]))) continue;
    else if (CPU_PROPS.has(flag.replace(/=.*$/, '')) || /^x-/.test(flag) || (m && CPU_PROPS_ON_BY_DEFAULT.has(m[1]!))) r.diag.warn('IgnoredProperty', { option: '-cpu', property: flag }, o.valueSpan);
    else if (/^migratable=(on|off|true|false|yes|no)$/.test(flag) && (model === 'host' || model === 'max')) migratable = /=(on|true|yes)$/.test(flag);
    else if (/^(l3-cache|host-cache-info)=(on|off|true|false|yes|no)$/.test(flag)) cacheProps[flag.startsWith('l3') ? 'l3' : 'host'] = /=(on|true|yes)$/.test(flag);
    // <maxphysaddr>: host-phys-bits=on is mode='passthrough', phys-bits=N alone mode='emulate'
    else if (/^host-phys-bits=(on|off|true|false|yes|no)$/.test(flag)) physBits.host = /=(on|true|yes)$/.test(flag);
    else if (/^phys-bits=\d+$/.test(flag)) physBits.bits = Number(flag.slice('phys-bits='.length));
    // <features><kvm> hints, <pmu state>, <timer name='tsc' frequency>
    else if (m && !/^[+-]$/.test(m[1]!) && KVM_FLAGS[m[1]!]) kvm.push(el(KVM_FLAGS[m[1]!]!, { state: isOn(m[2]) ? 'on' : 'off' }));
    else if (m && m[1] === 'pmu') setFeature(d.features, { kind: 'other', element: el('pmu', { state: isOn(m[2]) ? 'on' : 'off' }) });
    else if (/^tsc-frequency=\d+$/.test(flag)) d.clock.timers = [...d.clock.timers.filter((t) => t.name !== 'tsc'), { ...d.clock.timers.find((t) => t.name === 'tsc'), name: 'tsc', frequency: Number(flag.slice(14)) }];
    else if (m || /^[a-z0-9][a-z0-9_.-]*$/i.test(flag)) {
      // NB: a bare name is QEMU's shorthand for NAME=on
      const on = !m || m[1] === '+' || ['on', 'true', 'yes'].includes(m[2]!);
      const name = !m ? flag : m[1] === '+' || m[1] === '-' ? m[2]! : m[1]!;
      if (!x86) return fail('BadOptionValue', { option: '-cpu', value: flag, reason: `${d.os.arch} CPUs have no feature flags` }, o.valueSpan);
      if (name === 'kvmclock') d.clock.timers = [...d.clock.timers.filter((t) => t.name !== 'kvmclock'), { name: 'kvmclock', present: on }];
      // NB: libvirt 5.4 spelled these kvm_pv_eoi/kvm_pv_unhalt; 9.0 writes QEMU's kvm-pv-* names
      else if (name === 'kvm_pv_eoi' || name === 'kvm-pv-eoi') setFeature(d.features, { kind: 'apic', eoi: on ? 'on' : 'off' });
      else if (name === 'kvm_pv_unhalt' || name === 'kvm-pv-unhalt') setFeature(d.features, { kind: 'other', element: el('pvspinlock', { state: on ? 'on' : 'off' }) });
      else features.push({ policy: on ? 'require' : 'disable', name });
    } else r.diag.warn('IgnoredProperty', { option: '-cpu', property: flag }, o.valueSpan);
  }
  // hv-stimer-direct is a child of stimer (QEMU refuses it without hv-stimer)
  const stimer = hyperv.findIndex((e) => e.name === 'stimer' && e.attrs.state === 'on');
  if (stimerDirect && stimer >= 0) hyperv[stimer] = el('stimer', { state: 'on' }, el('direct', { state: 'on' }));
  else if (stimerDirect) r.diag.warn('IgnoredProperty', { option: '-cpu', property: 'hv-stimer-direct (without hv-stimer)' }, o.valueSpan);
  hyperv.sort((a, b) => HYPERV_ORDER.indexOf(a.name) - HYPERV_ORDER.indexOf(b.name));
  // NB: libvirt 9.0 always writes the mode; hv-NAME flags one by one are mode='custom'
  if (hyperv.length || hypervMode === 'passthrough') setFeature(d.features, { kind: 'other', element: el('hyperv', { mode: hypervMode }, hyperv) });
  kvm.sort((a, b) => KVM_ORDER.indexOf(a.name) - KVM_ORDER.indexOf(b.name));
  if (kvm.length) setFeature(d.features, { kind: 'other', element: el('kvm', {}, kvm) });
  // NB: host-cache-info=on passes every cache leaf through, so an l3-cache= beside it has no
  // effect; host-cache-info=off alone is QEMU's default
  const cache: Cpu['cache'] = cacheProps.host ? { mode: 'passthrough' } : cacheProps.l3 ? { level: 3, mode: 'emulate' } : cacheProps.l3 === false ? { mode: 'disable' } : undefined;
  // NB: libvirt 9.0 refuses bits with mode='passthrough'; host-phys-bits=off is QEMU's default
  const maxphysaddr: Cpu['maxphysaddr'] = physBits.host ? { mode: 'passthrough' } : physBits.bits !== undefined ? { mode: 'emulate', bits: physBits.bits } : undefined;
  if (physBits.host && physBits.bits !== undefined) r.diag.warn('IgnoredProperty', { option: '-cpu', property: `phys-bits=${physBits.bits} (with host-phys-bits=on)` }, o.valueSpan);
  const base: Cpu = { ...(d.cpu ?? { features: [], extra: [] }), ...(check ? { check } : {}), ...(migratable !== undefined ? { migratable } : {}), ...(cache ? { cache } : {}), ...(maxphysaddr ? { maxphysaddr } : {}) };
  if (model === 'host') d.cpu = { ...base, mode: 'host-passthrough', features };
  else if (model === 'max') d.cpu = { ...base, mode: 'maximum', features };
  // NB: libvirt 9.0 prints the emulator's default model itself (-cpu qemu64 and nothing else) and
  // defines it as this very element (qemuDomainDefSetDefaultCPU, check='none'); the default model
  // with flags that became other elements (kvm=off, -kvmclock) is implicit, as libvirt 5.4 read it
  else if ((model === 'qemu32' || model === 'qemu64' || (model === ARM_VIRT_DEFAULT_MODEL && isArmVirt(d.os.arch, d.os.machine))) && !flags.length) d.cpu = { ...base, mode: 'custom', match: 'exact', check: 'none', model, fallback: 'forbid', features };
  else if (!((model === 'qemu32' || model === 'qemu64') && !features.length && !check && !cache && !maxphysaddr)) d.cpu = { ...base, mode: 'custom', match: 'exact', model, features };
  // the 64-bit emulator running a CPU without long mode is an i686 guest
  const lm = features.find((f) => f.name === 'lm');
  if (d.os.arch === 'x86_64' && (lm ? lm.policy === 'disable' : MODELS_32BIT.has(model))) d.os.arch = 'i686';
}

/** Adds a <features> child, replacing one of the same kind (or, for 'other', the same element). */
function setFeature(list: Feature[], f: Feature): void {
  const same = (x: Feature) => x.kind === f.kind && (x.kind !== 'other' || (f.kind === 'other' && x.element.name === f.element.name));
  const i = list.findIndex(same);
  if (i >= 0) list[i] = f;
  else list.push(f);
}
