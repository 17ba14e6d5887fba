// Character devices: <serial>, <parallel>, <console>, <channel>, and libvirt's own monitor.
// argv: -chardev + -device/-serial/-parallel (modern), -serial/-parallel/-monitor (legacy).
import type { ArgvReader } from '../ir/argv-reader.js';
import type { Chardev, ChardevSource } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import { props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { child, el, type XmlElement } from '../xml/tree.js';
import { intAttr } from '../xml/values.js';
import { readAddressXml, writeAddressXml } from './address.js';

const KNOWN = new Set(['source', 'target', 'protocol', 'alias', 'address']);

export type ChardevKind = 'serial' | 'parallel' | 'console' | 'channel';

export function readChardevXml(e: XmlElement): Chardev {
  const type = e.attrs.type ?? 'pty';
  const src = child(e, 'source');
  const target = child(e, 'target');
  const alias = child(e, 'alias');
  const address = child(e, 'address');
  return {
    source: readSource(type, src, child(e, 'protocol')),
    ...(target?.attrs.type ? { targetType: target.attrs.type } : {}),
    ...(target?.attrs.port !== undefined ? { targetPort: intAttr(target, 'port') } : {}),
    ...(target?.attrs.name ? { targetName: target.attrs.name } : {}),
    ...(child(target ?? e, 'model')?.attrs.name && target ? { targetModel: child(target, 'model')!.attrs.name } : {}),
    ...(alias?.attrs.name ? { alias: alias.attrs.name } : {}),
    ...(address ? { address: readAddressXml(address) } : {}),
    extra: e.children.filter((c) => !KNOWN.has(c.name)),
    $span: e.span,
  };
}

function readSource(type: string, src: XmlElement | undefined, protocol: XmlElement | undefined): ChardevSource {
  switch (type) {
    case 'file':
    case 'dev':
    case 'pipe':
    case 'nmdm':
      return { type, path: src?.attrs.path ?? '', ...(src?.attrs.append ? { append: src.attrs.append === 'on' } : {}) };
    case 'tcp':
      return {
        type,
        mode: src?.attrs.mode === 'bind' ? 'bind' : 'connect',
        ...(src?.attrs.host !== undefined ? { host: src.attrs.host } : {}),
        ...(src?.attrs.service !== undefined ? { service: src.attrs.service } : {}),
        ...(protocol?.attrs.type ? { protocol: protocol.attrs.type as 'raw' | 'telnet' | 'telnets' | 'tls' } : {}),
      };
    case 'unix':
      return { type, mode: src?.attrs.mode === 'bind' ? 'bind' : 'connect', ...(src?.attrs.path !== undefined ? { path: src.attrs.path } : {}) };
    case 'spiceport':
      return { type, channel: src?.attrs.channel ?? '' };
    case 'udp':
      return { type };
    case 'null':
    case 'vc':
    case 'pty':
    case 'stdio':
    case 'spicevmc':
    case 'qemu-vdagent':
    case 'dbus':
      return { type, ...(src?.attrs.path !== undefined ? { path: src.attrs.path } : {}) };
    default:
      return { type: 'pty' };
  }
}

export function writeChardevXml(kind: ChardevKind, c: Chardev): XmlElement {
  const s = c.source;
  const source = (() => {
    switch (s.type) {
      case 'file':
      case 'dev':
      case 'pipe':
      case 'nmdm':
        return el('source', { path: s.path, append: s.append === undefined ? undefined : s.append ? 'on' : 'off' });
      case 'tcp':
        return el('source', { mode: s.mode, host: s.host, service: s.service });
      case 'unix':
        return el('source', { mode: s.mode, path: s.path });
      case 'spiceport':
        return el('source', { channel: s.channel });
      case 'udp':
        return el('source', { mode: 'connect', host: s.host, service: s.service });
      default:
        return s.path !== undefined ? el('source', { path: s.path }) : undefined;
    }
  })();
  return el(
    kind,
    { type: s.type },
    source,
    s.type === 'tcp' && s.protocol && el('protocol', { type: s.protocol }),
    el('target', { type: c.targetType, port: c.targetPort, name: c.targetName }, c.targetModel !== undefined && el('model', { name: c.targetModel })),
    c.extra,
    c.alias !== undefined && el('alias', { name: c.alias }),
    writeAddressXml(c.address),
  );
}

/** libvirt's QMP monitor: a unix socket in the domain's state directory. */
export function buildMonitor(ctx: EmitContext): void {
  if (!has(ctx.caps, 'chardev')) {
    ctx.out.raw('-monitor', 'pty');
    return;
  }
  ctx.out.keyval('-chardev', props({ backend: 'socket', id: 'charmonitor', path: ctx.paths.monitorSocket, server: 'on', wait: 'off' }));
  ctx.out.keyval('-mon', props({ chardev: 'charmonitor', id: 'monitor', mode: 'control' }));
}

export function buildSerials(ctx: EmitContext): void {
  // NB: without -nodefaults QEMU adds a serial port of its own; "-serial none" stops it.
  if (!ctx.dom.devices.serials.length && !has(ctx.caps, 'nodefaults')) ctx.out.raw('-serial', 'none');
}

export function buildParallels(ctx: EmitContext): void {
  if (!ctx.dom.devices.parallels.length && !has(ctx.caps, 'nodefaults')) ctx.out.raw('-parallel', 'none');
}

export function buildChannels(_ctx: EmitContext): void {}

export function buildConsoles(_ctx: EmitContext): void {}

export function readChardevsArgv(r: ArgvReader): void {
  for (const o of r.take('-serial', '-parallel', '-monitor')) {
    const v = o.value.kind === 'raw' ? o.value.text : '';
    if (v === 'none') continue;
    if (o.name === '-monitor') continue; // the management monitor is not guest configuration
    r.unclaim(o);
  }
}
