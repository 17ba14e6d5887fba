// General domain facts: name, uuid, title/description, vcpu, iothreads (memory is memory.ts's).
// XML <name>/<uuid>/<vcpu>/<iothreads>  <->  argv -name, -uuid, -smp, iothread objects.
import { fail } from '../errors.js';
import { MAX_ARG_COUNT } from '../lexer/limits.js';
import type { ArgvReader, DomainDraft } from '../ir/argv-reader.js';
import { optProps, optText } from '../ir/argv-reader.js';
import type { Domain, Vcpu } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import { formatVersion } from '../qemu/version.js';
import { propNum, propStr, props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { el, textEl, type XmlElement } from '../xml/tree.js';
import { enumAttr, intAttr, parseIntValue } from '../xml/values.js';
import { writeMemoryXml, writeNumatuneXml } from './memory.js';

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
    d.genid !== undefined ? el('genid', {}, d.genid) : undefined,
    textEl('title', d.title),
    textEl('description', d.description),
    d.metadata,
    writeMemoryXml(d),
    el('vcpu', { placement: d.vcpu.placement ?? 'static', cpuset: d.vcpu.cpuset, current: d.vcpu.current }, String(d.vcpu.count)),
    d.iothreads !== undefined ? el('iothreads', {}, String(d.iothreads)) : undefined,
    writeNumatuneXml(d.numatune),
  ].flat().filter((x): x is XmlElement => x !== undefined);
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

export function buildSmp(ctx: EmitContext): void {
  const v = ctx.dom.vcpu;
  const topo = ctx.dom.cpu?.topology;
  if (!has(ctx.caps, 'smp.topology')) {
    ctx.out.raw('-smp', String(v.current ?? v.count));
    // NB: one socket per vCPU is what -smp N alone means
    if (topo && !(topo.sockets === v.count && topo.cores === 1 && topo.threads === 1 && (topo.dies ?? 1) === 1)) ctx.diag.warn('UnsupportedForTarget', { what: '<cpu><topology>', target: 'QEMU without -smp sockets=,cores=,threads=' }, ctx.dom.cpu?.$span);
    if (v.current !== undefined && v.current !== v.count) ctx.diag.warn('UnsupportedForTarget', { what: `<vcpu current='${v.current}'> (hotpluggable vCPUs)`, target: 'QEMU without -smp maxcpus=' }, v.$span);
    if (ctx.dom.iothreads) ctx.diag.warn('UnsupportedForTarget', { what: `<iothreads>${ctx.dom.iothreads}</iothreads>`, target: 'QEMU without -object iothread' });
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
  // NB: one object per thread: a count no command line can hold is refused, not looped over
  if ((ctx.dom.iothreads ?? 0) > MAX_ARG_COUNT) fail('ArgvLimit', { what: 'number of I/O thread objects', size: ctx.dom.iothreads!, limit: MAX_ARG_COUNT }, ctx.dom.$span);
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
    // NB: debug-threads names QEMU's threads and process= its process for ps: libvirt sets both itself
    r.settle(name, 'debug-threads', 'process');
    // old libvirt: "-name NAME,process=…"; new: "-name guest=NAME,debug-threads=on"
    // NB: QEMU 0.x took everything before the first comma as the name, '=' included, where
    // QemuOpts would read "a=b" as a key: with no guest= to be found, that older reading it is
    const known = ['guest', 'process', 'debug-threads'].some((k) => propStr(p, k) !== undefined);
    const n = known ? propStr(p, 'guest') : optText(name).split(',')[0];
    if (n) d.name = n;
  }
  const uuid = r.takeLast('-uuid');
  if (uuid) {
    const v = optText(uuid);
    if (!UUID_RE.test(v)) fail('BadOptionValue', { option: '-uuid', value: v, reason: 'not a UUID' }, uuid.valueSpan);
    d.uuid = normalizeUuid(v);
  }
  // libvirt's I/O threads are objects iothread1…N; other names (Proxmox's iothread-virtioscsi0)
  // are numbered after those in command-line order, and devices' iothread= follow the numbering
  const iothreads = r.take('-object').filter((o) => {
    const p = optProps(o);
    const mine = propStr(p, 'qom-type') === 'iothread' && propStr(p, 'id') !== undefined;
    if (!mine) r.unclaim(o);
    return mine;
  });
  // NB: a number beyond the count of objects (libvirt's <iothreadids> can name any) is renumbered
  // too: <iothreads>N</iothreads> compiles to N objects
  const ids = iothreads.map((o) => propStr(optProps(o), 'id')!);
  const numberOf = (id: string) => {
    const n = Number(/^iothread([1-9]\d*)$/.exec(id)?.[1]);
    return n <= ids.length ? n : undefined;
  };
  const numbered = ids.map(numberOf).filter((n) => n !== undefined);
  let next = numbered.length ? Math.max(...numbered) : 0;
  for (const id of ids) r.iothreads.set(id, numberOf(id) ?? ++next);
  if (iothreads.length) d.iothreads = Math.max(...r.iothreads.values());
  // NB: QEMU merges repeated -smp options (a key's last value counts); errors point at the last
  const smp = r.cmd.options.filter((o) => o.name === '-smp' && !r.isClaimed(o)).pop();
  const merged = r.takeMerged('-smp');
  if (smp && merged) {
    const p = merged;
    const cpus = propNum(p, 'cpus');
    const sockets = propNum(p, 'sockets');
    const cores = propNum(p, 'cores');
    const threads = propNum(p, 'threads');
    const dies = propNum(p, 'dies');
    // NB: counts are whole and positive; a number past 2^53 would print as 1e+23
    for (const [k, n] of Object.entries({ cpus, sockets, cores, threads, dies, clusters: propNum(p, 'clusters'), maxcpus: propNum(p, 'maxcpus') })) {
      if (n !== undefined && !(Number.isSafeInteger(n) && n > 0)) fail('BadOptionValue', { option: '-smp', value: optText(smp), reason: `${k} must be a whole number of at least 1` }, smp.valueSpan);
    }
    const topo = sockets !== undefined || cores !== undefined || threads !== undefined || dies !== undefined;
    const clusters = propNum(p, 'clusters');
    r.settle(smp, 'clusters');
    const t = smpTopology({ cpus, sockets, dies, clusters: clusters ?? 1, cores, threads, maxcpus: propNum(p, 'maxcpus') }, preferSockets(d.os.machine));
    // NB: libvirt 9.0 has no clusters (x86 QEMU has them since 9.0): their cores count as cores
    if (clusters !== undefined && clusters > 1) {
      r.diag.warn('NewerThanLibvirt', { what: `-smp clusters=${clusters}`, instead: `its cores are counted in <topology cores='${t.cores * clusters}'>` }, smp.valueSpan);
      t.cores *= clusters;
    }
    const max = t.maxcpus;
    d.vcpu = { count: max, placement: 'static', ...(cpus !== undefined && cpus !== max ? { current: cpus } : {}), $span: smp.span };
    if (t.sockets * t.dies * t.cores * t.threads !== max) {
      fail('BadOptionValue', { option: '-smp', value: optText(smp), reason: `QEMU completes it to ${t.sockets} sockets × ${t.dies} dies × ${t.cores} cores × ${t.threads} threads, which is not ${max} CPUs` }, smp.valueSpan);
    }
    // NB: a topology the command line gives only in part is the one QEMU completes (libvirt has
    // no partial <topology>: without it, it would print one socket per vCPU). dies= is written
    // when the line states it, as libvirt 9.0 does (it stores dies='1'); a line from before dies
    // (libvirt 5.4's) has none
    if (topo) d.cpu = { ...(d.cpu ?? { features: [], extra: [] }), topology: { sockets: t.sockets, ...(dies !== undefined || t.dies !== 1 ? { dies: t.dies } : {}), cores: t.cores, threads: t.threads } };
  }
}

interface SmpCounts {
  readonly cpus?: number;
  readonly sockets?: number;
  readonly dies?: number;
  readonly clusters: number;
  readonly cores?: number;
  readonly threads?: number;
  readonly maxcpus?: number;
}

/** Machine types before QEMU 6.2 fill a partial topology with sockets first (smp_props.prefer_sockets). */
function preferSockets(machine: string | undefined): boolean {
  const v = /-(\d+)\.(\d+)$/.exec(machine ?? '');
  return v ? Number(v[1]) < 6 || (Number(v[1]) === 6 && Number(v[2]) < 2) : false;
}

/** QEMU's smp_parse (hw/core/machine-smp.c, 7.2): what it makes of the counts left out. */
function smpTopology(c: SmpCounts, sockets1st: boolean): { maxcpus: number; sockets: number; dies: number; cores: number; threads: number } {
  const dies = c.dies ?? 1;
  let { sockets = 0, cores = 0, threads = 0 } = c;
  let maxcpus = c.maxcpus ?? 0;
  const cpus = c.cpus ?? 0;
  if (!cpus && !maxcpus) {
    sockets ||= 1;
    cores ||= 1;
    threads ||= 1;
  } else {
    maxcpus ||= cpus;
    if (sockets1st ? !sockets : cores && !sockets) {
      cores ||= 1;
      threads ||= 1;
      sockets = Math.floor(maxcpus / (dies * c.clusters * cores * threads));
    } else if (!cores) {
      sockets ||= 1;
      threads ||= 1;
      cores = Math.floor(maxcpus / (sockets * dies * c.clusters * threads));
    }
    threads ||= Math.floor(maxcpus / (sockets * dies * c.clusters * cores));
  }
  maxcpus ||= sockets * dies * c.clusters * cores * threads;
  return { maxcpus, sockets, dies, cores, threads };
}
