// <cpu>: mode, model, topology, features. argv: -cpu MODEL,+feat,-feat / feat=on|off.
import type { ArgvReader } from '../ir/argv-reader.js';
import { optProps } from '../ir/argv-reader.js';
import type { Cpu } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import { flattenProps, propStr, type Props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { child, children, el, type XmlElement } from '../xml/tree.js';
import { checkEnum, enumAttr, intAttr, reqAttr } from '../xml/values.js';

const KNOWN = new Set(['model', 'vendor', 'topology', 'feature']);
const POLICIES = ['force', 'require', 'optional', 'disable', 'forbid'] as const;

export function readCpuXml(e: XmlElement): Cpu {
  const model = child(e, 'model');
  const topo = child(e, 'topology');
  const vendor = child(e, 'vendor');
  return {
    ...(e.attrs.mode ? { mode: enumAttr(e, 'mode', ['custom', 'host-model', 'host-passthrough', 'maximum'] as const) } : {}),
    ...(e.attrs.match ? { match: enumAttr(e, 'match', ['minimum', 'exact', 'strict'] as const) } : {}),
    ...(e.attrs.check ? { check: enumAttr(e, 'check', ['none', 'partial', 'full'] as const) } : {}),
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
    features: children(e, 'feature').map((f) => ({ policy: checkEnum(f, 'cpu feature policy', f.attrs.policy ?? 'require', POLICIES), name: reqAttr(f, 'name') })),
    extra: e.children.filter((c) => !KNOWN.has(c.name)),
    $span: e.span,
  };
}

export function writeCpuXml(c: Cpu): XmlElement {
  return el(
    'cpu',
    { mode: c.mode, match: c.match, check: c.check },
    c.model !== undefined && el('model', { fallback: c.fallback }, c.model),
    c.vendor !== undefined && el('vendor', {}, c.vendor),
    c.topology && el('topology', { sockets: c.topology.sockets, dies: c.topology.dies, cores: c.topology.cores, threads: c.topology.threads }),
    c.features.map((f) => el('feature', { policy: f.policy, name: f.name })),
    c.extra,
  );
}

const X86 = new Set(['x86_64', 'i686']);

export function buildCpu(ctx: EmitContext): void {
  const cpu = ctx.dom.cpu;
  const arch = ctx.dom.os.arch ?? ctx.caps.arch;
  let model: string | undefined;
  if (cpu?.mode === 'host-passthrough' || cpu?.mode === 'host-model') model = 'host';
  else if (cpu?.mode === 'maximum') model = 'max';
  else if (cpu?.model) model = cpu.model;
  else if (X86.has(arch) && has(ctx.caps, 'cpu.default-model')) model = 'qemu64';
  if (!model) return;
  const feats = (cpu?.features ?? [])
    .filter((f) => f.policy !== 'optional')
    .map((f) => `${f.name}=${f.policy === 'disable' || f.policy === 'forbid' ? 'off' : 'on'}`);
  ctx.out.raw('-cpu', [model, ...feats].join(','));
}

export function readCpuArgv(r: ArgvReader): void {
  const o = r.takeLast('-cpu');
  if (!o) return;
  const p: Props = optProps(o);
  const model = propStr(p, 'model') ?? '';
  const features: Array<Cpu['features'][number]> = [];
  for (const [k, v] of flattenProps(p)) {
    if (k === 'model') continue;
    if (k.startsWith('+')) features.push({ policy: 'require', name: k.slice(1) });
    else if (k.startsWith('-')) features.push({ policy: 'disable', name: k.slice(1) });
    else features.push({ policy: v === 'off' || v === 'false' ? 'disable' : 'require', name: k });
  }
  const d = r.draft;
  const base: Cpu = d.cpu ?? { features: [], extra: [] };
  if (model === 'host') d.cpu = { ...base, mode: 'host-passthrough', features };
  else if (model === 'max') d.cpu = { ...base, mode: 'maximum', features };
  else if (model === 'qemu64' || model === 'qemu32') {
    if (features.length) d.cpu = { ...base, mode: 'custom', match: 'exact', model, features };
  } else d.cpu = { ...base, mode: 'custom', match: 'exact', model, features };
}
