// <clock>: offset and timers. argv: -rtc base=…,clock=…,driftfix=…, legacy -localtime.
import { fail, type Span } from '../errors.js';
import type { ArgvReader } from '../ir/argv-reader.js';
import { optProps, optText } from '../ir/argv-reader.js';
import type { Clock, Timer } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import { propStr, props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { child, children, el, type XmlElement } from '../xml/tree.js';
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
        ...readCatchup(child(t, 'catchup')),
        $span: t.span,
      }),
    ),
    $span: e.span,
  };
}

function readCatchup(e: XmlElement | undefined): Pick<Timer, 'catchup'> {
  if (!e) return {};
  const n = (k: string) => (e.attrs[k] !== undefined ? { [k]: intAttr(e, k) } : {});
  return { catchup: { ...n('threshold'), ...n('slew'), ...n('limit') } };
}

export function writeClockXml(c: Clock): XmlElement {
  return el(
    'clock',
    { offset: c.offset, timezone: c.timezone, adjustment: c.adjustment, basis: c.basis, start: c.start },
    c.timers.map((t) => el('timer', {
      name: t.name, tickpolicy: t.tickpolicy, track: t.track, frequency: t.frequency, mode: t.mode,
      present: t.present === undefined ? undefined : t.present ? 'yes' : 'no',
    }, t.catchup && el('catchup', { threshold: t.catchup.threshold, slew: t.catchup.slew, limit: t.catchup.limit }))),
  );
}

/** -rtc base= for an offset: utc/localtime, or a start date for absolute and variable clocks. */
function rtcBase(c: Clock): string {
  if (c.offset === 'localtime') return 'localtime';
  if (c.offset === 'absolute' && c.start !== undefined) return isoSeconds(Number(c.start), c.$span);
  if (c.offset === 'variable') {
    // NB: libvirt starts a variable clock at "now + adjustment" in its basis (utc or localtime)
    const adj = Number(c.adjustment ?? 0);
    if (adj === 0) return c.basis === 'localtime' ? 'localtime' : 'utc';
    return isoSeconds(Math.floor(Date.now() / 1000) + adj, c.$span);
  }
  return 'utc';
}

/** An epoch second as QEMU's -rtc base= date; a time outside what a date can hold is an error. */
function isoSeconds(epoch: number, span?: Span): string {
  const date = new Date(epoch * 1000);
  if (Number.isNaN(date.getTime())) return fail('Unrepresentable', { what: `the clock start ${epoch}`, target: '-rtc base=', why: 'it is not a date' }, span);
  return date.toISOString().slice(0, 19);
}

/** QEMU's lost_tick_policy for a <timer tickpolicy=…> (catchup is "slew" for the PIT). */
const PIT_POLICY: Record<string, string> = { delay: 'delay', catchup: 'slew', discard: 'discard' };

export function buildRtc(ctx: EmitContext): void {
  const c = ctx.dom.clock;
  const base = rtcBase(c);
  const noHpet = (t: Timer) => t.name === 'hpet' && t.present === false && !has(ctx.caps, 'machine.hpet');
  if (!has(ctx.caps, 'rtc')) {
    if (base === 'localtime') ctx.out.flag('-localtime');
    else if (base !== 'utc') ctx.diag.warn('UnsupportedForTarget', { what: `<clock offset='${c.offset}'> start ${base}`, target: 'QEMU without -rtc (only -localtime)' }, c.$span);
    if (c.timers.some(noHpet)) ctx.out.flag('-no-hpet');
    // NB: the RTC's drift fix and the PIT's lost-tick policy came with -rtc and the kvm-pit device
    for (const t of c.timers) {
      if ((t.name === 'rtc' && (t.tickpolicy || t.track)) || (t.name === 'pit' && t.tickpolicy)) {
        ctx.diag.warn('UnsupportedForTarget', { what: `<timer name='${t.name}'> ${t.tickpolicy ? `tickpolicy='${t.tickpolicy}'` : `track='${t.track}'`}`, target: 'QEMU without -rtc' }, t.$span ?? c.$span);
      }
    }
    return;
  }
  const rtc = c.timers.find((t) => t.name === 'rtc');
  ctx.out.keyval('-rtc', props({
    base,
    clock: rtc?.track === 'guest' ? 'vm' : rtc?.track === 'wall' || rtc?.track === 'realtime' ? 'rt' : undefined,
    driftfix: rtc?.tickpolicy === 'catchup' ? 'slew' : undefined,
  }));
  // NB: libvirt walks the timers in XML order: the PIT's -global and -no-hpet follow that order
  for (const t of c.timers) {
    const policy = t.name === 'pit' && t.tickpolicy ? PIT_POLICY[t.tickpolicy] : undefined;
    // NB: the in-kernel PIT (KVM's irqchip) is the one with a lost-tick policy
    if (policy && has(ctx.caps, 'device')) ctx.out.raw('-global', `kvm-pit.lost_tick_policy=${policy}`);
    if (noHpet(t)) ctx.out.flag('-no-hpet');
  }
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
      // NB: a date is where the guest's clock starts whenever QEMU starts: libvirt's absolute
      // offset (its variable offset prints a date too, but one computed from "now" at each start)
      const epoch = Date.parse(`${base}Z`);
      if (!/^\d{4}-\d\d-\d\d(T\d\d:\d\d:\d\d)?$/.test(base) || Number.isNaN(epoch)) {
        return fail('BadOptionValue', { option: '-rtc', value: base, reason: 'base= is utc, localtime or a date such as 2006-06-17T16:01:21' }, rtc.valueSpan);
      }
      d.clock.offset = 'absolute';
      d.clock.start = String(Math.floor(epoch / 1000));
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
  // NB: in buildRtc's order: the PIT's lost-tick policy, then the HPET switched off
  for (const g of r.take('-global')) {
    const m = /^kvm-pit\.lost_tick_policy=(\w+)$/.exec(optText(g));
    const tickpolicy = m ? Object.keys(PIT_POLICY).find((k) => PIT_POLICY[k] === m[1]) : undefined;
    if (!tickpolicy) {
      r.unclaim(g);
      continue;
    }
    d.clock.timers = [...d.clock.timers, { name: 'pit', tickpolicy }];
  }
  // NB: -machine hpet=off (read with -machine) may have said it already: one timer element
  if (r.take('-no-hpet').length) d.clock.timers = [...d.clock.timers.filter((t) => t.name !== 'hpet'), { name: 'hpet', present: false }];
}
