// <clock>: offset and timers. argv: -rtc base=…,clock=…,driftfix=…, legacy -localtime.
import type { ArgvReader } from '../ir/argv-reader.js';
import { optProps } from '../ir/argv-reader.js';
import type { Clock, Timer } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import { propStr, props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { children, el, type XmlElement } from '../xml/tree.js';
import { boolAttr, enumAttr, intAttr, reqAttr } from '../xml/values.js';

export function readClockXml(e: XmlElement): Clock {
  return {
    offset: enumAttr(e, 'offset', ['utc', 'localtime', 'timezone', 'variable', 'absolute'] as const) ?? 'utc',
    ...(e.attrs.timezone !== undefined ? { timezone: e.attrs.timezone } : {}),
    ...(e.attrs.adjustment !== undefined ? { adjustment: e.attrs.adjustment } : {}),
    ...(e.attrs.basis !== undefined ? { basis: enumAttr(e, 'basis', ['utc', 'localtime'] as const) } : {}),
    ...(e.attrs.start !== undefined ? { start: e.attrs.start } : {}),
    timers: children(e, 'timer').map(
      (t): Timer => ({
        name: reqAttr(t, 'name'),
        ...(t.attrs.present !== undefined ? { present: boolAttr(t, 'present') } : {}),
        ...(t.attrs.tickpolicy !== undefined ? { tickpolicy: t.attrs.tickpolicy } : {}),
        ...(t.attrs.track !== undefined ? { track: t.attrs.track } : {}),
        ...(t.attrs.frequency !== undefined ? { frequency: intAttr(t, 'frequency') } : {}),
        ...(t.attrs.mode !== undefined ? { mode: t.attrs.mode } : {}),
        $span: t.span,
      }),
    ),
    $span: e.span,
  };
}

export function writeClockXml(c: Clock): XmlElement {
  return el(
    'clock',
    { offset: c.offset, timezone: c.timezone, adjustment: c.adjustment, basis: c.basis, start: c.start },
    c.timers.map((t) => el('timer', {
      name: t.name, tickpolicy: t.tickpolicy, track: t.track, frequency: t.frequency, mode: t.mode,
      present: t.present === undefined ? undefined : t.present ? 'yes' : 'no',
    })),
  );
}

export function buildRtc(ctx: EmitContext): void {
  const c = ctx.dom.clock;
  const base = c.offset === 'localtime' || (c.offset === 'variable' && c.basis === 'localtime') ? 'localtime' : 'utc';
  if (!has(ctx.caps, 'rtc')) {
    if (base === 'localtime') ctx.out.flag('-localtime');
    return;
  }
  const rtc = c.timers.find((t) => t.name === 'rtc');
  ctx.out.keyval('-rtc', props({
    base: c.offset === 'timezone' ? 'utc' : base,
    clock: rtc?.track === 'guest' ? 'vm' : rtc?.track === 'wall' ? 'rt' : undefined,
    driftfix: rtc?.tickpolicy === 'catchup' ? 'slew' : undefined,
  }));
}

export function readClockArgv(r: ArgvReader): void {
  const d = r.draft;
  if (r.take('-localtime').length) d.clock.offset = 'localtime';
  const rtc = r.takeLast('-rtc');
  if (rtc) {
    const p = optProps(rtc);
    const base = propStr(p, 'base');
    if (base === 'localtime') d.clock.offset = 'localtime';
    else if (base === 'utc') d.clock.offset = 'utc';
    else if (base) {
      d.clock.offset = 'variable';
      d.clock.basis = 'utc';
      d.clock.start = base;
    }
    const clock = propStr(p, 'clock');
    const driftfix = propStr(p, 'driftfix');
    if (clock === 'vm' || clock === 'rt' || driftfix === 'slew') {
      d.clock.timers = [...d.clock.timers, {
        name: 'rtc',
        ...(clock === 'vm' ? { track: 'guest' } : clock === 'rt' ? { track: 'wall' } : {}),
        ...(driftfix === 'slew' ? { tickpolicy: 'catchup' } : {}),
      }];
    }
  }
}
