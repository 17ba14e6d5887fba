// <sound> and <audio>: sound cards and the host audio backends they play through.
// argv: -audiodev + -device ich6/ich9/AC97/…; legacy -soundhw and QEMU_AUDIO_DRV.
import type { ArgvReader } from '../ir/argv-reader.js';
import type { Audio, Sound } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import { props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { el, type XmlElement } from '../xml/tree.js';
import { intAttr, reqAttr } from '../xml/values.js';

export function readSoundXml(e: XmlElement): Sound {
  return { model: reqAttr(e, 'model'), codecs: [], extra: e.children, $span: e.span };
}

export function writeSoundXml(s: Sound): XmlElement {
  return el('sound', { model: s.model }, s.extra);
}

export function readAudioXml(e: XmlElement): Audio {
  return { id: intAttr(e, 'id') ?? 1, type: reqAttr(e, 'type'), attrs: e.attrs, children: e.children, $span: e.span };
}

export function writeAudioXml(a: Audio): XmlElement {
  return el('audio', a.attrs, a.children);
}

export function buildAudiodevs(ctx: EmitContext): void {
  if (!has(ctx.caps, 'audiodev')) return;
  // NB: libvirt 9.0 always gives QEMU an audio backend; with no <audio> and no graphics it is "none".
  if (!ctx.dom.devices.audios.length && !ctx.dom.devices.graphics.length) {
    ctx.out.object('-audiodev', props({ id: 'audio1', driver: 'none' }));
  }
}

export function buildSounds(_ctx: EmitContext): void {}

export function readSoundArgv(r: ArgvReader): void {
  for (const o of r.take('-audiodev')) {
    if (o.value.kind === 'props' && o.value.props.driver === 'none') continue;
    r.unclaim(o);
  }
}
