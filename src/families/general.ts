// General domain facts: name, uuid, title/description, memory, currentMemory, vcpu.
// XML <name>/<uuid>/<memory>/<currentMemory>/<vcpu>  <->  argv -name, -uuid, -m, -smp, RAM backend.
import { fail } from '../errors.js';
import type { ArgvReader, DomainDraft } from '../ir/argv-reader.js';
import { optProps, optText } from '../ir/argv-reader.js';
import type { Domain, Vcpu } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import { propNum, propStr, props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { el, textEl, type XmlElement } from '../xml/tree.js';
import { enumAttr, intAttr, parseIntValue, parseSizeWord, sizeKiB } from '../xml/values.js';

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

// --- XML -> IR ---------------------------------------------------------------------------------

export function readUuid(e: XmlElement): string {
  const v = e.text.trim();
  if (!UUID_RE.test(v)) return fail('XmlBadValue', { what: 'uuid', value: v, expected: 'a UUID such as c7a5fdbd-edaf-9455-926a-d65c16db1809' }, e.span);
  return normalizeUuid(v);
}

export function normalizeUuid(v: string): string {
  const h = v.replace(/-/g, '').toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function readMemory(e: XmlElement): number {
  return sizeKiB(e);
}

export function readVcpu(e: XmlElement): Vcpu {
  const count = parseIntValue(e, 'vcpu', e.text);
  if (count < 1) return fail('XmlBadValue', { what: 'vcpu', value: e.text, expected: 'at least 1' }, e.span);
  const current = intAttr(e, 'current');
  return {
    count,
    placement: enumAttr(e, 'placement', ['static', 'auto'] as const),
    ...(e.attrs.cpuset !== undefined ? { cpuset: e.attrs.cpuset } : {}),
    ...(current !== undefined ? { current } : {}),
    $span: e.span,
  };
}

// --- IR -> XML ---------------------------------------------------------------------------------

export function writeGeneral(d: Domain): XmlElement[] {
  return [
    el('name', {}, d.name),
    textEl('uuid', d.uuid),
    textEl('title', d.title),
    textEl('description', d.description),
    el('memory', { unit: 'KiB' }, String(d.memory)),
    el('currentMemory', { unit: 'KiB' }, String(d.currentMemory ?? d.memory)),
    el('vcpu', { placement: d.vcpu.placement ?? 'static', cpuset: d.vcpu.cpuset, current: d.vcpu.current }, String(d.vcpu.count)),
  ].filter((x): x is XmlElement => x !== undefined);
}

// --- IR -> argv --------------------------------------------------------------------------------

export function buildName(ctx: EmitContext): void {
  const { dom, out } = ctx;
  if (has(ctx.caps, 'name.guest')) out.keyval('-name', props({ guest: dom.name, 'debug-threads': 'on' }));
  else out.raw('-name', dom.name);
}

/** Guest RAM in MiB as -m prints it. */
export function memoryMiB(ctx: EmitContext): number {
  // NB: libvirt aligns guest RAM up to a whole MiB at define time (219200 KiB -> 215 MiB);
  // libvirt releases of the QEMU 0.12 era truncated instead (-> 214).
  const kib = ctx.dom.memory;
  return has(ctx.caps, 'memory.round-up') ? Math.ceil(kib / 1024) : Math.floor(kib / 1024);
}

export function buildMemory(ctx: EmitContext): void {
  const mib = memoryMiB(ctx);
  ctx.out.raw('-m', String(mib));
  if (has(ctx.caps, 'memory-backend')) {
    ctx.out.object('-object', props({ 'qom-type': 'memory-backend-ram', id: ramBackendId(ctx), size: mib * 1024 * 1024 }));
  }
}

/** The id QEMU gives the machine's main RAM backend (MachineClass default_ram_id). */
export function ramBackendId(ctx: EmitContext): string {
  const m = ctx.dom.os.machine ?? 'pc';
  return /^(pc|q35|pc-)/.test(m) ? 'pc.ram' : m.startsWith('virt') ? 'mach-virt.ram' : 'ram';
}

export function buildSmp(ctx: EmitContext): void {
  const v = ctx.dom.vcpu;
  const topo = ctx.dom.cpu?.topology;
  if (!has(ctx.caps, 'smp.topology')) {
    ctx.out.raw('-smp', String(v.current ?? v.count));
    return;
  }
  ctx.out.keyval('-smp', props({
    cpus: v.current ?? v.count,
    maxcpus: v.current !== undefined && v.current !== v.count ? v.count : undefined,
    sockets: topo?.sockets ?? v.count,
    dies: topo?.dies !== undefined && topo.dies !== 1 ? topo.dies : undefined,
    cores: topo?.cores ?? 1,
    threads: topo?.threads ?? 1,
  }));
}

export function buildUuid(ctx: EmitContext): void {
  if (ctx.dom.uuid && has(ctx.caps, 'uuid')) ctx.out.raw('-uuid', ctx.dom.uuid);
}

// --- argv -> IR --------------------------------------------------------------------------------

export function readGeneralArgv(r: ArgvReader): void {
  const d: DomainDraft = r.draft;
  const name = r.takeLast('-name');
  if (name) {
    const p = optProps(name);
    // old libvirt: "-name NAME,process=…"; new: "-name guest=NAME,debug-threads=on"
    const n = propStr(p, 'guest');
    if (n) d.name = n;
  }
  const uuid = r.takeLast('-uuid');
  if (uuid) {
    const v = optText(uuid);
    if (!UUID_RE.test(v)) fail('BadOptionValue', { option: '-uuid', value: v, reason: 'not a UUID' }, uuid.valueSpan);
    d.uuid = normalizeUuid(v);
  }
  const mem = r.takeLast('-m');
  if (mem) {
    const p = optProps(mem);
    const size = propStr(p, 'size');
    const kib = size !== undefined ? parseSizeWord(size, 'M') : undefined;
    if (kib === undefined) return fail('BadOptionValue', { option: '-m', value: size ?? '', reason: 'expected a size such as 512, 512M or 2G' }, mem.valueSpan);
    d.memory = kib;
    d.currentMemory = kib;
    const maxmem = propStr(p, 'maxmem');
    if (maxmem !== undefined) r.diag.warn('IgnoredProperty', { option: '-m', property: 'maxmem' }, mem.valueSpan);
  }
  const smp = r.takeLast('-smp');
  if (smp) {
    const p = optProps(smp);
    const cpus = propNum(p, 'cpus');
    const maxcpus = propNum(p, 'maxcpus');
    const sockets = propNum(p, 'sockets');
    const cores = propNum(p, 'cores');
    const threads = propNum(p, 'threads');
    const dies = propNum(p, 'dies');
    const topoCount = sockets !== undefined || cores !== undefined || threads !== undefined ? (sockets ?? 1) * (dies ?? 1) * (cores ?? 1) * (threads ?? 1) : undefined;
    const max = maxcpus ?? cpus ?? topoCount ?? 1;
    d.vcpu = { count: max, placement: 'static', ...(cpus !== undefined && cpus !== max ? { current: cpus } : {}), $span: smp.span };
    if (sockets !== undefined || cores !== undefined || threads !== undefined) {
      const explicit = (sockets ?? 1) * (cores ?? 1) * (threads ?? 1) * (dies ?? 1) === max;
      // libvirt writes a <topology> only when it is not the default (all sockets)
      const trivial = (cores ?? 1) === 1 && (threads ?? 1) === 1 && (dies ?? 1) === 1;
      if (explicit && !trivial) {
        d.cpu = { ...(d.cpu ?? { features: [], extra: [] }), topology: { sockets: sockets ?? 1, ...(dies !== undefined && dies !== 1 ? { dies } : {}), cores: cores ?? 1, threads: threads ?? 1 } };
      }
    }
  }
}
