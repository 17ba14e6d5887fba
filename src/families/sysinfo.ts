// <sysinfo> (SMBIOS tables, fw_cfg entries), <os><smbios mode> and <genid>: what the guest's
// firmware reports about the machine. argv: -smbios type=0|1|2|3|11,…; -fw_cfg name=opt/…;
// -device vmgenid,guid=…,id=vmgenid0.
import { fail, type Span } from '../errors.js';
import type { ArgvReader, DomainDraft } from '../ir/argv-reader.js';
import { optProps, optText } from '../ir/argv-reader.js';
import type { Domain, Sysinfo, SysinfoEntry } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import { escapeQemuOpts, propStr, props, splitQemuOpts } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { child, children, el, type XmlElement } from '../xml/tree.js';
import { checkEnum, enumAttr, reqAttr } from '../xml/values.js';
import { normalizeUuid } from './general.js';
import { crypto } from './secret.js';

/**
 * The SMBIOS structures libvirt fills, with the fields of each in the order libvirt writes them
 * (virSysinfoFormat) and prints them (qemuBuildSmbios*Str): the XML element, QEMU's type number.
 */
const TABLES = {
  bios: { type: 0, fields: ['vendor', 'version', 'date', 'release'] },
  system: { type: 1, fields: ['manufacturer', 'product', 'version', 'serial', 'uuid', 'sku', 'family'] },
  baseBoard: { type: 2, fields: ['manufacturer', 'product', 'version', 'serial', 'asset', 'location'] },
  chassis: { type: 3, fields: ['manufacturer', 'version', 'serial', 'asset', 'sku'] },
} as const;
type Table = keyof typeof TABLES;

const SMBIOS_MODES = ['emulate', 'host', 'sysinfo'] as const;

// --- XML -> IR ---------------------------------------------------------------------------------

function entries(e: XmlElement | undefined, table: Table): SysinfoEntry[] {
  if (!e) return [];
  const known: readonly string[] = TABLES[table].fields;
  return children(e, 'entry').map((x) => ({ name: checkEnum(x, `sysinfo ${table} entry name`, reqAttr(x, 'name'), known), value: x.text }));
}

export function readSysinfoXml(e: XmlElement): Sysinfo {
  const type = checkEnum(e, 'sysinfo type', reqAttr(e, 'type'), ['smbios', 'fwcfg'] as const);
  if (type === 'fwcfg') {
    return {
      type,
      entries: children(e, 'entry').map((x) => {
        const name = reqAttr(x, 'name');
        // NB: QEMU reserves fw_cfg names outside opt/ for itself; libvirt refuses them
        if (!name.startsWith('opt/')) return fail('XmlBadValue', { what: 'fwcfg entry name', value: name, expected: "a name under 'opt/'" }, x.span);
        return { name, ...(x.attrs.file !== undefined ? { file: x.attrs.file } : { value: x.text }) };
      }),
      $span: e.span,
    };
  }
  const oem = child(e, 'oemStrings');
  const system = entries(child(e, 'system'), 'system').map((x) => (x.name === 'uuid' ? { ...x, value: normalizeUuid(x.value.trim()) } : x));
  return {
    type,
    bios: entries(child(e, 'bios'), 'bios'),
    system,
    baseBoards: children(e, 'baseBoard').map((b) => entries(b, 'baseBoard')),
    chassis: entries(child(e, 'chassis'), 'chassis'),
    oemStrings: oem ? children(oem, 'entry').map((x) => x.text) : [],
    $span: e.span,
  };
}

export const readSmbiosModeXml = (os: XmlElement): Domain['os']['smbios'] => {
  const s = child(os, 'smbios');
  return s ? enumAttr(s, 'mode', SMBIOS_MODES) : undefined;
};

// --- IR -> XML ---------------------------------------------------------------------------------

const entryEls = (list: readonly SysinfoEntry[]) => list.map((x) => el('entry', { name: x.name }, x.value));

export function writeSysinfoXml(s: Sysinfo): XmlElement {
  if (s.type === 'fwcfg') return el('sysinfo', { type: 'fwcfg' }, s.entries.map((x) => el('entry', { name: x.name, file: x.file }, x.value)));
  return el(
    'sysinfo',
    { type: 'smbios' },
    s.bios.length ? el('bios', {}, entryEls(s.bios)) : undefined,
    s.system.length ? el('system', {}, entryEls(s.system)) : undefined,
    s.baseBoards.map((b) => el('baseBoard', {}, entryEls(b))),
    s.chassis.length ? el('chassis', {}, entryEls(s.chassis)) : undefined,
    s.oemStrings.length ? el('oemStrings', {}, s.oemStrings.map((v) => el('entry', {}, v))) : undefined,
  );
}

// --- IR -> argv --------------------------------------------------------------------------------

/** One -smbios structure: type=N then the table's fields in libvirt's order. */
function smbiosStr(table: Table, list: readonly SysinfoEntry[], skip: ReadonlySet<string> = new Set()): string | undefined {
  const parts = TABLES[table].fields.flatMap((f) => {
    const x = list.find((y) => y.name === f);
    return x && !skip.has(f) ? [`${f}=${escapeQemuOpts(x.value)}`] : [];
  });
  return parts.length ? [`type=${TABLES[table].type}`, ...parts].join(',') : undefined;
}

/** NB: libvirt's order: the SMBIOS tables (qemuBuildSmbiosCommandLine), then fw_cfg entries (qemuBuildSysinfoCommandLine). */
export function buildSysinfo(ctx: EmitContext): void {
  const { dom, out } = ctx;
  const mode = dom.os.smbios;
  const smbios = (dom.sysinfo ?? []).find((s): s is Extract<Sysinfo, { type: 'smbios' }> => s.type === 'smbios');
  if (mode === 'host') {
    // libvirt copies the host's own tables (dmidecode), which only --probe-host reads
    const h = ctx.host.smbios;
    if (!h) ctx.diag.warn('UnsupportedForTarget', { what: "<smbios mode='host'>", target: "a command line built off the host (the host's SMBIOS tables are read with --probe-host)" }, dom.os.$span);
    // NB: the host's UUID is not the guest's (a UUID is unique): libvirt leaves it out
    const strs = h ? [smbiosStr('bios', h.bios), smbiosStr('system', h.system, new Set(['uuid'])), smbiosStr('baseBoard', h.baseBoard), smbiosStr('chassis', h.chassis)] : [];
    for (const s of strs) if (s) out.raw('-smbios', s);
  } else if (mode === 'sysinfo') {
    if (!smbios) return fail('XmlMissingElement', { element: "sysinfo type='smbios'", parent: "domain (<smbios mode='sysinfo'> uses it)" }, dom.os.$span);
    // NB: QEMU builds one type 2 structure only
    if (smbios.baseBoards.length > 1) return fail('UnsupportedDevice', { what: 'more than one <baseBoard> (QEMU has one SMBIOS type 2 table)' }, smbios.$span);
    const strs = [
      smbiosStr('bios', smbios.bios),
      // NB: the system UUID is the domain's (-uuid); libvirt prints it here only where the sysinfo names it
      smbiosStr('system', smbios.system),
      ...smbios.baseBoards.map((b) => smbiosStr('baseBoard', b)),
      smbiosStr('chassis', smbios.chassis),
      smbios.oemStrings.length ? ['type=11', ...smbios.oemStrings.map((v) => `value=${escapeQemuOpts(v)}`)].join(',') : undefined,
    ];
    for (const s of strs) if (s) out.raw('-smbios', s);
  }
  for (const s of dom.sysinfo ?? []) {
    if (s.type !== 'fwcfg') continue;
    // NB: printed with name= although QEMU implies it, as libvirt does. libvirt 9.0 does not double
    // commas in these values (QEMU then reads the rest as another key and refuses): the default
    // output prints what virsh prints, --runnable a command QEMU accepts.
    const esc = (v: string) => (ctx.runnable ? escapeQemuOpts(v) : v);
    for (const x of s.entries) out.raw('-fw_cfg', `name=${esc(x.name)},${x.file !== undefined ? `file=${esc(x.file)}` : `string=${esc(x.value ?? '')}`}`);
  }
}

/** <genid>: the VM generation ID device (Windows' VM-GenerationID), right after the SMBIOS tables. */
export function buildGenid(ctx: EmitContext): void {
  const { dom } = ctx;
  if (dom.genid === undefined) return;
  if (!has(ctx.caps, 'vmgenid')) return ctx.diag.warn('UnsupportedForTarget', { what: '<genid>', target: 'QEMU before 2.12 (no vmgenid device)' }, dom.$span);
  let guid = dom.genid;
  if (guid === '') {
    // NB: an empty <genid/> asks libvirt for a random one at define time
    guid = derivedGuid(`${dom.name}\n${dom.uuid ?? ''}`);
    ctx.diag.warn('GeneratedValue', { what: '<genid/>', value: guid }, dom.$span);
  }
  ctx.out.object('-device', props({ driver: 'vmgenid', guid, id: 'vmgenid0' }));
}

/** A version 4 UUID made from a hash of the text: stable for one domain, distinct across domains. */
function derivedGuid(text: string): string {
  const b = crypto().createHash('sha256').update(text).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return normalizeUuid(b.toString('hex'));
}

// --- argv -> IR --------------------------------------------------------------------------------

const TABLE_OF: Readonly<Record<string, Table>> = { 0: 'bios', 1: 'system', 2: 'baseBoard', 3: 'chassis' };

export function readSysinfoArgv(r: ArgvReader): void {
  const d: DomainDraft = r.draft;
  const smbios: { bios: SysinfoEntry[]; system: SysinfoEntry[]; baseBoards: SysinfoEntry[][]; chassis: SysinfoEntry[]; oemStrings: string[]; span?: Span } = {
    bios: [], system: [], baseBoards: [], chassis: [], oemStrings: [],
  };
  let any = false;
  for (const o of r.take('-smbios')) {
    const parts = splitQemuOpts(optText(o));
    const pairs = parts.map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)] as const);
    const type = pairs[0]?.[0] === 'type' ? pairs[0][1] : undefined;
    const table = type !== undefined ? TABLE_OF[type] : undefined;
    // NB: a table without fields (-smbios type=2) has no <sysinfo> entry to hold it: kept as written
    if (pairs.length < 2) {
      r.unclaim(o);
      continue;
    }
    if (type === '11' && pairs.slice(1).every(([k]) => k === 'value')) {
      smbios.oemStrings.push(...pairs.slice(1).map(([, v]) => v));
    } else if (table && pairs.slice(1).every(([k]) => (TABLES[table].fields as readonly string[]).includes(k))) {
      const list = pairs.slice(1).map(([name, value]) => ({ name, value: name === 'uuid' ? normalizeUuid(value) : value }));
      if (table === 'baseBoard') smbios.baseBoards.push(list);
      else smbios[table].push(...list);
    } else {
      // -smbios file=… (a binary table) or fields libvirt has no element for
      r.unclaim(o);
      continue;
    }
    any = true;
    smbios.span ??= o.span;
  }
  if (any) {
    const { span, ...tables } = smbios;
    d.sysinfo = [...(d.sysinfo ?? []), { type: 'smbios', ...tables, ...(span ? { $span: span } : {}) }];
    d.os.smbios = 'sysinfo';
    // NB: QEMU's type 1 UUID is the machine's UUID; without -uuid it is the domain's
    const uuid = smbios.system.find((x) => x.name === 'uuid')?.value;
    if (uuid && d.uuid === undefined) d.uuid = uuid;
  }
  const fwcfg = r.take('-fw_cfg').filter((o) => {
    const p = optProps(o);
    const name = propStr(p, 'name') ?? '';
    const ok = name.startsWith('opt/') && (propStr(p, 'file') !== undefined) !== (propStr(p, 'string') !== undefined) && Object.keys(p).length === 2;
    if (!ok) r.unclaim(o);
    return ok;
  });
  if (fwcfg.length) {
    d.sysinfo = [...(d.sysinfo ?? []), {
      type: 'fwcfg',
      entries: fwcfg.map((o) => {
        const p = optProps(o);
        const file = propStr(p, 'file');
        return { name: propStr(p, 'name')!, ...(file !== undefined ? { file } : { value: propStr(p, 'string')! }) };
      }),
      $span: fwcfg[0]!.span,
    }];
  }
  const genid = r.devices((driver) => driver === 'vmgenid');
  for (const dev of genid) {
    const guid = propStr(dev.props, 'guid');
    if (!guid || d.genid !== undefined) continue;
    d.genid = normalizeUuid(guid);
    r.claim(dev.opt);
  }
}
