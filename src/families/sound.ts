// <sound> and <audio>: sound cards and the host audio backends they play through.
// argv: -audiodev + -device AC97/ES1370/intel-hda+hda-*/…; legacy -soundhw and QEMU_AUDIO_DRV.
import type { ArgvReader } from '../ir/argv-reader.js';
import { optProps, optText } from '../ir/argv-reader.js';
import type { Audio, AudioStream, AudioType, Sound, SoundModel } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import { propBool, propNum, propObj, propStr, props, type PropValue, type Props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { fail } from '../errors.js';
import { child, children, el, type XmlElement } from '../xml/tree.js';
import { boolAttr, checkEnum, intAttr, reqAttr, yesNo } from '../xml/values.js';
import { acpiIndexFromProps, pciAddressFromProps, pciPlacementWithAcpi, readAcpiIndexXml, readAddressXml, writeAcpiXml, writeAddressXml } from './address.js';
import { usbBusName, usbPortOf } from './input.js';

const MODELS = ['sb16', 'es1370', 'pcspk', 'ac97', 'ich6', 'ich9', 'usb', 'ich7', 'virtio'] as const;
const CODECS = ['duplex', 'micro', 'output'] as const;
const AUDIO_TYPES = ['none', 'alsa', 'coreaudio', 'jack', 'oss', 'pulseaudio', 'sdl', 'spice', 'file', 'dbus', 'pipewire'] as const;
const SOUND_KNOWN = new Set(['codec', 'audio', 'alias', 'acpi', 'address']);

/** QEMU's -audiodev driver for each <audio type>. */
const QEMU_DRIVER: Record<AudioType, string> = {
  none: 'none', alsa: 'alsa', coreaudio: 'coreaudio', jack: 'jack', oss: 'oss', pulseaudio: 'pa', sdl: 'sdl', spice: 'spice', file: 'wav', dbus: 'dbus', pipewire: 'pipewire',
};

/** The -device driver of each sound model (pcspk is a machine property, not a device). */
const SOUND_DRIVER: Partial<Record<SoundModel, string>> = {
  es1370: 'ES1370', sb16: 'sb16', ac97: 'AC97', ich6: 'intel-hda', ich9: 'ich9-intel-hda', ich7: 'intel-hda', usb: 'usb-audio', virtio: 'virtio-sound-pci',
};

/** Models that are HDA controllers: the audio goes through their codecs. */
const HDA = new Set<SoundModel>(['ich6', 'ich7', 'ich9']);

export function readSoundXml(e: XmlElement): Sound {
  const audio = child(e, 'audio');
  const address = child(e, 'address');
  const alias = child(e, 'alias');
  const audioId = audio ? intAttr(audio, 'id') : undefined;
  return {
    model: checkEnum(e, 'sound model', reqAttr(e, 'model'), MODELS),
    codecs: children(e, 'codec').map((c) => checkEnum(c, 'codec type', reqAttr(c, 'type'), CODECS)),
    ...(audioId !== undefined ? { audioId } : {}),
    ...(alias?.attrs.name ? { alias: alias.attrs.name } : {}),
    ...readAcpiIndexXml(e),
    ...(address ? { address: readAddressXml(address) } : {}),
    extra: e.children.filter((c) => !SOUND_KNOWN.has(c.name)),
    $span: e.span,
  };
}

export function writeSoundXml(s: Sound): XmlElement {
  return el(
    'sound',
    { model: s.model },
    s.codecs.map((c) => el('codec', { type: c })),
    s.audioId !== undefined && el('audio', { id: s.audioId }),
    s.extra,
    s.alias !== undefined && el('alias', { name: s.alias }),
    writeAcpiXml(s.acpiIndex),
    writeAddressXml(s.address),
  );
}

// <input>/<output> attributes: the common ones, then those of each backend (XML name, QEMU name).
const STREAM_BACKEND: Partial<Record<AudioType, ReadonlyArray<readonly [string, string, 'str' | 'num' | 'bool']>>> = {
  alsa: [['dev', 'dev', 'str']],
  coreaudio: [['bufferCount', 'buffer-count', 'num']],
  jack: [['serverName', 'server-name', 'str'], ['clientName', 'client-name', 'str'], ['connectPorts', 'connect-ports', 'str'], ['exactName', 'exact-name', 'bool']],
  oss: [['dev', 'dev', 'str'], ['bufferCount', 'buffer-count', 'num'], ['tryPoll', 'try-poll', 'bool']],
  pulseaudio: [['name', 'name', 'str'], ['streamName', 'stream-name', 'str'], ['latency', 'latency', 'num']],
  sdl: [['bufferCount', 'buffer-count', 'num']],
};
// attributes on <audio> itself that become -audiodev properties
const AUDIO_BACKEND: Partial<Record<AudioType, ReadonlyArray<readonly [string, string, 'str' | 'num' | 'bool']>>> = {
  oss: [['tryMMap', 'try-mmap', 'bool'], ['exclusive', 'exclusive', 'bool'], ['dspPolicy', 'dsp-policy', 'num']],
  pulseaudio: [['serverName', 'server', 'str']],
  file: [['path', 'path', 'str']],
};
const STREAM_COMMON = new Set(['mixingEngine', 'fixedSettings', 'voices', 'bufferLength']);

function readStream(e: XmlElement | undefined): AudioStream | undefined {
  if (!e) return undefined;
  const s = child(e, 'settings');
  const n = (x: XmlElement, k: string) => intAttr(x, k);
  const backend: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.attrs)) if (!STREAM_COMMON.has(k)) backend[k] = v;
  const mixingEngine = boolAttr(e, 'mixingEngine');
  const fixedSettings = boolAttr(e, 'fixedSettings');
  const voices = n(e, 'voices');
  const bufferLength = n(e, 'bufferLength');
  return {
    ...(mixingEngine !== undefined ? { mixingEngine } : {}),
    ...(fixedSettings !== undefined ? { fixedSettings } : {}),
    ...(voices !== undefined ? { voices } : {}),
    ...(bufferLength !== undefined ? { bufferLength } : {}),
    ...(s ? { settings: { ...(s.attrs.frequency !== undefined ? { frequency: n(s, 'frequency')! } : {}), ...(s.attrs.channels !== undefined ? { channels: n(s, 'channels')! } : {}), ...(s.attrs.format !== undefined ? { format: s.attrs.format } : {}) } } : {}),
    backend,
  };
}

function writeStream(name: string, s: AudioStream | undefined): XmlElement | undefined {
  if (!s) return undefined;
  return el(
    name,
    { mixingEngine: yesNo(s.mixingEngine), fixedSettings: yesNo(s.fixedSettings), voices: s.voices, bufferLength: s.bufferLength, ...s.backend },
    s.settings && el('settings', { frequency: s.settings.frequency, channels: s.settings.channels, format: s.settings.format }),
  );
}

export function readAudioXml(e: XmlElement): Audio {
  const { id: _id, type: _type, timerPeriod: _tp, ...attrs } = e.attrs;
  const id = intAttr(e, 'id');
  if (id === undefined || id < 1) return fail('XmlBadValue', { what: 'audio id', value: e.attrs.id ?? '', expected: 'an integer from 1' }, e.span);
  const timerPeriod = intAttr(e, 'timerPeriod');
  const input = readStream(child(e, 'input'));
  const output = readStream(child(e, 'output'));
  return {
    id,
    type: checkEnum(e, 'audio type', reqAttr(e, 'type'), AUDIO_TYPES),
    ...(timerPeriod !== undefined ? { timerPeriod } : {}),
    attrs,
    ...(input ? { input } : {}),
    ...(output ? { output } : {}),
    extra: e.children.filter((c) => c.name !== 'input' && c.name !== 'output'),
    $span: e.span,
  };
}

export function writeAudioXml(a: Audio): XmlElement {
  return el('audio', { id: a.id, type: a.type, timerPeriod: a.timerPeriod, ...a.attrs }, writeStream('input', a.input), writeStream('output', a.output), a.extra);
}

// --- IR -> argv -------------------------------------------------------------------------------

/**
 * The audio backends QEMU gets. Without any <audio>, libvirt 9.0 adds one at define time
 * (qemuDomainDefAddDefaultAudioBackend): spice graphics play through spice; vnc and headless
 * guests get "none" unless vnc_allow_host_audio/nographics_allow_host_audio let them use the
 * host's audio, which is then the QEMU_AUDIO_DRV of libvirt's environment (sdl graphics always
 * do); with host audio allowed but QEMU_AUDIO_DRV unset, libvirt adds no backend at all.
 * NB: reading the converting process's environment here is deliberate: qemu.conf documents that
 * these settings make libvirtd honour QEMU_AUDIO_DRV (and SDL_AUDIODRIVER) of its own environment,
 * and domxml stands in for libvirtd; no other variable of it is read.
 */
export function audiosOf(ctx: EmitContext): readonly Audio[] {
  const dom = ctx.dom;
  if (dom.devices.audios.length) return dom.devices.audios;
  let add = false;
  let passthrough = false;
  let type: AudioType = 'none';
  for (const g of dom.devices.graphics) {
    if (g.type === 'vnc') {
      add = true;
      passthrough = ctx.conf.vncAllowHostAudio;
      if (!passthrough) type = 'none';
    } else if (g.type === 'spice') {
      add = true;
      passthrough = false;
      type = 'spice';
    } else if (g.type === 'sdl') {
      add = true;
      passthrough = true;
    }
  }
  if (!dom.devices.graphics.length) {
    add = true;
    passthrough = ctx.conf.nographicsAllowHostAudio;
  }
  if (!add) return [];
  const attrs: Record<string, string> = {};
  if (passthrough) {
    const drv = ctx.hostEnv?.QEMU_AUDIO_DRV;
    if (drv === undefined) return [];
    const t = (Object.keys(QEMU_DRIVER) as AudioType[]).find((k) => QEMU_DRIVER[k] === drv);
    if (!t) return fail('UnsupportedDevice', { what: `QEMU_AUDIO_DRV=${drv} (unknown audio driver)` });
    type = t;
    const sdlDriver = ctx.hostEnv?.SDL_AUDIODRIVER;
    if (t === 'sdl' && sdlDriver) attrs.driver = sdlDriver;
  }
  return [{ id: 1, type, attrs, extra: [] }];
}

/** The -audiodev id a device refers to: <audio id=N> of the device, or the first backend. */
export function audioIdString(ctx: EmitContext, id: number): string | undefined {
  const audios = audiosOf(ctx);
  const a = id ? audios.find((x) => x.id === id) : audios[0];
  return a ? `audio${a.id}` : undefined;
}

function typed(v: string, kind: 'str' | 'num' | 'bool'): PropValue {
  if (kind === 'num') return Number(v);
  if (kind === 'bool') return v === 'yes' || v === 'on';
  return v;
}

function streamProps(type: AudioType, s: AudioStream | undefined): Props | undefined {
  if (!s) return undefined;
  const backend: Record<string, PropValue> = {};
  for (const [xml, qemu, kind] of STREAM_BACKEND[type] ?? []) {
    const v = s.backend[xml];
    if (v !== undefined) backend[qemu] = typed(v, kind);
  }
  const p = props({
    'mixing-engine': s.mixingEngine,
    'fixed-settings': s.fixedSettings,
    voices: s.voices,
    'buffer-length': s.bufferLength,
    // NB: libvirt passes the settings only along with fixedSettings
    ...(s.fixedSettings !== undefined ? { frequency: s.settings?.frequency, channels: s.settings?.channels, format: s.settings?.format } : {}),
    ...backend,
  });
  return Object.keys(p).length ? p : undefined;
}

export function buildAudiodevs(ctx: EmitContext): void {
  if (!has(ctx.caps, 'audiodev')) return;
  for (const a of audiosOf(ctx)) {
    const top: Record<string, PropValue> = {};
    for (const [xml, qemu, kind] of AUDIO_BACKEND[a.type] ?? []) {
      const v = a.attrs[xml];
      if (v !== undefined) top[qemu] = typed(v, kind);
    }
    ctx.out.object('-audiodev', props({
      id: `audio${a.id}`,
      driver: QEMU_DRIVER[a.type],
      'timer-period': a.timerPeriod,
      ...top,
      in: streamProps(a.type, a.input),
      out: streamProps(a.type, a.output),
    }));
  }
}

/** The environment the audio backends need: SDL's own driver choice; QEMU_AUDIO_DRV before -audiodev. */
export function audioEnv(ctx: EmitContext): Array<[string, string]> {
  const audios = audiosOf(ctx);
  const env: Array<[string, string]> = [];
  if (!has(ctx.caps, 'audiodev') && audios[0]) env.push(['QEMU_AUDIO_DRV', QEMU_DRIVER[audios[0].type]]);
  for (const a of audios) if (a.type === 'sdl' && a.attrs.driver) env.push(['SDL_AUDIODRIVER', a.attrs.driver]);
  return env;
}

function addressProps(ctx: EmitContext, s: Sound): Record<string, PropValue | undefined> {
  const a = s.address;
  if (a?.type === 'pci') return pciPlacementWithAcpi(ctx.dom, s);
  if (s.model === 'usb') {
    const u = usbPortOf(ctx.dom, s);
    return { bus: usbBusName(ctx.dom, u?.bus ?? 0), port: u?.port };
  }
  return {};
}

/** The sound cards QEMU 0.12's -soundhw offered (pcspk, sb16, es1370, ac97, hda). */
const SOUNDHW_0X: ReadonlySet<SoundModel> = new Set<SoundModel>(['pcspk', 'sb16', 'es1370', 'ac97', 'ich6']);

export function buildSounds(ctx: EmitContext): void {
  const sounds = ctx.dom.devices.sounds;
  // NB: before -audiodev QEMU had one audio driver for the process (QEMU_AUDIO_DRV): the first backend
  if (!has(ctx.caps, 'audiodev')) for (const a of audiosOf(ctx).slice(1)) ctx.diag.warn('UnsupportedForTarget', { what: `<audio id='${a.id}' type='${a.type}'>`, target: 'QEMU without -audiodev (one QEMU_AUDIO_DRV backend)' }, a.$span);
  if (!has(ctx.caps, 'device')) {
    // QEMU 0.x: one -soundhw list; its "hda" is the ICH6 controller, and the cards newer than
    // that (ICH9, USB, virtio …) had no -soundhw name
    const models = sounds.flatMap((s) => {
      if (s.acpiIndex !== undefined) ctx.diag.warn('UnsupportedForTarget', { what: `<acpi index> of <sound model='${s.model}'>`, target: 'QEMU without -device (-soundhw)' }, s.$span);
      if (SOUNDHW_0X.has(s.model)) return [s.model === 'ich6' ? 'hda' : s.model];
      ctx.diag.warn('UnsupportedForTarget', { what: `<sound model='${s.model}'>`, target: 'QEMU without -device (-soundhw)' }, s.$span);
      return [];
    });
    if (models.length) ctx.out.raw('-soundhw', models.join(','));
    return;
  }
  sounds.forEach((s, i) => {
    // NB: the PC speaker is part of the machine: libvirt 9.0 still switches it on with -soundhw
    if (s.model === 'pcspk') return ctx.out.raw('-soundhw', 'pcspk');
    const driver = SOUND_DRIVER[s.model];
    if (!driver) return fail('UnsupportedDevice', { what: `sound model '${s.model}'` }, s.$span);
    const id = s.alias ?? `sound${i}`;
    for (const e of s.extra) ctx.diag.warn('XmlUnsupportedElement', { element: e.name, detail: `of sound ${id}` }, e.span);
    const audiodev = audioIdString(ctx, s.audioId ?? 0);
    if (!audiodev && has(ctx.caps, 'audiodev')) ctx.diag.warn('UnsupportedForTarget', { what: `<sound model='${s.model}'> audio`, target: 'a guest without an <audio> backend' }, s.$span);
    const withAudio = has(ctx.caps, 'audiodev') ? audiodev : undefined;
    ctx.out.object('-device', props({ driver, id, audiodev: HDA.has(s.model) ? undefined : withAudio, ...addressProps(ctx, s) }));
    if (!HDA.has(s.model)) return;
    // NB: an HDA controller without <codec> gets one duplex codec, as libvirt adds it
    const codecs = s.codecs.length ? s.codecs : (['duplex'] as const);
    codecs.forEach((c, cad) => {
      ctx.out.object('-device', props({ driver: `hda-${c}`, id: `${id}-codec${cad}`, bus: `${id}.0`, cad, audiodev: withAudio }));
    });
  });
}

// --- argv -> IR -------------------------------------------------------------------------------

// NB: not virtio-sound-pci (QEMU 8.2): libvirt 9.0's XML has no virtio sound model, so the
// device stays on the command line
const MODEL_BY_DRIVER: Record<string, SoundModel> = {
  ES1370: 'es1370', sb16: 'sb16', AC97: 'ac97', 'intel-hda': 'ich6', 'ich9-intel-hda': 'ich9', 'usb-audio': 'usb',
};

/**
 * Audio back ends of newer QEMU than libvirt 9.0's XML knows, and the one read instead. PipeWire
 * (QEMU 8.1) serves PulseAudio clients (pipewire-pulse), with the same stream properties.
 */
const NEWER_AUDIODEV: Readonly<Record<string, AudioType>> = { pipewire: 'pulseaudio' };

/** QEMU's -audiodev properties back to <audio> attributes (the inverse of the tables above). */
function readAudiodev(p: Props, id: number | undefined, span: XmlElement['span']): Audio | undefined {
  const drv = propStr(p, 'driver') ?? '';
  const type = NEWER_AUDIODEV[drv] ?? (Object.keys(QEMU_DRIVER) as AudioType[]).find((k) => QEMU_DRIVER[k] === drv && !(drv in NEWER_AUDIODEV));
  if (id === undefined || !type) return undefined;
  const attrs: Record<string, string> = {};
  const asXml = (v: PropValue, kind: 'str' | 'num' | 'bool') => (kind === 'bool' ? (v === true || v === 'on' ? 'yes' : 'no') : String(v));
  for (const [xml, qemu, kind] of AUDIO_BACKEND[type] ?? []) if (p[qemu] !== undefined) attrs[xml] = asXml(p[qemu]!, kind);
  const stream = (key: string): AudioStream | undefined => {
    // NB: QemuOpts spells the nested stream properties as dotted keys (in.voices=1)
    const s = propObj(p, key);
    if (!s) return undefined;
    const backend: Record<string, string> = {};
    for (const [xml, qemu, kind] of STREAM_BACKEND[type] ?? []) if (s[qemu] !== undefined) backend[xml] = asXml(s[qemu]!, kind);
    const num = (k: string) => propNum(s, k);
    const settings = { ...(num('frequency') !== undefined ? { frequency: num('frequency')! } : {}), ...(num('channels') !== undefined ? { channels: num('channels')! } : {}), ...(propStr(s, 'format') ? { format: propStr(s, 'format')! } : {}) };
    const me = propBool(s, 'mixing-engine');
    const fs = propBool(s, 'fixed-settings');
    return {
      ...(me !== undefined ? { mixingEngine: me } : {}),
      ...(fs !== undefined ? { fixedSettings: fs } : {}),
      ...(num('voices') !== undefined ? { voices: num('voices')! } : {}),
      ...(num('buffer-length') !== undefined ? { bufferLength: num('buffer-length')! } : {}),
      ...(Object.keys(settings).length ? { settings } : {}),
      backend,
    };
  };
  const input = stream('in');
  const output = stream('out');
  const tp = propNum(p, 'timer-period');
  return { id, type, ...(tp !== undefined ? { timerPeriod: tp } : {}), attrs, ...(input ? { input } : {}), ...(output ? { output } : {}), extra: [], ...(span ? { $span: span } : {}) };
}

export function readSoundArgv(r: ArgvReader): void {
  const d = r.draft.devices;
  const audiodevs = r.take('-audiodev');
  // NB: libvirt's <audio id> counts from 1 and names its backends audio1, audio2…; other names
  // (quickemu's audio0) get ids in the order of the command line, and references follow them
  const names = audiodevs.map((o) => propStr(optProps(o), 'id') ?? '');
  const libvirtNames = names.every((n) => /^audio[1-9]\d*$/.test(n));
  const idOf = new Map(names.map((n, i) => [n, libvirtNames ? Number(n.slice(5)) : i + 1]));
  audiodevs.forEach((o, i) => {
    const a = readAudiodev(optProps(o), idOf.get(names[i]!), o.span);
    const drv = propStr(optProps(o), 'driver') ?? '';
    if (a && drv in NEWER_AUDIODEV) r.diag.warn('NewerThanLibvirt', { what: `-audiodev ${drv}`, instead: `written as <audio type='${a.type}'/>, which it serves too` }, o.span);
    if (a) d.audios.push(a);
    else r.unclaim(o);
  });
  const audioRef = (p: Props): number | undefined => idOf.get(propStr(p, 'audiodev') ?? '');
  for (const o of r.take('-soundhw')) {
    for (const m of optText(o).split(',')) {
      const model = m === 'hda' ? 'ich6' : m === 'all' ? undefined : (MODELS as readonly string[]).includes(m) ? (m as SoundModel) : undefined;
      if (model) d.sounds.push({ model, codecs: [], extra: [], $span: o.span });
      else r.diag.warn('IgnoredProperty', { option: '-soundhw', property: m }, o.span);
    }
  }
  // NB: QEMU 7.1's spelling of -soundhw pcspk (libvirt 9.0 still prints -soundhw): the PC speaker
  // is a machine property naming its audio back end
  const machines = r.cmd.options.filter((o) => (o.name === '-machine' || o.name === '-M') && o.value.kind === 'props' && optProps(o)['pcspk-audiodev'] !== undefined);
  const speaker = machines.pop();
  if (speaker && !d.sounds.some((s) => s.model === 'pcspk')) {
    const audioId = idOf.get(propStr(optProps(speaker), 'pcspk-audiodev') ?? '');
    d.sounds.push({ model: 'pcspk', codecs: [], ...(audioId !== undefined ? { audioId } : {}), extra: [], $span: speaker.span });
  }
  const codecDevs = r.devices((drv) => /^hda-(duplex|micro|output)$/.test(drv));
  const controllers = r.devices((drv) => drv in MODEL_BY_DRIVER);
  // NB: a codec without bus= sits on the only HDA bus there is (QEMU refuses it when there are more)
  const hdas = controllers.filter((c) => HDA.has(MODEL_BY_DRIVER[c.driver]!));
  for (const dev of controllers) {
    r.claim(dev.opt);
    const model = MODEL_BY_DRIVER[dev.driver]!;
    const id = propStr(dev.props, 'id');
    const codecs: Sound['codecs'][number][] = [];
    let audioId = audioRef(dev.props);
    for (const c of codecDevs) {
      const bus = propStr(c.props, 'bus');
      if (bus === undefined ? !(hdas.length === 1 && hdas[0] === dev) : !id || bus !== `${id}.0`) continue;
      r.claim(c.opt);
      // NB: libvirt numbers an HDA's codecs cad=0,1,… in <codec> order: no XML home for another
      r.expect(c.opt, 'cad', codecs.length);
      codecs.push(c.driver.slice(4) as Sound['codecs'][number]);
      audioId ??= audioRef(c.props);
    }
    const address = pciAddressFromProps(dev.props);
    d.sounds.push({
      model,
      // NB: one duplex codec is what libvirt adds by itself: leave it implicit
      codecs: codecs.length === 1 && codecs[0] === 'duplex' ? [] : codecs,
      ...(audioId !== undefined && audioId !== 1 ? { audioId } : {}),
      ...acpiIndexFromProps(dev.props),
      ...(address ? { address } : {}),
      extra: [],
      $span: dev.opt.span,
    });
  }
}
