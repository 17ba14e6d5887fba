// Guest memory: <maxMemory>/<memory>/<currentMemory>, <memoryBacking>, <numatune>, the memory side of NUMA cells (distances, HMAT caches and interconnects) and <devices><memory>  <->  -m, -mem-path/-mem-prealloc, memory-backend-*/thread-context objects, -numa node/dist/hmat-lb/hmat-cache, pc-dimm/nvdimm/virtio-pmem-pci/virtio-mem-pci.
import type { HugetlbfsMount } from '../emit/host.js';
import { fail, type Span } from '../errors.js';
import type { ArgvReader, DomainDraft } from '../ir/argv-reader.js';
import { optProps, optText } from '../ir/argv-reader.js';
import type { Address, Domain, HugePage, MemAccess, MemoryBacking, MemoryDevice, MemoryModel, NumaCache, NumaCell, NumaInterconnect, Numatune, NumatuneMode } from '../ir/domain.js';
import type { ParsedOption } from '../lexer/argv-parser.js';
import { has, resolveMachineAlias, type Capability } from '../qemu/caps.js';
import { optionSpec, printsJson } from '../qemu/options.js';
import { escapeQemuOpts, propBool, propNum, propObj, propStr, props, scalarText, type PropValue, type Props } from '../qemu/props.js';
import { domainShortName, type EmitContext } from '../emit/context.js';
import { child, children, el, type XmlElement } from '../xml/tree.js';
import { boolAttr, checkEnum, enumAttr, intAttr, onOff, parseIntValue, parseSizeWord, reqAttr, sizeKiB, yesNo } from '../xml/values.js';
import { pciAddressFromProps, pciPlacement, readAddressXml, writeAddressXml } from './address.js';

const MODES = ['strict', 'preferred', 'interleave', 'restrictive'] as const;
const MODELS = ['dimm', 'nvdimm', 'virtio-pmem', 'virtio-mem'] as const;
const ACCESS = ['shared', 'private'] as const;

/** The highest CPU or NUMA node id a set may name (libvirt's bitmaps hold 16,384 CPUs). */
export const MAX_ID = 16383;

/** "0-2,5,^1" -> [0, 2, 5] (libvirt's bitmap syntax, '^' excludes). */
export function parseIdSet(text: string, span?: Span): number[] {
  const set = new Set<number>();
  for (const raw of text.split(',')) {
    const part = raw.trim();
    const neg = part.startsWith('^');
    const m = /^(\d+)(?:-(\d+))?$/.exec(neg ? part.slice(1) : part);
    if (!m) continue;
    const [lo, hi] = [Number(m[1]), Number(m[2] ?? m[1])];
    // NB: the set is expanded id by id: a bound keeps a hostile range from taking forever
    if (hi > MAX_ID) return fail('IdOutOfRange', { text, limit: MAX_ID }, span);
    for (let i = lo; i <= hi; i++) {
      if (neg) set.delete(i);
      else set.add(i);
    }
  }
  return [...set].sort((a, b) => a - b);
}

/** [0, 1, 2, 5] -> "0-2,5", as libvirt formats a bitmap. */
export function formatIdSet(ids: readonly number[]): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(j === i ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

/** A size written as an attribute (<page size unit>) in KiB. */
const attrKiB = (e: XmlElement, name: string): number => sizeKiB({ ...e, text: e.attrs[name] ?? '' });

// --- XML -> IR ---------------------------------------------------------------------------------

export function readMemoryKiB(e: XmlElement): number {
  return sizeKiB(e);
}

/** <memory dumpCore='on|off'>: a tristate switch, so libvirt takes on/off only (not yes/no). */
export function readDumpCore(e: XmlElement): boolean | undefined {
  const v = enumAttr(e, 'dumpCore', ['on', 'off'] as const);
  return v === undefined ? undefined : v === 'on';
}

export function readMaxMemory(e: XmlElement): NonNullable<Domain['maxMemory']> {
  const slots = intAttr(e, 'slots');
  return { size: sizeKiB(e), ...(slots !== undefined ? { slots } : {}) };
}

export function readMemoryBackingXml(e: XmlElement): MemoryBacking {
  const hp = child(e, 'hugepages');
  const source = child(e, 'source');
  const access = child(e, 'access');
  const alloc = child(e, 'allocation');
  const threads = alloc && intAttr(alloc, 'threads');
  const allocMode = alloc && enumAttr(alloc, 'mode', ['immediate', 'ondemand'] as const);
  const pages = hp ? children(hp, 'page').map((p): HugePage => ({ size: attrKiB(p, 'size'), ...(p.attrs.nodeset !== undefined ? { nodeset: p.attrs.nodeset } : {}) })) : undefined;
  return {
    ...(pages ? { hugepages: pages } : {}),
    ...(child(e, 'nosharepages') ? { nosharepages: true } : {}),
    ...(child(e, 'locked') ? { locked: true } : {}),
    ...(source ? { source: checkEnum(source, 'memoryBacking source type', reqAttr(source, 'type'), ['file', 'anonymous', 'memfd'] as const) } : {}),
    ...(access ? { access: checkEnum(access, 'memoryBacking access mode', reqAttr(access, 'mode'), ACCESS) } : {}),
    ...(alloc ? { allocation: { ...(allocMode ? { mode: allocMode } : {}), ...(threads !== undefined ? { threads } : {}) } } : {}),
    ...(child(e, 'discard') ? { discard: true } : {}),
    $span: e.span,
  };
}

export function readNumatuneXml(e: XmlElement): Numatune {
  const mem = child(e, 'memory');
  const mode = mem && enumAttr(mem, 'mode', MODES);
  const placement = mem && enumAttr(mem, 'placement', ['static', 'auto'] as const);
  return {
    ...(mem ? { memory: { ...(mode ? { mode } : {}), ...(mem.attrs.nodeset !== undefined ? { nodeset: mem.attrs.nodeset } : {}), ...(placement ? { placement } : {}) } } : {}),
    memnodes: children(e, 'memnode').map((m) => {
      const mmode = enumAttr(m, 'mode', MODES);
      return { cellid: intAttr(m, 'cellid') ?? fail('XmlMissingAttribute', { attribute: 'cellid', element: 'memnode' }, m.span), ...(mmode ? { mode: mmode } : {}), nodeset: reqAttr(m, 'nodeset') };
    }),
    $span: e.span,
  };
}

/** The memory side of a <numa><cell>: size, access, discard, distances, caches (cpu.ts reads the cell's id/cpus). */
export function readCellMemoryXml(c: XmlElement): Pick<NumaCell, 'memory' | 'memAccess' | 'discard' | 'distances' | 'caches'> {
  const dist = child(c, 'distances');
  const caches = children(c, 'cache').map(readNumaCacheXml);
  return {
    memory: attrKiB(c, 'memory'),
    ...(c.attrs.memAccess ? { memAccess: checkEnum(c, 'cell memAccess', c.attrs.memAccess, ACCESS) } : {}),
    ...(c.attrs.discard ? { discard: boolAttr(c, 'discard') } : {}),
    ...(dist ? { distances: children(dist, 'sibling').map((s) => ({ id: intAttr(s, 'id') ?? 0, value: intAttr(s, 'value') ?? 0 })) } : {}),
    ...(caches.length ? { caches } : {}),
  };
}

const CACHE_ASSOCIATIVITY = ['none', 'direct', 'full'] as const;
const CACHE_POLICY = ['none', 'writeback', 'writethrough'] as const;

/** A required <cache> child's value= (libvirt 9.0 reads ./size/unit, not @unit: the unit is ignored). */
function cacheValue(cache: XmlElement, name: string): number {
  const c = child(cache, name) ?? fail('XmlMissingElement', { element: name, parent: 'cache' }, cache.span);
  return intAttr(c, 'value') ?? fail('XmlMissingAttribute', { attribute: 'value', element: name }, c.span);
}

/** <cache level associativity policy><size value/><line value/></cache>: size in KiB, line in bytes. */
function readNumaCacheXml(e: XmlElement): NumaCache {
  const req = (name: string) => reqAttr(e, name);
  return {
    level: intAttr(e, 'level') ?? fail('XmlMissingAttribute', { attribute: 'level', element: 'cache' }, e.span),
    associativity: checkEnum(e, 'cache associativity', req('associativity'), CACHE_ASSOCIATIVITY),
    policy: checkEnum(e, 'cache policy', req('policy'), CACHE_POLICY),
    size: cacheValue(e, 'size'),
    line: cacheValue(e, 'line'),
    $span: e.span,
  };
}

const LATENCY_TYPES = ['access', 'read', 'write'] as const;

/** <interconnects>: <latency value> (ns) and <bandwidth value unit> (KiB/s), in document order. */
export function readInterconnectsXml(e: XmlElement): NumaInterconnect[] {
  return e.children
    .filter((c) => c.name === 'latency' || c.name === 'bandwidth')
    .map((c) => {
      const num = (name: string) => intAttr(c, name) ?? fail('XmlMissingAttribute', { attribute: name, element: c.name }, c.span);
      const cache = intAttr(c, 'cache');
      return {
        kind: c.name as NumaInterconnect['kind'],
        initiator: num('initiator'),
        target: num('target'),
        // NB: cache='0' is the memory itself, as no cache= is
        ...(cache ? { cache } : {}),
        type: checkEnum(c, `${c.name} type`, reqAttr(c, 'type'), LATENCY_TYPES),
        value: c.name === 'bandwidth' ? attrKiB(c, 'value') : num('value'),
        $span: c.span,
      };
    });
}

const DEVICE_KNOWN = new Set(['uuid', 'source', 'target', 'alias', 'address']);

export function readMemoryDeviceXml(e: XmlElement): MemoryDevice {
  const src = child(e, 'source');
  const tgt = child(e, 'target') ?? fail('XmlMissingElement', { element: 'target', parent: 'memory' }, e.span);
  const size = child(tgt, 'size') ?? fail('XmlMissingElement', { element: 'size', parent: 'memory target' }, tgt.span);
  const kib = (p: XmlElement | undefined, name: string) => {
    const c = p && child(p, name);
    return c ? sizeKiB(c) : undefined;
  };
  const node = child(tgt, 'node');
  const label = child(tgt, 'label');
  const source = src && {
    ...(child(src, 'nodemask') ? { nodemask: child(src, 'nodemask')!.text.trim() } : {}),
    ...(kib(src, 'pagesize') !== undefined ? { pagesize: kib(src, 'pagesize') } : {}),
    ...(child(src, 'path') ? { path: child(src, 'path')!.text.trim() } : {}),
    ...(kib(src, 'alignsize') !== undefined ? { alignsize: kib(src, 'alignsize') } : {}),
    ...(child(src, 'pmem') ? { pmem: true } : {}),
  };
  const alias = child(e, 'alias')?.attrs.name;
  const address = child(e, 'address');
  const discard = e.attrs.discard !== undefined ? boolAttr(e, 'discard') : undefined;
  const access = e.attrs.access !== undefined ? checkEnum(e, 'memory access', e.attrs.access, ACCESS) : undefined;
  return {
    model: checkEnum(e, 'memory model', reqAttr(e, 'model'), MODELS),
    ...(access ? { access } : {}),
    ...(discard !== undefined ? { discard } : {}),
    ...(child(e, 'uuid') ? { uuid: child(e, 'uuid')!.text.trim() } : {}),
    ...(source ? { source } : {}),
    target: {
      size: sizeKiB(size),
      ...(node ? { node: parseIntValue(node, 'memory target node', node.text) } : {}),
      ...(label ? { label: kib(label, 'size') ?? 0 } : {}),
      ...(child(tgt, 'readonly') ? { readonly: true } : {}),
      ...(kib(tgt, 'block') !== undefined ? { block: kib(tgt, 'block') } : {}),
      ...(kib(tgt, 'requested') !== undefined ? { requested: kib(tgt, 'requested') } : {}),
    },
    ...(alias ? { alias } : {}),
    ...(address ? { address: readAddressXml(address) } : {}),
    extra: e.children.filter((c) => !DEVICE_KNOWN.has(c.name)),
    $span: e.span,
  };
}

// --- IR -> XML ---------------------------------------------------------------------------------

/** <maxMemory>, <memory>, <currentMemory>, <memoryBacking>: what comes between <description> and <vcpu>. */
export function writeMemoryXml(d: Domain): XmlElement[] {
  return [
    d.maxMemory && el('maxMemory', { slots: d.maxMemory.slots, unit: 'KiB' }, String(d.maxMemory.size)),
    // NB: libvirt prints dumpCore before unit
    el('memory', { dumpCore: onOff(d.dumpCore), unit: 'KiB' }, String(d.memory)),
    el('currentMemory', { unit: 'KiB' }, String(d.currentMemory ?? d.memory)),
    d.memoryBacking && writeMemoryBackingXml(d.memoryBacking),
  ].filter((x): x is XmlElement => !!x);
}

function writeMemoryBackingXml(m: MemoryBacking): XmlElement {
  return el(
    'memoryBacking',
    {},
    m.hugepages && el('hugepages', {}, m.hugepages.map((p) => el('page', { size: p.size, unit: p.size !== undefined ? 'KiB' : undefined, nodeset: p.nodeset }))),
    m.nosharepages && el('nosharepages'),
    m.locked && el('locked'),
    m.source && el('source', { type: m.source }),
    m.access && el('access', { mode: m.access }),
    m.allocation && el('allocation', { mode: m.allocation.mode, threads: m.allocation.threads }),
    m.discard && el('discard'),
  );
}

export function writeNumatuneXml(n: Numatune | undefined): XmlElement | undefined {
  if (!n) return undefined;
  return el(
    'numatune',
    {},
    n.memory && el('memory', { mode: n.memory.mode, nodeset: n.memory.nodeset, placement: n.memory.placement }),
    n.memnodes.map((m) => el('memnode', { cellid: m.cellid, mode: m.mode, nodeset: m.nodeset })),
  );
}

/** The attributes and children of a <cell> that describe its memory (after id/cpus). */
export function writeCellMemory(c: NumaCell): { attrs: Record<string, string | number | undefined>; children: XmlElement[] } {
  return {
    attrs: { memory: c.memory, unit: 'KiB', memAccess: c.memAccess, discard: yesNo(c.discard) },
    children: [
      ...(c.distances ? [el('distances', {}, c.distances.map((s) => el('sibling', { id: s.id, value: s.value })))] : []),
      // NB: libvirt 9.0 leaves associativity/policy 'none' out, and then cannot read its own XML
      // back (both are required): they are always written here
      ...(c.caches ?? []).map((k) =>
        el('cache', { level: k.level, associativity: k.associativity, policy: k.policy }, el('size', { value: k.size, unit: 'KiB' }), el('line', { value: k.line, unit: 'B' })),
      ),
    ],
  };
}

/** <interconnects>, or nothing without entries. */
export function writeInterconnectsXml(list: readonly NumaInterconnect[] | undefined): XmlElement | undefined {
  if (!list?.length) return undefined;
  return el(
    'interconnects',
    {},
    list.map((l) => el(l.kind, { initiator: l.initiator, target: l.target, cache: l.cache, type: l.type, value: l.value, unit: l.kind === 'bandwidth' ? 'KiB' : undefined })),
  );
}

export function writeMemoryDeviceXml(m: MemoryDevice): XmlElement {
  const s = m.source;
  const t = m.target;
  const size = (name: string, v: number | undefined) => v !== undefined && el(name, { unit: 'KiB' }, String(v));
  return el(
    'memory',
    { model: m.model, access: m.access, discard: yesNo(m.discard) },
    m.uuid !== undefined && el('uuid', {}, m.uuid),
    s &&
      el(
        'source',
        {},
        s.nodemask !== undefined && el('nodemask', {}, s.nodemask),
        size('pagesize', s.pagesize),
        s.path !== undefined && el('path', {}, s.path),
        size('alignsize', s.alignsize),
        s.pmem && el('pmem'),
      ),
    el(
      'target',
      {},
      size('size', t.size),
      t.node !== undefined && el('node', {}, String(t.node)),
      t.label !== undefined && el('label', {}, el('size', { unit: 'KiB' }, String(t.label))),
      size('block', t.block),
      size('requested', t.requested),
      t.readonly && el('readonly'),
    ),
    m.extra,
    m.alias !== undefined && el('alias', { name: m.alias }),
    writeAddressXml(m.address),
  );
}

// --- define-time defaults -----------------------------------------------------------------------

/**
 * <numatune> and <vcpu> placement as libvirt defines them (virDomainNumatuneSet): the memory mode
 * defaults to strict; <vcpu placement='auto'> makes a <memory> without nodeset (or none) placed
 * automatically too, and automatic memory placement makes the vCPUs' automatic (without cpuset);
 * an automatic placement has no nodeset.
 */
export function numaPlacementDefaults(dom: Domain): Pick<Domain, 'numatune' | 'vcpu'> {
  const nt = dom.numatune;
  const mem = nt?.memory;
  const vcpuAuto = dom.vcpu.placement === 'auto';
  const auto = mem ? mem.placement === 'auto' || (mem.placement === undefined && mem.nodeset === undefined && vcpuAuto) : vcpuAuto;
  if (!nt && !auto) return { vcpu: dom.vcpu };
  const memory = auto ? { mode: mem?.mode ?? 'strict', placement: 'auto' as const } : mem && { ...mem, mode: mem.mode ?? 'strict' };
  const numatune: Numatune = {
    ...(memory ? { memory } : {}),
    memnodes: (nt?.memnodes ?? []).map((m) => ({ ...m, mode: m.mode ?? 'strict' })),
    ...(nt?.$span ? { $span: nt.$span } : {}),
  };
  const vcpu = auto && !vcpuAuto && dom.vcpu.cpuset === undefined ? { ...dom.vcpu, placement: 'auto' as const } : dom.vcpu;
  return { numatune, vcpu };
}

const usesDimmSlot = (m: MemoryDevice) => m.model === 'dimm' || m.model === 'nvdimm';
const dimmSlot = (m: MemoryDevice) => (m.address?.type === 'dimm' ? m.address.slot : undefined);

/** NB: with memory hotplug libvirt gives each dimm/nvdimm the first free DIMM slot at define time
 * (qemuDomainAssignMemorySlots), keeping a configured base address. */
export function memoriesWithSlots(dom: Domain): readonly MemoryDevice[] {
  const mems = dom.devices.memories;
  if (!dom.maxMemory || !mems.some((m) => usesDimmSlot(m) && dimmSlot(m) === undefined)) return mems;
  const used = new Set(mems.map(dimmSlot).filter((s): s is number => s !== undefined));
  return mems.map((m) => {
    if (!usesDimmSlot(m) || dimmSlot(m) !== undefined) return m;
    let slot = 0;
    while (used.has(slot)) slot++;
    used.add(slot);
    const base = m.address?.type === 'dimm' ? m.address.base : undefined;
    return { ...m, address: { type: 'dimm', slot, ...(base !== undefined ? { base } : {}) } };
  });
}

// --- IR -> argv --------------------------------------------------------------------------------

/** NB: libvirt aligns each NUMA cell's memory up to a whole MiB and memory modules up to 2 MiB
 * (qemuDomainAlignMemorySizes) before it starts QEMU. */
const cellKiB = (c: NumaCell): number => Math.ceil(c.memory / 1024) * 1024;
const moduleKiB = (m: MemoryDevice): number => Math.ceil(m.target.size / 2048) * 2048;

/** Guest RAM at start in KiB: the NUMA cells' sum when there are cells, else <memory> less the modules. */
function initialKiB(dom: Domain): number {
  const cells = dom.cpu?.numa ?? [];
  if (cells.length) return cells.reduce((n, c) => n + cellKiB(c), 0);
  return Math.ceil((dom.memory - dom.devices.memories.reduce((n, m) => n + moduleKiB(m), 0)) / 1024) * 1024;
}

/** Guest RAM in MiB as -m prints it. */
function memoryMiB(ctx: EmitContext): number {
  // NB: libvirt releases of the QEMU 0.12 era truncated guest RAM to MiB instead of aligning it up
  const kib = ctx.dom.cpu?.numa?.length || has(ctx.caps, 'memory.round-up') ? initialKiB(ctx.dom) : Math.floor(ctx.dom.memory / 1024) * 1024;
  return has(ctx.caps, 'memory.round-up') ? Math.ceil(kib / 1024) : Math.floor(kib / 1024);
}

/** The id QEMU gives the machine's main RAM backend (MachineClass default_ram_id). */
export function ramBackendId(ctx: EmitContext): string {
  const m = ctx.dom.os.machine ?? 'pc';
  return /^(pc|q35|pc-)/.test(m) ? 'pc.ram' : m.startsWith('virt') ? 'mach-virt.ram' : 'ram';
}

/** -machine properties guest memory needs: mem-merge=off for <nosharepages/>, nvdimm=on with an NVDIMM. */
export function machineMemoryProps(dom: Domain): { 'mem-merge'?: string; nvdimm?: string } {
  return {
    ...(dom.memoryBacking?.nosharepages ? { 'mem-merge': 'off' } : {}),
    ...(dom.devices.memories.some((m) => m.model === 'nvdimm') ? { nvdimm: 'on' } : {}),
  };
}

/** The system page size: "huge" pages of this size are ordinary memory. */
const SYSTEM_PAGE_KIB = 4;

/**
 * The hugetlbfs mounts libvirt would use, the default page size first: qemu.conf's
 * hugetlbfs_mount (libvirt statfs()es each for its page size; we read the size from a name ending
 * in it, "…2M", "…1G", else take 2 MiB), else the host's mounted ones (--probe-host), else the
 * /dev/hugepages (2 MiB pages) systemd mounts on a stock Debian host.
 */
function hugetlbfsMounts(ctx: EmitContext): readonly HugetlbfsMount[] {
  if (ctx.conf.hugetlbfsMount.length) {
    return ctx.conf.hugetlbfsMount.map((path) => {
      const m = /(\d+)([KMG])$/i.exec(path);
      return { path, pageKiB: m ? parseSizeWord(m[1]! + m[2]!)! : 2048 };
    });
  }
  return ctx.host.hugetlbfs?.length ? ctx.host.hugetlbfs : [{ path: '/dev/hugepages', pageKiB: 2048 }];
}

/** The default huge page size: the first mount's. */
const defaultPageKiB = (ctx: EmitContext): number => hugetlbfsMounts(ctx)[0]!.pageKiB;

/** The hugetlbfs directory for a page size: the mount of that size, else the default one. */
function hugepagePath(ctx: EmitContext, size: number | undefined): string {
  const mounts = hugetlbfsMounts(ctx);
  const mount = (size !== undefined ? mounts.find((m) => m.pageKiB === size) : undefined) ?? mounts[0]!;
  return `${mount.path}/libvirt/qemu/${domainShortName(-1, ctx.dom.name)}`;
}

/** Where file-backed RAM of one backend lives (qemuGetMemoryBackingPath). */
const backingPath = (ctx: EmitContext, alias: string) => `${ctx.conf.memoryBackingDir}/${domainShortName(-1, ctx.dom.name)}/${alias}`;

/** <numatune> for one guest node (a <memnode>) or all of guest RAM (cell -1). */
function numatuneFor(dom: Domain, cell: number): { mode: NumatuneMode; nodes?: number[]; specified: boolean } {
  const nt = dom.numatune;
  const node = cell >= 0 ? nt?.memnodes.find((m) => m.cellid === cell) : undefined;
  const mode = node ? node.mode ?? 'strict' : nt?.memory?.mode ?? 'strict';
  // NB: placement='auto' binds to what numad advises at start; there is nothing to print here
  const nodeset = node ? node.nodeset : nt?.memory?.placement !== 'auto' ? nt?.memory?.nodeset : undefined;
  return { mode, ...(nodeset !== undefined ? { nodes: parseIdSet(nodeset) } : {}), specified: !!node };
}

const POLICY: Record<NumatuneMode, string | undefined> = { strict: 'bind', preferred: 'preferred', interleave: 'interleave', restrictive: undefined };

/** What one RAM backend is for: the machine's RAM, a NUMA cell or a memory module. */
interface BackendSpec {
  readonly id: string;
  /** the alias a file-backed backend's file is named after */
  readonly alias: string;
  readonly kib: number;
  /** guest NUMA node, -1 for the machine's RAM */
  readonly node: number;
  readonly system: boolean;
  readonly force: boolean;
  readonly device?: MemoryDevice;
}

interface Backend {
  readonly props: Record<string, PropValue | undefined>;
  /** host nodes the RAM is bound to (for the thread-context) */
  readonly nodes?: number[];
  /** false: -numa mem= would do as well (nothing this backend sets needs an object) */
  readonly needed: boolean;
}

/** The huge page one backend uses (size in KiB, absent: the default size; needed: chosen for this
 * node rather than machine-wide), undefined for none (qemuBuildMemoryBackendProps' page search). */
function pageFor(ctx: EmitContext, node: number, explicit: number | undefined): { size?: number; needed: boolean } | undefined {
  if (explicit !== undefined) return explicit === SYSTEM_PAGE_KIB ? undefined : { size: explicit, needed: true };
  const pages = ctx.dom.memoryBacking?.hugepages;
  if (!pages) return undefined;
  let chosen: HugePage | undefined = pages.find((p) => p.nodeset !== undefined && node >= 0 && parseIdSet(p.nodeset).includes(node));
  const needed = !!chosen;
  // NB: a machine-wide <hugepages/> without pages, or a <page> without nodeset, covers the rest
  chosen ??= pages.length ? pages.find((p) => p.nodeset === undefined) : {};
  if (!chosen || chosen.size === SYSTEM_PAGE_KIB) return undefined;
  return { ...(chosen.size !== undefined ? { size: chosen.size } : {}), needed };
}

/** One RAM backend's properties (qemuBuildMemoryBackendProps), in libvirt's order. */
function backendFor(ctx: EmitContext, spec: BackendSpec, memPrealloc: boolean): Backend {
  const dom = ctx.dom;
  const mb = dom.memoryBacking;
  const dev = spec.device;
  const cell = spec.node >= 0 ? dom.cpu?.numa?.find((c) => c.id === spec.node) : undefined;
  const access: MemAccess | undefined = dev?.access ?? cell?.memAccess ?? mb?.access;
  const discard = dev?.discard ?? cell?.discard ?? (mb?.discard ? true : undefined);
  const tune = numatuneFor(dom, spec.node);
  const explicitPage = dev?.source?.pagesize;
  const page = pageFor(ctx, spec.node, explicitPage);
  const pageKiB = page ? page.size ?? defaultPageKiB(ctx) : undefined;
  const path = dev?.source?.path;
  const share = access === undefined ? undefined : access === 'shared';
  let type: string;
  let prealloc = false;
  const p: Record<string, PropValue | undefined> = {};
  if (!path && mb?.source === 'memfd') {
    type = 'memory-backend-memfd';
    if (pageKiB !== undefined) {
      Object.assign(p, { hugetlb: true, hugetlbsize: pageKiB * 1024 });
      prealloc = true;
    }
    p.share = share;
  } else if (pageKiB !== undefined || path || access || mb?.source === 'file') {
    type = 'memory-backend-file';
    if (path) {
      // NB: a real NVDIMM (pmem) or virtio-pmem has nothing to preallocate but wear
      if (!dev?.source?.pmem && dev?.model !== 'virtio-pmem') prealloc = true;
      p['mem-path'] = path;
    } else if (pageKiB !== undefined) {
      p['mem-path'] = hugepagePath(ctx, page?.size);
      prealloc = true;
    } else p['mem-path'] = backingPath(ctx, spec.alias);
    if (!path) p['discard-data'] = discard;
    p.share = share;
  } else type = 'memory-backend-ram';
  // NB: the machine's own RAM keeps its pre-backend RAM block name, for migration
  if (spec.system && type !== 'memory-backend-ram') p['x-use-canonical-path-for-ramblock-id'] = false;
  if (mb?.allocation?.mode === 'immediate') prealloc = true;
  if (dev?.model === 'virtio-mem') {
    // NB: virtio-mem preallocates on the device (its blocks come and go), never in the backend
    if (memPrealloc) p.prealloc = false;
    if (has(ctx.caps, 'memory-backend.reserve')) p.reserve = false;
  } else if (!memPrealloc) {
    if (prealloc) p.prealloc = true;
    p['prealloc-threads'] = mb?.allocation?.threads;
  }
  p.size = spec.kib * 1024;
  p.align = dev?.source?.alignsize !== undefined ? dev.source.alignsize * 1024 : undefined;
  if (dev?.source?.pmem) p.pmem = true;
  const nodes = dev?.source?.nodemask !== undefined ? parseIdSet(dev.source.nodemask) : tune.nodes;
  const policy = POLICY[tune.mode];
  // NB: restrictive mode leaves placement to cgroups, not to QEMU
  const bound = nodes && policy ? nodes : undefined;
  if (bound) Object.assign(p, { 'host-nodes': bound, policy });
  const needed = !!page?.needed || explicitPage !== undefined || dev?.source?.nodemask !== undefined || tune.specified || !!path || !!access || mb?.source === 'file' || mb?.source === 'memfd' || spec.force;
  return { props: { 'qom-type': type, id: spec.id, ...p }, ...(bound ? { nodes: bound } : {}), needed };
}

/**
 * Prints a backend, after the thread-context QEMU 7.2+ preallocates it from (libvirt 9.0's
 * qemuBuildThreadContextProps: only for preallocated RAM bound to host nodes).
 */
function printBackend(ctx: EmitContext, b: Backend): void {
  const p = { ...b.props };
  if (has(ctx.caps, 'thread-context') && b.nodes && p.prealloc === true) {
    const tc = `tc-${String(p.id)}`;
    ctx.out.object('-object', props({ 'qom-type': 'thread-context', id: tc, 'node-affinity': b.nodes }));
    p['prealloc-context'] = tc;
  }
  if (printsJson(optionSpec('-object'), ctx.caps.version)) {
    ctx.out.object('-object', props(p));
    return;
  }
  // NB: QemuOpts -object (before QEMU 6.0) takes host-nodes as ranges, one key per range
  const words = Object.entries(props(p)).flatMap(([k, v]) => {
    if (k === 'qom-type') return [escapeQemuOpts(scalarText(v))];
    if (k === 'host-nodes' && Array.isArray(v)) return formatIdSet(v.map(Number)).split(',').map((range) => `host-nodes=${range}`);
    return [`${k}=${escapeQemuOpts(scalarText(v))}`];
  });
  ctx.out.raw('-object', words.join(','));
}

/** Huge pages or allocation='immediate' for RAM without backends: -mem-path/-mem-prealloc (qemuBuildMemPathStr). */
function memPathArgs(ctx: EmitContext): { prealloc: boolean; path?: string } {
  const mb = ctx.dom.memoryBacking;
  const first = mb?.hugepages ? mb.hugepages[0] ?? {} : undefined;
  let path: string | undefined;
  let prealloc = false;
  if (first && first.size !== SYSTEM_PAGE_KIB) {
    path = hugepagePath(ctx, first.size);
    prealloc = true;
  } else if (mb?.source === 'file') path = backingPath(ctx, 'ram');
  if (mb?.allocation?.mode === 'immediate') prealloc = true;
  return { prealloc, ...(path ? { path } : {}) };
}

/** Whether a machine type still takes -numa node,mem= (QEMU 5.1 kept it for machine types up to 5.0). */
function numaMemSupported(ctx: EmitContext): boolean {
  if (!has(ctx.caps, 'numa.memdev')) return true;
  if (has(ctx.caps, 'numa.mem-any-machine')) return true;
  const m = /^pc-(?:i440fx-|q35-)?(\d+)\.(\d+)/.exec(resolveMachineAlias(ctx.dom.os.machine ?? 'pc', ctx.caps));
  return !!m && (Number(m[1]) < 5 || (Number(m[1]) === 5 && Number(m[2]) === 0));
}

function cellSpec(c: NumaCell): BackendSpec {
  return { id: `ram-node${c.id}`, alias: `ram-node${c.id}`, kib: cellKiB(c), node: c.id, system: false, force: false };
}

/** Whether NUMA cells get backends (else -numa node,mem= and a machine-wide -mem-path). */
function cellsNeedBackends(ctx: EmitContext): boolean {
  const cells = ctx.dom.cpu?.numa ?? [];
  if (!has(ctx.caps, 'numa.memdev')) return false;
  return !numaMemSupported(ctx) || cells.some((c) => backendFor(ctx, cellSpec(c), false).needed);
}

/** Whether -mem-prealloc was printed (then no backend asks for prealloc itself). */
function globalPrealloc(ctx: EmitContext): boolean {
  const cells = ctx.dom.cpu?.numa ?? [];
  const viaMemPath = cells.length ? !cellsNeedBackends(ctx) : !has(ctx.caps, 'memory-backend');
  return viaMemPath && memPathArgs(ctx).prealloc;
}

function printMemPath(ctx: EmitContext): void {
  const { prealloc, path } = memPathArgs(ctx);
  if (prealloc) ctx.out.flag('-mem-prealloc');
  if (path) ctx.out.raw('-mem-path', path);
}

export function buildMemory(ctx: EmitContext): void {
  const dom = ctx.dom;
  checkNumaConfig(dom);
  if (dom.numatune?.memory?.placement === 'auto') ctx.diag.warn('NumadPlacement', { mode: dom.numatune.memory.mode ?? 'strict' }, dom.numatune.$span ?? dom.vcpu.$span);
  const max = dom.maxMemory;
  // NB: with memory hotplug the start size is given exactly (KiB) next to the slots and ceiling
  // (libvirt names size= there, which QEMU would take as implied)
  if (max && has(ctx.caps, 'memory.hotplug')) ctx.out.raw('-m', `size=${initialKiB(dom)}k${max.slots !== undefined ? `,slots=${max.slots}` : ''},maxmem=${Math.ceil(max.size / 1024) * 1024}k`);
  else {
    if (max) ctx.diag.warn('UnsupportedForTarget', { what: '<maxMemory> (memory hotplug)', target: `QEMU ${ctx.caps.version.join('.')} (-m slots=,maxmem= came in 2.1)` }, dom.cpu?.$span);
    ctx.out.raw('-m', String(memoryMiB(ctx)));
  }
  // NUMA guests get one backend per node instead (see buildNuma)
  if (dom.cpu?.numa?.length) return;
  if (has(ctx.caps, 'memory-backend')) {
    const id = ramBackendId(ctx);
    printBackend(ctx, backendFor(ctx, { id, alias: id, kib: memoryMiB(ctx) * 1024, node: -1, system: true, force: false }, false));
  } else {
    printMemPath(ctx); // NB: -mem-path/-mem-prealloc are QEMU 0.11's: libvirt 0.7.5 printed them for <hugepages>
    warnWithoutBackends(ctx);
  }
}

/**
 * Guest RAM without memory-backend objects (-mem-path at most): what only a backend can say is
 * lost, and the host binding of <numatune> is then made by libvirt as it starts the domain
 * (cgroups, numactl), not on the command line.
 */
function warnWithoutBackends(ctx: EmitContext): void {
  const { memoryBacking: mb, numatune: nt } = ctx.dom;
  const target = `QEMU ${ctx.caps.version.join('.')} guest RAM without memory-backend objects`;
  const lost = [
    mb?.access && `<access mode='${mb.access}'>`,
    mb?.source === 'memfd' && "<source type='memfd'>",
    mb?.allocation?.threads !== undefined && '<allocation threads>',
    mb?.discard && '<discard/>',
    ctx.dom.cpu?.numa?.some((c) => c.memAccess) && '<cell memAccess>',
  ].filter((x): x is string => !!x);
  if (lost.length) ctx.diag.warn('UnsupportedForTarget', { what: `<memoryBacking> ${lost.join(', ')}`, target }, mb?.$span);
  if (nt?.memnodes.length) ctx.diag.warn('UnsupportedForTarget', { what: '<numatune><memnode> (per-node host binding)', target }, nt.$span);
  if (nt?.memory && nt.memory.placement !== 'auto') ctx.diag.warn('UnsupportedForTarget', { what: '<numatune><memory> (libvirt binds guest RAM on the host as it starts the domain)', target }, nt.$span);
}

/**
 * NUMA nodes: a RAM backend for each cell and -numa node,nodeid=,cpus=[,initiator=],memdev= (or
 * mem=), then the distances, then the HMAT latencies/bandwidths and caches
 * (qemuBuildNumaCommandLine; NB: QEMU takes hmat-cache only after the hmat-lb entries).
 */
export function buildNuma(ctx: EmitContext): void {
  const dom = ctx.dom;
  const cells = dom.cpu?.numa ?? [];
  const hmat = hasHmat(dom);
  if (hmat && !has(ctx.caps, 'numa.hmat')) fail('Unrepresentable', { what: 'the NUMA HMAT (<interconnects>, <cell><cache>)', target: `QEMU ${ctx.caps.version.join('.')}`, why: 'QEMU takes -numa hmat-lb/hmat-cache from 5.0 on' }, dom.cpu?.$span);
  // NB: -numa node,nodeid=,cpus=,mem= is QEMU 0.12's own syntax: libvirt printed it for every QEMU
  if (!cells.length) return;
  const backends = cellsNeedBackends(ctx);
  if (!backends) {
    printMemPath(ctx);
    warnWithoutBackends(ctx);
  }
  for (const cell of cells) {
    const spec = cellSpec(cell);
    if (backends) printBackend(ctx, backendFor(ctx, spec, false));
    const cpus = cell.cpus ? parseCpuRanges(cell.cpus).map((c) => `,cpus=${c}`).join('') : '';
    const initiator = hmat ? `,initiator=${nodeInitiator(cells, dom.cpu?.interconnects ?? [], cell)}` : '';
    ctx.out.raw('-numa', `node,nodeid=${cell.id}${cpus}${initiator},${backends ? `memdev=${spec.id}` : `mem=${spec.kib / 1024}`}`);
  }
  // NB: one distance other than the defaults (10 to itself, 20 to the others) and libvirt lists
  // every pair, defaults included (virDomainNumaNodesDistancesAreBeingSet)
  if (distancesSet(cells) && !has(ctx.caps, 'numa.dist')) ctx.diag.warn('UnsupportedForTarget', { what: 'NUMA <distances>', target: `QEMU ${ctx.caps.version.join('.')} (-numa dist came in 2.10)` }, dom.cpu?.$span);
  else if (distancesSet(cells)) for (const a of cells) for (const b of cells) ctx.out.raw('-numa', `dist,src=${a.id},dst=${b.id},val=${cellDistance(a, b.id)}`);
  if (!hmat) return;
  for (const l of dom.cpu?.interconnects ?? []) {
    const value = l.kind === 'latency' ? `latency=${l.value}` : `bandwidth=${l.value}K`;
    ctx.out.raw('-numa', `hmat-lb,initiator=${l.initiator},target=${l.target},hierarchy=${HIERARCHY[l.cache ?? 0]},data-type=${l.type}-${l.kind},${value}`);
  }
  for (const cell of cells) {
    for (const c of cell.caches ?? []) {
      ctx.out.raw('-numa', `hmat-cache,node-id=${cell.id},size=${c.size}K,level=${c.level},associativity=${QEMU_ASSOCIATIVITY[c.associativity]},policy=${QEMU_CACHE_POLICY[c.policy]},line=${c.line}`);
    }
  }
}

/** hmat-lb hierarchy= by <latency|bandwidth cache=> level (0: the memory itself). */
const HIERARCHY = ['memory', 'first-level', 'second-level', 'third-level'];
const QEMU_ASSOCIATIVITY: Record<NumaCache['associativity'], string> = { none: 'none', direct: 'direct', full: 'complex' };
const QEMU_CACHE_POLICY: Record<NumaCache['policy'], string> = { none: 'none', writeback: 'write-back', writethrough: 'write-through' };

/** Whether the guest gets an ACPI HMAT (-machine hmat=on): some interconnect or node cache (virDomainNumaHasHMAT). */
export function hasHmat(dom: Domain): boolean {
  return !!dom.cpu?.interconnects?.length || !!dom.cpu?.numa?.some((c) => c.caches?.length);
}

/**
 * The node whose CPUs a node's memory is closest to (virDomainNumaGetNodeInitiator): a node with
 * CPUs is its own; else the initiator of its lowest latency, else of its highest bandwidth (the
 * first of equals); else the first node with CPUs.
 */
export function nodeInitiator(cells: readonly NumaCell[], links: readonly NumaInterconnect[], cell: NumaCell): number {
  if (cell.cpus !== undefined && parseIdSet(cell.cpus).length) return cell.id;
  let latency: NumaInterconnect | undefined;
  let bandwidth: NumaInterconnect | undefined;
  for (const l of links) {
    if (l.target !== cell.id) continue;
    if (l.kind === 'latency' && (!latency || l.value < latency.value)) latency = l;
    if (l.kind === 'bandwidth' && l.value > (bandwidth?.value ?? 0)) bandwidth = l;
  }
  return (latency ?? bandwidth)?.initiator ?? cells.find((c) => c.cpus !== undefined && parseIdSet(c.cpus).length)?.id ?? 0;
}

const LOCAL_DISTANCE = 10;
const REMOTE_DISTANCE = 20;

/** The distance from cell `a` to node `b`: as given, else the default. */
function cellDistance(a: NumaCell, b: number): number {
  return a.distances?.find((s) => s.id === b)?.value ?? (a.id === b ? LOCAL_DISTANCE : REMOTE_DISTANCE);
}

/** Whether any cell's distances differ from the defaults (a cell that lists some distances and leaves one out does). */
function distancesSet(cells: readonly NumaCell[]): boolean {
  return cells.some((a) => a.distances?.length && cells.some((b) => {
    const v = a.distances!.find((s) => s.id === b.id)?.value;
    return v !== LOCAL_DISTANCE && v !== REMOTE_DISTANCE;
  }));
}

/**
 * <distances> as libvirt reads them (virDomainNumaDefNodeDistanceParseXML): a cell that lists
 * siblings or is listed by one gets its local distance, a distance given one way holds the other
 * way unless that is given too, and siblings come sorted by id.
 */
export function cellsWithDistances(cells: readonly NumaCell[]): readonly NumaCell[] {
  if (!cells.some((c) => c.distances?.length)) return cells;
  const rows = new Map<number, Map<number, number>>();
  const row = (id: number): Map<number, number> => {
    let r = rows.get(id);
    if (!r) rows.set(id, (r = new Map([[id, LOCAL_DISTANCE]])));
    return r;
  };
  for (const c of cells) {
    for (const s of c.distances ?? []) {
      row(c.id).set(s.id, s.value);
      const back = row(s.id);
      if (!back.has(c.id)) back.set(c.id, s.value);
    }
  }
  return cells.map((c) => {
    const r = rows.get(c.id);
    return r ? { ...c, distances: [...r].sort((x, y) => x[0] - y[0]).map(([id, value]) => ({ id, value })) } : c;
  });
}

/**
 * libvirt's checks of <numa> and <numatune> (virDomainNumaDefValidate, the cell and memnode
 * parsers): <memnode>s name cells and are not used with automatic placement; cells numbered 0…N-1, distances in range, cache levels 1-3 once each, interconnects between
 * existing nodes from nodes with CPUs, to existing caches, each given once.
 */
export function checkNumaConfig(dom: Domain): void {
  const cells = dom.cpu?.numa ?? [];
  const bad = (reason: string, span?: Span): never => fail('NumaInvalid', { reason }, span ?? dom.cpu?.$span);
  const nt = dom.numatune;
  const mem = nt?.memory;
  if (mem && mem.placement !== 'auto' && mem.nodeset === undefined && !(mem.placement === undefined && dom.vcpu.placement === 'auto')) {
    fail('NumaInvalid', { reason: "<numatune><memory> needs a nodeset unless its placement is 'auto'" }, nt.$span);
  }
  if (nt?.memnodes.length && nt.memory?.placement === 'auto') fail('NumaInvalid', { reason: "per-node binding (<memnode>) is not compatible with automatic placement (placement='auto')" }, nt.$span);
  for (const m of nt?.memnodes ?? []) if (!cells.some((c) => c.id === m.cellid)) fail('NumaInvalid', { reason: `<memnode cellid='${m.cellid}'> names no guest NUMA cell` }, nt?.$span);
  const byId = new Map<number, NumaCell>();
  for (const c of cells) {
    if (c.id >= cells.length || byId.has(c.id)) bad(`cell id ${c.id}: exactly one <cell> per guest NUMA node, numbered from 0 without gaps`);
    byId.set(c.id, c);
    for (const s of c.distances ?? []) {
      if (s.id >= cells.length) bad(`cell ${c.id}: sibling id ${s.id} is not a cell`);
      if (s.value < LOCAL_DISTANCE || s.value > 255 || (s.id === c.id) !== (s.value === LOCAL_DISTANCE)) bad(`cell ${c.id}: distance ${s.value} to sibling ${s.id} is invalid (10 to itself only, else 11-255)`);
    }
    const levels = new Set<number>();
    for (const k of c.caches ?? []) {
      if (k.level < 1 || k.level > 3) bad(`cell ${c.id}: cache level ${k.level} is invalid (1-3)`, k.$span);
      if (levels.has(k.level)) bad(`cell ${c.id}: cache level ${k.level} already defined`, k.$span);
      levels.add(k.level);
    }
  }
  const links = dom.cpu?.interconnects ?? [];
  links.forEach((l, i) => {
    const init = byId.get(l.initiator);
    const target = byId.get(l.target);
    if (!init) return bad(`${l.kind}: initiator ${l.initiator} refers to a non-existent NUMA node`, l.$span);
    if (!target) return bad(`${l.kind}: target ${l.target} refers to a non-existent NUMA node`, l.$span);
    if (init.cpus === undefined || !parseIdSet(init.cpus).length) bad(`${l.kind}: NUMA node ${l.initiator} has no CPUs and can't be an initiator`, l.$span);
    if (l.cache !== undefined && !target.caches?.some((k) => k.level === l.cache)) bad(`${l.kind}: cache ${l.cache} refers to a non-existent cache of NUMA node ${l.target}`, l.$span);
    for (const o of links.slice(0, i)) {
      if (o.kind === l.kind && o.initiator === l.initiator && o.target === l.target && o.cache === l.cache && o.type === l.type) bad(`duplicate ${l.kind} from node ${l.initiator} to node ${l.target}`, l.$span);
      if (l.initiator !== l.target && o.initiator === l.target && o.target === l.initiator) bad(`the link between nodes ${l.initiator} and ${l.target} is already defined the other way`, l.$span);
    }
  });
}

/** "0-1,3" -> ["0-1", "3"]: QEMU takes one range per cpus=, libvirt prints the set normalised. */
function parseCpuRanges(text: string): string[] {
  return formatIdSet(parseIdSet(text)).split(',').filter((x) => x);
}

const ALIAS_PREFIX: Record<MemoryModel, string> = { dimm: 'dimm', nvdimm: 'nvdimm', 'virtio-pmem': 'virtiopmem', 'virtio-mem': 'virtiomem' };
const DEVICE_DRIVER: Record<MemoryModel, string> = { dimm: 'pc-dimm', nvdimm: 'nvdimm', 'virtio-pmem': 'virtio-pmem-pci', 'virtio-mem': 'virtio-mem-pci' };
/** The QEMU that brought each module's device (pc-dimm came with memory hotplug). */
const MODEL_CAP: Record<MemoryModel, Capability> = { dimm: 'memory.hotplug', nvdimm: 'nvdimm', 'virtio-pmem': 'virtio-pmem', 'virtio-mem': 'virtio-mem' };

/** NB: a module in a DIMM slot is named after the slot (qemuAssignDeviceMemoryAlias), others count up per model. */
function memoryAliases(mems: readonly MemoryDevice[]): string[] {
  const next = new Map<string, number>();
  return mems.map((m) => {
    if (m.alias) return m.alias;
    const prefix = ALIAS_PREFIX[m.model];
    const slot = dimmSlot(m);
    if (slot !== undefined) return `${prefix}${slot}`;
    const n = next.get(prefix) ?? 0;
    next.set(prefix, n + 1);
    return `${prefix}${n}`;
  });
}

/** <devices><memory>: a backend (with its thread-context) and the device for each module. */
export function buildMemoryDevices(ctx: EmitContext): void {
  const mems = ctx.dom.devices.memories;
  if (!mems.length) return;
  const memPrealloc = globalPrealloc(ctx);
  const aliases = memoryAliases(mems);
  mems.forEach((m, i) => {
    if (!has(ctx.caps, MODEL_CAP[m.model])) {
      ctx.diag.warn('UnsupportedForTarget', { what: `<memory model='${m.model}'>`, target: `QEMU ${ctx.caps.version.join('.')} (no ${DEVICE_DRIVER[m.model]} device)` }, m.$span);
      return;
    }
    const alias = aliases[i]!;
    const backend = backendFor(ctx, { id: `mem${alias}`, alias, kib: moduleKiB(m), node: m.target.node ?? -1, system: false, force: true, device: m }, memPrealloc);
    printBackend(ctx, backend);
    // NB: virtio-mem preallocates its plugged blocks itself
    const prealloc = m.model === 'virtio-mem' && (memPrealloc || ctx.dom.memoryBacking?.allocation?.mode === 'immediate' || !!pageFor(ctx, m.target.node ?? -1, m.source?.pagesize)) ? true : undefined;
    const a = m.address;
    ctx.out.object('-device', props({
      driver: DEVICE_DRIVER[m.model],
      node: m.target.node,
      'label-size': m.target.label !== undefined ? m.target.label * 1024 : undefined,
      'block-size': m.target.block !== undefined ? m.target.block * 1024 : undefined,
      'requested-size': m.target.requested !== undefined ? m.target.requested * 1024 : undefined,
      // NB: only pSeries NVDIMMs carry a UUID
      uuid: (ctx.dom.os.arch ?? ctx.caps.arch).startsWith('ppc64') ? m.uuid : undefined,
      unarmed: m.target.readonly ? true : undefined,
      memdev: `mem${alias}`,
      prealloc,
      id: alias,
      ...(a?.type === 'dimm' ? { slot: a.slot, addr: a.base || undefined } : pciPlacement(ctx.dom, a)),
    }));
  });
}

// --- argv -> IR --------------------------------------------------------------------------------

/** A size given to -m or a backend (bytes in JSON, a size word in QemuOpts), in KiB. */
export function sizeOf(o: ParsedOption, p: Props, key: string, unit: 'M' | 'B'): number | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  const kib = typeof v === 'number' ? Math.round(v / 1024) : parseSizeWord(String(v), unit);
  if (kib === undefined) return fail('BadOptionValue', { option: o.written, value: String(v), reason: `${key}= expects a size such as 512M or 2G` }, o.valueSpan);
  return kib;
}

/** host-nodes as a JSON array, keyval host-nodes.N= or QemuOpts ranges (host-nodes=0-1,host-nodes=3). */
function hostNodes(o: ParsedOption, p: Props): number[] | undefined {
  const v = p['host-nodes'];
  if (Array.isArray(v)) return v.map(Number);
  // NB: QemuOpts keeps only the last of repeated keys; the written text has them all
  if (typeof v === 'string' || typeof v === 'number') return [...(o.rawValue ?? '').matchAll(/(?:^|,)host-nodes=([0-9-]+)/g)].flatMap((m) => parseIdSet(m[1]!, o.valueSpan));
  const indexed = propObj(p, 'host-nodes');
  return indexed ? Object.values(indexed).map(Number) : undefined;
}

const MODE_OF_POLICY: Record<string, NumatuneMode> = { bind: 'strict', preferred: 'preferred', interleave: 'interleave' };

/** What a backend object says about the guest's memory, to be folded into the domain. */
interface ReadBackend {
  readonly type: string;
  readonly kib: number | undefined;
  readonly share: boolean | undefined;
  readonly memPath: string | undefined;
  /** memfd hugetlb=on: the page size (0: the default size) */
  readonly hugepageKiB: number | undefined;
  readonly prealloc: boolean | undefined;
  readonly threads: number | undefined;
  readonly nodes: number[] | undefined;
  readonly mode: NumatuneMode | undefined;
  readonly discard: boolean | undefined;
  readonly align: number | undefined;
  readonly pmem: boolean | undefined;
  readonly opt: ParsedOption;
}

function readBackend(o: ParsedOption): ReadBackend {
  const p = optProps(o);
  const nodes = hostNodes(o, p);
  const policy = propStr(p, 'policy');
  return {
    type: propStr(p, 'qom-type') ?? '',
    kib: sizeOf(o, p, 'size', 'B'),
    share: propBool(p, 'share'),
    memPath: propStr(p, 'mem-path'),
    hugepageKiB: propBool(p, 'hugetlb') ? sizeOf(o, p, 'hugetlbsize', 'B') ?? 0 : undefined,
    prealloc: propBool(p, 'prealloc'),
    threads: propNum(p, 'prealloc-threads'),
    nodes,
    mode: nodes ? MODE_OF_POLICY[policy ?? 'bind'] ?? 'strict' : undefined,
    discard: propBool(p, 'discard-data'),
    align: sizeOf(o, p, 'align', 'B'),
    pmem: propBool(p, 'pmem'),
    opt: o,
  };
}

/** The huge page size a hugetlbfs path names (".../hugepages1G/..."), KiB; 0: the default size. */
function pageOfPath(path: string): number | undefined {
  const m = /hugepages?(\d+)([KMG])(?:B)?(?:\/|$)/i.exec(path);
  if (m) return parseSizeWord(m[1]! + m[2]!);
  return /hugepages|hugetlbfs/i.test(path) ? 0 : undefined;
}

/** Folds one RAM backend (machine-wide or a cell's) into <memoryBacking>; returns the page size it used. */
function foldBacking(d: DomainDraft, b: ReadBackend): number | undefined {
  const mb: { -readonly [K in keyof MemoryBacking]: MemoryBacking[K] } = { ...(d.memoryBacking ?? {}) };
  let page: number | undefined;
  if (b.type === 'memory-backend-memfd') {
    mb.source = 'memfd';
    page = b.hugepageKiB;
  } else if (b.type === 'memory-backend-file' && b.memPath !== undefined) {
    page = pageOfPath(b.memPath);
    if (page === undefined) mb.source = 'file';
  }
  // NB: preallocation threads only mean something for RAM allocated up front
  if (b.threads !== undefined) mb.allocation = { mode: 'immediate', threads: b.threads };
  if (b.prealloc && page === undefined) mb.allocation = { mode: 'immediate', ...(mb.allocation ?? {}) };
  // a plain RAM backend (memory-backend-ram, pc.ram) says nothing: no empty <memoryBacking/>
  if (Object.keys(mb).length) d.memoryBacking = mb;
  return page;
}

/** Sets <hugepages> from the page sizes each cell (or the machine, cell -1) used. */
function setHugepages(d: DomainDraft, used: ReadonlyArray<{ node: number; page: number }>): void {
  if (!used.length) return;
  const sizes = [...new Set(used.map((u) => u.page))];
  const cells = d.cpu?.numa ?? [];
  let pages: HugePage[];
  if (sizes.length === 1 && (used.some((u) => u.node < 0) || used.length === cells.length)) pages = sizes[0] ? [{ size: sizes[0] }] : [];
  else pages = sizes.map((s) => ({ ...(s ? { size: s } : {}), nodeset: formatIdSet(used.filter((u) => u.page === s).map((u) => u.node)) }));
  d.memoryBacking = { ...(d.memoryBacking ?? {}), hugepages: pages };
}

/** The value most entries have (the first of equals), with its count. */
function mostCommon<T>(values: readonly T[], key: (v: T) => string): { value: T; count: number } | undefined {
  const counts = new Map<string, { value: T; count: number }>();
  for (const v of values) {
    const k = key(v);
    const c = counts.get(k);
    if (c) c.count++;
    else counts.set(k, { value: v, count: 1 });
  }
  let best: { value: T; count: number } | undefined;
  for (const c of counts.values()) if (!best || c.count > best.count) best = c;
  return best;
}

/**
 * Host binding read off backends -> <numatune>: the machine-wide binding; with cells, the
 * binding most cells share is <memory> (when every cell is bound) and the others are <memnode>s.
 */
function setNumatune(d: DomainDraft, bound: ReadonlyArray<{ node: number; nodes: number[]; mode: NumatuneMode }>, cells: number): void {
  if (!bound.length) return;
  const key = (b: { nodes: number[]; mode: NumatuneMode }) => `${b.mode}:${formatIdSet(b.nodes)}`;
  const system = bound.find((b) => b.node < 0);
  const common = system ?? (bound.length === cells ? mostCommon(bound, key)?.value : undefined);
  d.numatune = {
    ...(common ? { memory: { mode: common.mode, nodeset: formatIdSet(common.nodes) } } : {}),
    memnodes: bound.filter((b) => b.node >= 0 && (!common || key(b) !== key(common))).map((b) => ({ cellid: b.node, mode: b.mode, nodeset: formatIdSet(b.nodes) })),
  };
}

/** The host nodes guest node `node` is bound to by <numatune>, as libvirt formats them. */
function tunedNodes(d: DomainDraft, node: number): string | undefined {
  return d.numatune?.memnodes.find((m) => m.cellid === node)?.nodeset ?? d.numatune?.memory?.nodeset;
}

/** The huge page size <memoryBacking> gives guest node `node` (0: the default size). */
function backingPage(d: DomainDraft, node: number): number | undefined {
  const pages = d.memoryBacking?.hugepages;
  if (!pages) return undefined;
  const p = pages.find((x) => x.nodeset !== undefined && parseIdSet(x.nodeset).includes(node)) ?? (pages.length ? pages.find((x) => x.nodeset === undefined) : {});
  return p ? p.size ?? 0 : undefined;
}

export function readMemoryArgv(r: ArgvReader): void {
  const d = r.draft;
  const mem = r.takeLast('-m');
  if (mem) {
    const p = optProps(mem);
    const kib = sizeOf(mem, p, 'size', 'M');
    if (kib === undefined) return fail('BadOptionValue', { option: '-m', value: optText(mem), reason: 'expected a size such as 512, 512M or 2G' }, mem.valueSpan);
    d.memory = kib;
    d.currentMemory = kib;
    const maxKib = sizeOf(mem, p, 'maxmem', 'M');
    const slots = propNum(p, 'slots');
    if (maxKib !== undefined) d.maxMemory = { size: maxKib, ...(slots !== undefined ? { slots } : {}) };
  }
  const memPath = r.takeLast('-mem-path');
  const memPrealloc = r.take('-mem-prealloc').length > 0;
  // thread-contexts are libvirt's own helpers for preallocation: nothing in the XML
  for (const o of r.take('-object')) {
    if (propStr(optProps(o), 'qom-type') !== 'thread-context') r.unclaim(o);
    else r.settle(o);
  }
  const backends = new Map<string, ParsedOption>();
  for (const o of r.cmd.options) {
    const p = optProps(o);
    if (o.name === '-object' && !r.isClaimed(o) && (propStr(p, 'qom-type') ?? '').startsWith('memory-backend-')) backends.set(propStr(p, 'id') ?? '', o);
  }
  const takeBackend = (id: string | undefined): ReadBackend | undefined => {
    const o = id !== undefined ? backends.get(id) : undefined;
    if (!o || r.isClaimed(o)) return undefined;
    r.claim(o);
    // NB: the thread-context a backend preallocates from is libvirt's helper (see above)
    r.settle(o, 'prealloc-context');
    return readBackend(o);
  };
  const pages: Array<{ node: number; page: number }> = [];
  const bound: Array<{ node: number; nodes: number[]; mode: NumatuneMode }> = [];
  const hugeDir = memPath ? pageOfPath(optText(memPath)) : undefined;
  if (memPath) {
    if (hugeDir !== undefined) pages.push({ node: -1, page: hugeDir });
    else d.memoryBacking = { ...(d.memoryBacking ?? {}), source: 'file' };
  }
  if (memPrealloc && hugeDir === undefined) d.memoryBacking = { ...(d.memoryBacking ?? {}), allocation: { mode: 'immediate' } };
  // the guest RAM's own backend (-machine memory-backend=…): -m says the same size
  const ramId = r.cmd.options.filter((o) => o.name === '-machine' || o.name === '-M').map((o) => propStr(optProps(o), 'memory-backend')).find((x) => x);
  const sys = takeBackend(ramId);
  if (sys) {
    const page = foldBacking(d, sys);
    if (page !== undefined) pages.push({ node: -1, page });
    if (sys.share !== undefined) d.memoryBacking = { ...(d.memoryBacking ?? {}), access: sys.share ? 'shared' : 'private' };
    if (sys.nodes) bound.push({ node: -1, nodes: sys.nodes, mode: sys.mode ?? 'strict' });
  }
  readNumaArgv(r, takeBackend, pages, bound);
  setHugepages(d, pages);
  setNumatune(d, bound, d.cpu?.numa?.length ?? 0);
  readMemoryDevicesArgv(r, takeBackend);
}

function readNumaArgv(r: ArgvReader, takeBackend: (id: string | undefined) => ReadBackend | undefined, pages: Array<{ node: number; page: number }>, bound: Array<{ node: number; nodes: number[]; mode: NumatuneMode }>): void {
  const d = r.draft;
  const cells: NumaCell[] = [];
  const dists: Array<{ src: number; dst: number; val: number }> = [];
  const cellBackends: Array<{ id: number; b: ReadBackend }> = [];
  const links: NumaInterconnect[] = [];
  const caches: Array<{ node: number; cache: NumaCache }> = [];
  const initiators: Array<{ id: number; given: number; o: ParsedOption }> = [];
  const nodeless: ParsedOption[] = [];
  for (const o of r.take('-numa')) {
    const p = optProps(o);
    // NB: cpus= repeats (cpus=0-1,cpus=4), so it is read from the raw text
    r.settle(o, 'cpus');
    const type = propStr(p, 'type') ?? 'node';
    if (type === 'dist') {
      const [src, dst, val] = [propNum(p, 'src'), propNum(p, 'dst'), propNum(p, 'val')];
      if (src === undefined || dst === undefined || val === undefined) return fail('BadOptionValue', { option: '-numa', value: o.rawValue ?? '', reason: 'dist needs src=, dst= and val=' }, o.valueSpan);
      dists.push({ src, dst, val });
      nodeless.push(o);
      continue;
    }
    if (type === 'hmat-lb') {
      links.push(readHmatLb(o, p));
      nodeless.push(o);
      continue;
    }
    if (type === 'hmat-cache') {
      caches.push(readHmatCache(o, p));
      nodeless.push(o);
      continue;
    }
    if (type !== 'node') {
      r.unclaim(o);
      continue;
    }
    const id = propNum(p, 'nodeid') ?? cells.length;
    const initiator = propNum(p, 'initiator');
    if (initiator !== undefined) initiators.push({ id, given: initiator, o });
    // NB: cpus= may repeat (QemuOpts keeps the last in props; the raw text has them all)
    const cpus = [...(o.rawValue ?? '').matchAll(/(?:^|,)cpus=([0-9-]+)/g)].map((m) => m[1]!);
    const b = takeBackend(propStr(p, 'memdev'));
    const kib = b?.kib ?? sizeOf(o, p, 'mem', 'M') ?? 0;
    if (b) cellBackends.push({ id, b });
    cells.push({
      id,
      ...(cpus.length ? { cpus: formatIdSet(cpus.flatMap((c) => parseIdSet(c, o.valueSpan))) } : {}),
      memory: kib,
      ...(b?.share !== undefined ? { memAccess: b.share ? 'shared' : 'private' } : {}),
      ...(b?.discard !== undefined ? { discard: b.discard } : {}),
    });
  }
  // NB: distances and HMAT data describe nodes: without any there is nothing to attach them to
  if (!cells.length) {
    for (const o of nodeless) r.unclaim(o);
    return;
  }
  for (const { id, b } of cellBackends) {
    const page = foldBacking(d, b);
    if (page !== undefined) pages.push({ node: id, page });
    if (b.nodes) bound.push({ node: id, nodes: b.nodes, mode: b.mode ?? 'strict' });
  }
  // NB: the access most cells have is the domain's <access> (only when every cell says one)
  const access = cells.every((c) => c.memAccess) && !d.memoryBacking?.access ? mostCommon(cells, (c) => c.memAccess ?? '')?.value.memAccess : undefined;
  if (access) d.memoryBacking = { ...(d.memoryBacking ?? {}), access };
  const withDist = cells.map((c) => {
    // NB: libvirt lists every distance once one differs from the defaults: those are left to it
    const mine = dists.filter((x) => x.src === c.id && x.val !== (x.dst === c.id ? LOCAL_DISTANCE : REMOTE_DISTANCE));
    const { memAccess, ...rest } = c;
    const cell = memAccess && memAccess !== access ? c : rest;
    const cached = caches.filter((x) => x.node === c.id).map((x) => x.cache);
    return {
      ...cell,
      ...(mine.length ? { distances: mine.map((x) => ({ id: x.dst, value: x.val })) } : {}),
      ...(cached.length ? { caches: cached } : {}),
    };
  });
  for (const x of caches) if (!cells.some((c) => c.id === x.node)) return fail('BadOptionValue', { option: '-numa', value: `hmat-cache,node-id=${x.node}`, reason: 'no -numa node has that id' }, x.cache.$span);
  d.cpu = { ...(d.cpu ?? { features: [], extra: [] }), numa: withDist, ...(links.length ? { interconnects: links } : {}) };
  // NB: libvirt derives each node's initiator (nodeInitiator): one given otherwise is lost
  const hmat = links.length > 0 || caches.length > 0;
  for (const { id, given, o } of initiators) {
    const cell = withDist.find((c) => c.id === id)!;
    const derived = nodeInitiator(withDist, links, cell);
    if (!hmat || given !== derived) r.diag.warn('NumaInitiatorDerived', { node: id, given, derived: hmat ? String(derived) : 'none without HMAT data' }, o.valueSpan);
  }
  const machineHmat = r.cmd.options.find((o) => (o.name === '-machine' || o.name === '-M') && propBool(optProps(o), 'hmat'));
  if (machineHmat && !hmat) r.diag.warn('IgnoredProperty', { option: machineHmat.written, property: 'hmat=on (an HMAT without latencies, bandwidths or caches)' }, machineHmat.valueSpan);
  // the cells hold all of the guest's RAM at start
  const total = cells.reduce((n, c) => n + c.memory, 0);
  if (!d.maxMemory) d.memory = d.currentMemory = total;
}

const LATENCY_OF_DATA_TYPE = /^(access|read|write)-(latency|bandwidth)$/;

/** -numa hmat-lb,initiator=,target=,hierarchy=,data-type=,latency=|bandwidth= -> an <interconnects> entry. */
function readHmatLb(o: ParsedOption, p: Props): NumaInterconnect {
  const bad = (reason: string): never => fail('BadOptionValue', { option: '-numa', value: o.rawValue ?? '', reason }, o.valueSpan);
  const [initiator, target] = [propNum(p, 'initiator'), propNum(p, 'target')];
  if (initiator === undefined || target === undefined) return bad('hmat-lb needs initiator= and target=');
  const level = HIERARCHY.indexOf(propStr(p, 'hierarchy') ?? 'memory');
  if (level < 0) return bad(`hierarchy= is one of ${HIERARCHY.join(', ')}`);
  const dt = LATENCY_OF_DATA_TYPE.exec(propStr(p, 'data-type') ?? '');
  if (!dt) return bad('data-type= is access-, read- or write-latency or -bandwidth');
  const kind = dt[2] as NumaInterconnect['kind'];
  // NB: QEMU's bandwidth is a size per second (bytes unless suffixed); libvirt prints KiB ("204800K")
  const value = kind === 'latency' ? propNum(p, 'latency') : sizeOf(o, p, 'bandwidth', 'B');
  if (value === undefined) return bad(`${dt[0]} needs ${kind}=`);
  return { kind, initiator, target, ...(level ? { cache: level } : {}), type: dt[1] as NumaInterconnect['type'], value, $span: o.span };
}

const ASSOCIATIVITY_OF_QEMU: Record<string, NumaCache['associativity']> = { none: 'none', direct: 'direct', complex: 'full' };
const CACHE_POLICY_OF_QEMU: Record<string, NumaCache['policy']> = { none: 'none', 'write-back': 'writeback', 'write-through': 'writethrough' };

/** -numa hmat-cache,node-id=,size=,level=,associativity=,policy=,line= -> the node's <cache>. */
function readHmatCache(o: ParsedOption, p: Props): { node: number; cache: NumaCache } {
  const bad = (reason: string): never => fail('BadOptionValue', { option: '-numa', value: o.rawValue ?? '', reason }, o.valueSpan);
  const [node, level, line] = [propNum(p, 'node-id'), propNum(p, 'level'), propNum(p, 'line')];
  const size = sizeOf(o, p, 'size', 'B');
  if (node === undefined || level === undefined || size === undefined) return bad('hmat-cache needs node-id=, size= and level=');
  const associativity = ASSOCIATIVITY_OF_QEMU[propStr(p, 'associativity') ?? 'none'] ?? bad('associativity= is none, direct or complex');
  const policy = CACHE_POLICY_OF_QEMU[propStr(p, 'policy') ?? 'none'] ?? bad('policy= is none, write-back or write-through');
  return { node, cache: { level, associativity, policy, size, line: line ?? 0, $span: o.span } };
}

const MODEL_OF_DRIVER: Record<string, MemoryModel> = { 'pc-dimm': 'dimm', nvdimm: 'nvdimm', 'virtio-pmem-pci': 'virtio-pmem', 'virtio-mem-pci': 'virtio-mem' };

function readMemoryDevicesArgv(r: ArgvReader, takeBackend: (id: string | undefined) => ReadBackend | undefined): void {
  const d = r.draft;
  for (const dev of r.devices((drv) => drv in MODEL_OF_DRIVER)) {
    const p = dev.props;
    const b = takeBackend(propStr(p, 'memdev'));
    if (!b) continue;
    r.claim(dev.opt);
    const model = MODEL_OF_DRIVER[dev.driver]!;
    const node = propNum(p, 'node');
    const slot = propNum(p, 'slot');
    const base = propNum(p, 'addr');
    const pci = pciAddressFromProps(p);
    const page = b.type === 'memory-backend-file' && model !== 'nvdimm' && model !== 'virtio-pmem' && b.memPath !== undefined ? pageOfPath(b.memPath) : b.hugepageKiB;
    const path = (model === 'nvdimm' || model === 'virtio-pmem') && b.memPath !== undefined ? b.memPath : undefined;
    const label = sizeOf(dev.opt, p, 'label-size', 'B');
    const block = sizeOf(dev.opt, p, 'block-size', 'B');
    const requested = sizeOf(dev.opt, p, 'requested-size', 'B');
    // NB: what the guest node's settings already imply is left to them
    const at = node ?? -1;
    const nodemask = b.nodes ? formatIdSet(b.nodes) : undefined;
    const cellAccess = d.cpu?.numa?.find((c) => c.id === at)?.memAccess ?? d.memoryBacking?.access;
    const share = b.share === undefined ? undefined : b.share ? 'shared' : 'private';
    const source = {
      ...(nodemask !== undefined && nodemask !== tunedNodes(d, at) ? { nodemask } : {}),
      ...(page && page !== backingPage(d, at) ? { pagesize: page } : {}),
      ...(path !== undefined ? { path } : {}),
      ...(b.align !== undefined ? { alignsize: b.align } : {}),
      ...(b.pmem ? { pmem: true } : {}),
    };
    let address: Address | undefined;
    if (model === 'dimm' || model === 'nvdimm') {
      if (slot !== undefined || base !== undefined) address = { type: 'dimm', ...(slot !== undefined ? { slot } : {}), ...(base !== undefined ? { base } : {}) };
    } else if (pci && model.startsWith('virtio')) address = pci;
    // NB: libvirt reserves no swap for a virtio-mem's backend (its blocks come and go) and has the
    // device preallocate them when the guest's memory is preallocated (buildMemoryDevices):
    // both follow from the domain, only other values are news without an XML home
    const virtioMem = model === 'virtio-mem';
    if (virtioMem) r.expect(b.opt, 'reserve', false);
    const preallocated = d.memoryBacking?.allocation?.mode === 'immediate' || page !== undefined || backingPage(d, at) !== undefined;
    if (virtioMem) r.expect(dev.opt, 'prealloc', preallocated);
    d.devices.memories.push({
      model,
      ...(share && share !== cellAccess ? { access: share } : {}),
      ...(b.discard !== undefined ? { discard: b.discard } : {}),
      ...(propStr(p, 'uuid') !== undefined ? { uuid: propStr(p, 'uuid') } : {}),
      ...(Object.keys(source).length ? { source } : {}),
      target: {
        size: b.kib ?? 0,
        ...(node !== undefined ? { node } : {}),
        ...(label !== undefined ? { label } : {}),
        ...(propBool(p, 'unarmed') ? { readonly: true } : {}),
        ...(block !== undefined ? { block } : {}),
        ...(requested !== undefined ? { requested } : {}),
      },
      ...(address ? { address } : {}),
      extra: [],
      $span: dev.opt.span,
    });
  }
  // the initial RAM plus the modules is the guest's <memory>
  const modules = d.devices.memories.reduce((n, m) => n + m.target.size, 0);
  if (modules && d.maxMemory) d.memory = d.memory + modules;
}
