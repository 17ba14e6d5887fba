// General domain facts: name, uuid, title/description, memory, currentMemory, vcpu.
// XML <name>/<uuid>/<maxMemory>/<memory>/<currentMemory>/<vcpu>, NUMA cells  <->  argv -name, -uuid, -m, -smp, RAM backends, -numa.
import { fail } from '../errors.js';
import type { ArgvReader, DomainDraft } from '../ir/argv-reader.js';
import { optProps, optText } from '../ir/argv-reader.js';
import type { Domain, NumaCell, Vcpu } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import { formatVersion } from '../qemu/version.js';
import { propNum, propStr, props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { child, children, el, textEl, type XmlElement } from '../xml/tree.js';
import { domainShortName } from '../emit/context.js';
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

export function readMaxMemory(e: XmlElement): NonNullable<Domain['maxMemory']> {
  const slots = intAttr(e, 'slots');
  return { size: sizeKiB(e), ...(slots !== undefined ? { slots } : {}) };
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
    d.maxMemory && el('maxMemory', { slots: d.maxMemory.slots, unit: 'KiB' }, String(d.maxMemory.size)),
    el('memory', { unit: 'KiB' }, String(d.memory)),
    el('currentMemory', { unit: 'KiB' }, String(d.currentMemory ?? d.memory)),
    el('vcpu', { placement: d.vcpu.placement ?? 'static', cpuset: d.vcpu.cpuset, current: d.vcpu.current }, String(d.vcpu.count)),
    d.iothreads !== undefined ? el('iothreads', {}, String(d.iothreads)) : undefined,
  ].filter((x): x is XmlElement => x !== undefined);
}

// --- IR -> argv --------------------------------------------------------------------------------

export function buildName(ctx: EmitContext): void {
  const { dom, out } = ctx;
  if (has(ctx.caps, 'name.guest')) out.keyval('-name', props({ guest: dom.name, 'debug-threads': 'on' }));
  else {
    // NB: before QemuOpts, QEMU cut -name at the first comma and read the rest as `process=`:
    // a comma cannot be escaped there, and passing it would hand QEMU a second setting
    if (dom.name.includes(',')) fail('Unrepresentable', { what: `the name '${dom.name}'`, target: `QEMU ${formatVersion(ctx.caps.version)}`, why: "its -name has no way to escape ','" }, dom.$span);
    out.raw('-name', dom.name);
  }
}

/** NB: libvirt aligns each NUMA cell's memory up to a whole MiB at define time. */
const cellKiB = (c: NumaCell): number => Math.ceil(c.memory / 1024) * 1024;

/** Guest RAM at start in KiB: the NUMA cells' sum when there are cells, else <memory>. */
function initialKiB(dom: Domain): number {
  const cells = dom.cpu?.numa ?? [];
  return cells.length ? cells.reduce((n, c) => n + cellKiB(c), 0) : dom.memory;
}

/** Guest RAM in MiB as -m prints it. */
export function memoryMiB(ctx: EmitContext): number {
  // NB: libvirt aligns guest RAM up to a whole MiB at define time (219200 KiB -> 215 MiB);
  // libvirt releases of the QEMU 0.12 era truncated instead (-> 214).
  const kib = initialKiB(ctx.dom);
  return has(ctx.caps, 'memory.round-up') ? Math.ceil(kib / 1024) : Math.floor(kib / 1024);
}

/** <memoryBacking><hugepages>: the pages asked for (size in KiB, for which NUMA nodes); undefined = none. */
function hugepages(dom: Domain): Array<{ size?: number; nodes?: readonly number[] }> | undefined {
  const mb = dom.extra.find((e) => e.name === 'memoryBacking');
  const hp = mb && child(mb, 'hugepages');
  if (!hp) return undefined;
  const pages = children(hp, 'page').map((p) => ({
    ...(p.attrs.size !== undefined ? { size: sizeKiB({ ...p, text: p.attrs.size }) } : {}),
    ...(p.attrs.nodeset !== undefined ? { nodes: parseIdSet(p.attrs.nodeset) } : {}),
  }));
  return pages.length ? pages : [{}];
}

/** "0-2,5" -> [0, 1, 2, 5] */
function parseIdSet(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',')) {
    const [a, b] = part.split('-').map((x) => Number(x.trim()));
    if (a === undefined || Number.isNaN(a)) continue;
    for (let i = a; i <= (b ?? a); i++) out.push(i);
  }
  return out;
}

/**
 * The hugetlbfs directory for a page size: libvirt statfs()es each configured mount; we take the
 * mount whose name ends in the size ("…2M", "…1G") and fall back to the first (the default size).
 */
function hugepagePath(ctx: EmitContext, size: number | undefined): string {
  const mounts = ctx.conf.hugetlbfsMount;
  const label = (kib: number) => (kib % 1048576 === 0 ? `${kib / 1048576}G` : kib % 1024 === 0 ? `${kib / 1024}M` : `${kib}K`);
  const mount = (size !== undefined ? mounts.find((m) => m.toUpperCase().endsWith(label(size))) : undefined) ?? mounts[0] ?? '/dev/hugepages';
  return `${mount}/libvirt/qemu/${domainShortName(-1, ctx.dom.name)}`;
}

/** <memoryBacking><source type>, <access mode>: where guest RAM comes from and whether it is shared. */
function backing(dom: Domain): { source?: string; shared?: boolean } {
  const mb = dom.extra.find((e) => e.name === 'memoryBacking');
  const mode = mb && child(mb, 'access')?.attrs.mode;
  return { ...(mb && child(mb, 'source') ? { source: child(mb, 'source')!.attrs.type } : {}), ...(mode ? { shared: mode === 'shared' } : {}) };
}

/**
 * One RAM backend (qemuBuildMemoryBackendProps): hugepages and file-backed RAM are
 * memory-backend-file, memfd memory-backend-memfd, else memory-backend-ram; `shared` is the
 * access mode (the cell's, else the domain's). The machine-wide backend of a file/memfd guest
 * keeps its RAM block name (x-use-canonical-path-for-ramblock-id=off) for migration.
 */
/** <numatune>: host NUMA binding of guest RAM, for one cell (memnode) or all of it (memory). */
function hostNodes(dom: Domain, cell: number | undefined): { 'host-nodes'?: number[]; policy?: string } {
  const nt = dom.extra.find((e) => e.name === 'numatune');
  const e = cell === undefined ? nt && child(nt, 'memory') : nt?.children.find((c) => c.name === 'memnode' && Number(c.attrs.cellid) === cell);
  const policy = { strict: 'bind', preferred: 'preferred', interleave: 'interleave' }[e?.attrs.mode ?? 'strict'];
  // NB: restrictive mode leaves placement to cgroups, not to QEMU
  if (!e?.attrs.nodeset || !policy) return {};
  return { 'host-nodes': parseIdSet(e.attrs.nodeset), policy };
}

function ramBackend(ctx: EmitContext, id: string, kib: number, page: { size?: number } | undefined, shared: boolean | undefined, machineWide: boolean, cell?: number): void {
  const size = kib * 1024;
  const numa = hostNodes(ctx.dom, machineWide ? undefined : cell);
  const src = backing(ctx.dom).source;
  const share = shared === undefined ? {} : { share: shared };
  const canonical = machineWide ? { 'x-use-canonical-path-for-ramblock-id': false } : {};
  if (page || src === 'file') {
    const path = page ? hugepagePath(ctx, page.size) : `${ctx.conf.memoryBackingDir}/${domainShortName(-1, ctx.dom.name)}/${id}`;
    ctx.out.object('-object', props({ 'qom-type': 'memory-backend-file', id, 'mem-path': path, ...share, ...canonical, ...(page ? { prealloc: true } : {}), size, ...numa }));
  } else if (src === 'memfd') ctx.out.object('-object', props({ 'qom-type': 'memory-backend-memfd', id, ...share, ...canonical, size, ...numa }));
  else ctx.out.object('-object', props({ 'qom-type': 'memory-backend-ram', id, ...share, size, ...numa }));
}

export function buildMemory(ctx: EmitContext): void {
  const dom = ctx.dom;
  const max = dom.maxMemory;
  // NB: with memory hotplug the start size is given exactly (KiB) next to the slots and ceiling
  if (max && has(ctx.caps, 'device')) ctx.out.keyval('-m', props({ size: `${initialKiB(dom)}k`, slots: max.slots, maxmem: `${max.size}k` }));
  else ctx.out.raw('-m', String(memoryMiB(ctx)));
  // NUMA guests get one backend per node instead (see buildSmp)
  if (has(ctx.caps, 'memory-backend') && !dom.cpu?.numa?.length) {
    const page = hugepages(dom)?.find((p) => !p.nodes);
    ramBackend(ctx, ramBackendId(ctx), memoryMiB(ctx) * 1024, page, backing(dom).shared, true);
  }
}

/** NUMA nodes: a RAM backend for each cell and -numa node,nodeid=,cpus=,memdev=. */
function buildNuma(ctx: EmitContext): void {
  const cells = ctx.dom.cpu?.numa ?? [];
  if (!cells.length || !has(ctx.caps, 'device')) return;
  const pages = hugepages(ctx.dom);
  for (const cell of cells) {
    const id = `ram-node${cell.id}`;
    const page = pages?.find((p) => !p.nodes || p.nodes.includes(cell.id));
    ramBackend(ctx, id, cellKiB(cell), page, cell.memAccess ? cell.memAccess === 'shared' : backing(ctx.dom).shared, false, cell.id);
    const cpus = cell.cpus ? cell.cpus.split(',').map((c) => `,cpus=${c}`).join('') : '';
    ctx.out.raw('-numa', `node,nodeid=${cell.id}${cpus},memdev=${id}`);
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
    // NB: an explicit <topology> always names its dies where QEMU knows them
    dies: topo && has(ctx.caps, 'smp.dies') ? (topo.dies ?? 1) : topo?.dies !== undefined && topo.dies !== 1 ? topo.dies : undefined,
    cores: topo?.cores ?? 1,
    threads: topo?.threads ?? 1,
  }));
  buildNuma(ctx);
  if (has(ctx.caps, 'device')) for (let i = 1; i <= (ctx.dom.iothreads ?? 0); i++) ctx.out.object('-object', props({ 'qom-type': 'iothread', id: `iothread${i}` }));
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
    const maxKib = maxmem !== undefined ? parseSizeWord(maxmem, 'M') : undefined;
    if (maxmem !== undefined && maxKib === undefined) return fail('BadOptionValue', { option: '-m', value: maxmem, reason: 'maxmem= expects a size such as 16G' }, mem.valueSpan);
    const slots = propNum(p, 'slots');
    if (maxKib !== undefined) d.maxMemory = { size: maxKib, ...(slots !== undefined ? { slots } : {}) };
  }
  // the guest RAM's own backend (-machine memory-backend=…): -m says the same
  const ramId = r.cmd.options.filter((o) => o.name === '-machine' || o.name === '-M').map((o) => propStr(optProps(o), 'memory-backend')).find((x) => x);
  for (const o of r.take('-object')) {
    const p = optProps(o);
    if (!(ramId && propStr(p, 'id') === ramId && (propStr(p, 'qom-type') ?? '').startsWith('memory-backend-'))) r.unclaim(o);
  }
  const smp = r.takeLast('-smp');
  if (smp) {
    const p = optProps(smp);
    const cpus = propNum(p, 'cpus');
    const sockets = propNum(p, 'sockets');
    const cores = propNum(p, 'cores');
    const threads = propNum(p, 'threads');
    const dies = propNum(p, 'dies');
    const topo = sockets !== undefined || cores !== undefined || threads !== undefined;
    // QEMU fills in what the topology leaves out from the CPU count
    const max = propNum(p, 'maxcpus') ?? (topo && (cores !== undefined || cpus === undefined) ? (sockets ?? 1) * (dies ?? 1) * (cores ?? 1) * (threads ?? 1) : cpus ?? 1);
    d.vcpu = { count: max, placement: 'static', ...(cpus !== undefined && cpus !== max ? { current: cpus } : {}), $span: smp.span };
    // NB: libvirt's parser wrote a <topology> whenever sockets, cores and threads were all given
    if (sockets !== undefined && cores !== undefined && threads !== undefined) {
      d.cpu = { ...(d.cpu ?? { features: [], extra: [] }), topology: { sockets, ...(dies !== undefined && dies !== 1 ? { dies } : {}), cores, threads } };
    }
  }
}
