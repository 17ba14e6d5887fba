// <video>: vga/cirrus/qxl/virtio/bochs/none. argv: -device VGA/cirrus-vga/qxl-vga/…, legacy -vga.
import type { ArgvReader } from '../ir/argv-reader.js';
import type { Video } from '../ir/domain.js';
import type { EmitContext } from '../emit/context.js';
import { el, type XmlElement } from '../xml/tree.js';

export function readVideoXml(e: XmlElement): Video {
  return { model: 'vga', extra: e.children, $span: e.span };
}

export function writeVideoXml(v: Video): XmlElement {
  return el('video', {}, el('model', { type: v.model }), v.extra);
}

export function buildVideos(_ctx: EmitContext): void {}

export function readVideoArgv(_r: ArgvReader): void {}
