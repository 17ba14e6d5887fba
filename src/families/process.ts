// What libvirt adds to every QEMU process for itself, not from the domain XML: the environment,
// the master-key secret, -no-user-config/-nodefaults, -overcommit (-realtime before it), -sandbox, -msg.
// from-native recognises these and maps them to nothing (they are not guest configuration).
import type { ArgvReader } from '../ir/argv-reader.js';
import { optProps } from '../ir/argv-reader.js';
import { has } from '../qemu/caps.js';
import { printKeyval, propBool, propStr, props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';

export const DEFAULT_ENV_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function processEnv(ctx: EmitContext, path = DEFAULT_ENV_PATH): Array<[string, string]> {
  const home = ctx.paths.stateDir;
  const env: Array<[string, string]> = [['LC_ALL', 'C'], ['PATH', path], ['HOME', home]];
  if (has(ctx.caps, 'device')) {
    env.push(['XDG_DATA_HOME', `${home}/.local/share`], ['XDG_CACHE_HOME', `${home}/.cache`], ['XDG_CONFIG_HOME', `${home}/.config`]);
  }
  return env;
}

export function buildMasterKey(ctx: EmitContext): void {
  if (!has(ctx.caps, 'master-key')) return;
  ctx.out.object('-object', props({ 'qom-type': 'secret', id: 'masterKey0', format: 'raw', file: ctx.paths.masterKey }));
}

export function buildNoDefaults(ctx: EmitContext): void {
  if (has(ctx.caps, 'no-user-config')) ctx.out.flag('-no-user-config');
  if (has(ctx.caps, 'nodefaults')) ctx.out.flag('-nodefaults');
}

export function buildOvercommit(ctx: EmitContext): void {
  // <memoryBacking><locked/> keeps guest RAM out of swap
  const locked = !!ctx.dom.memoryBacking?.locked;
  if (has(ctx.caps, 'overcommit')) ctx.out.keyval('-overcommit', props({ 'mem-lock': locked ? 'on' : 'off' }));
  // NB: QEMU 1.6 to 3.0 locked guest RAM with -realtime, which libvirt always printed
  else if (has(ctx.caps, 'realtime-mlock')) ctx.out.keyval('-realtime', props({ mlock: locked ? 'on' : 'off' }));
  else if (locked) ctx.diag.warn('UnsupportedForTarget', { what: '<memoryBacking><locked/>', target: `QEMU ${ctx.caps.version.join('.')} (-realtime mlock= came in 1.6)` });
}

export function buildSandbox(ctx: EmitContext): void {
  if (!has(ctx.caps, 'sandbox')) return;
  ctx.out.keyval('-sandbox', props({ enable: 'on', obsolete: 'deny', elevateprivileges: 'deny', spawn: 'deny', resourcecontrol: 'deny' }));
}

export function buildMsg(ctx: EmitContext): void {
  if (has(ctx.caps, 'msg.timestamp')) ctx.out.keyval('-msg', props({ timestamp: 'on' }));
}

const STD_ENV = new Set(['LC_ALL', 'PATH', 'HOME', 'USER', 'LOGNAME', 'XDG_DATA_HOME', 'XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'TMPDIR', 'SHELL', 'TERM', 'LANG']);
// Variables libvirt derives from the domain or from qemu.conf rather than copying from the XML:
// the audio backend (QEMU_AUDIO_*, SDL_AUDIODRIVER), SDL's display (DISPLAY/XAUTHORITY, read by
// the graphics family), VNC SASL's config dir and old-style rbd monitors (CEPH_ARGS, read by disks).
const DERIVED_ENV = new Set(['SDL_AUDIODRIVER', 'SASL_CONF_PATH', 'DISPLAY', 'XAUTHORITY', 'CEPH_ARGS']);

/** Environment variables that are process plumbing, not guest configuration. */
export const isStandardEnv = (name: string): boolean => STD_ENV.has(name) || DERIVED_ENV.has(name) || name.startsWith('QEMU_AUDIO_');

export function readProcessArgv(r: ArgvReader): void {
  r.take('-no-user-config', '-nodefaults', '-nodefconfig', '-sandbox', '-msg', '-daemonize', '-pidfile', '-S');
  // mlock=on (QEMU 1.6 to 3.0) is <memoryBacking><locked/>
  for (const o of r.take('-realtime')) {
    if (propBool(optProps(o), 'mlock') === true) r.draft.memoryBacking = { ...(r.draft.memoryBacking ?? {}), locked: true };
  }
  readOvercommit(r);
  // per-run state, not configuration: the Xen domain id, an incoming migration, privilege drops
  r.take('-domid', '-incoming', '-runas', '-chroot');
  for (const o of r.take('-object')) {
    const p = optProps(o);
    // libvirt's own master key; other objects are not ours to drop
    if (propStr(p, 'qom-type') === 'secret' && propStr(p, 'id') === 'masterKey0') {
      r.settle(o);
      continue;
    }
    // give it back: another family (memory, rng, iothread …) may own it
    r.unclaim(o);
  }
}

/**
 * -overcommit mem-lock=on is <memoryBacking><locked/>. NB: QEMU before 9.1 reads each -overcommit
 * whole, a key it does not give set to its default ("vl: Allow multiple -overcommit commands"), so
 * the last one alone counts. A key without an XML home (cpu-pm=on) is kept as a second -overcommit
 * in <qemu:commandline>, after the one libvirt prints: it must say mem-lock too, with the value the
 * domain gives libvirt's, or it would turn the lock off again.
 */
function readOvercommit(r: ArgvReader): void {
  const all = r.take('-overcommit');
  const last = all[all.length - 1];
  if (!last) return;
  // what the last one replaced took no effect
  for (const o of all.slice(0, -1)) r.settle(o);
  const p = optProps(last);
  const locked = propBool(p, 'mem-lock') === true;
  if (locked) r.draft.memoryBacking = { ...(r.draft.memoryBacking ?? {}), locked: true };
  // cpu-pm=off is QEMU's default, which the domain leaves it at
  const kept = Object.keys(p).filter((k) => k !== 'mem-lock' && !(k === 'cpu-pm' && propBool(p, k) === false));
  r.settle(last);
  if (!kept.length) return;
  r.draft.qemuArgs.push('-overcommit', printKeyval({ 'mem-lock': r.draft.memoryBacking?.locked ? 'on' : 'off', ...Object.fromEntries(kept.map((k) => [k, p[k]!])) }));
  for (const k of kept) r.diag.warn('UnmappedOption', { option: '-overcommit', detail: `property '${k}' (with the domain's mem-lock, as QEMU 7.2 reads -overcommit whole)` }, last.valueSpan ?? last.span);
}
