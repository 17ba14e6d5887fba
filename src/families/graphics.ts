// <graphics>: vnc, sdl, spice. argv: -display none / -nographic when there is none, -vnc, -spice,
// -display sdl (legacy -sdl).
import type { ArgvReader } from '../ir/argv-reader.js';
import type { Graphics } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import { props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { el, type XmlElement } from '../xml/tree.js';

export function readGraphicsXml(e: XmlElement): Graphics {
  return { type: 'egl-headless', attrs: e.attrs, extra: e.children, $span: e.span };
}

export function writeGraphicsXml(g: Graphics): XmlElement {
  return el('graphics', { type: g.type }, g.extra);
}

export function buildDisplay(ctx: EmitContext): void {
  if (ctx.dom.devices.graphics.length) return;
  if (has(ctx.caps, 'display-none')) ctx.out.keyval('-display', props({ type: 'none' }));
  else ctx.out.flag('-nographic');
}

export function buildGraphics(_ctx: EmitContext): void {}

export function readGraphicsArgv(r: ArgvReader): void {
  r.take('-nographic');
  for (const o of r.take('-display')) {
    if (o.value.kind === 'props' && o.value.props.type === 'none') continue;
    r.unclaim(o);
  }
}
