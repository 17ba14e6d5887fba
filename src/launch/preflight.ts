// Checks before anything starts, each refusing with what to do about it: the emulator (exists,
// runs the arch and machine), KVM for the guest's user, every file QEMU must open reachable and
// readable (writable) by that user, and the helper that drops privileges.
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import type { Domain } from '../ir/domain.js';
import { domainFromXml } from '../ir/from-xml.js';
import type { QemuVersion } from '../qemu/version.js';
import { allowed, checkFile, checkReachableDir, modeString, type Need } from './access.js';
import { archOfBinary, emulatorMachines, emulatorVersion, hostArch, isExecutable, kvmState, probeEmulators, runsArch } from './emulator.js';
import { refuse } from './errors.js';
import { missingNvram, resolveHostFirmware } from './firmware.js';
import { describe } from './identity.js';
import type { Instance } from './instance.js';

export interface FileUse {
  readonly path: string;
  readonly need: Need;
  readonly what: string;
  /** not shared and not read-only: --fix-permissions may hand it to the guest's user */
  readonly exclusive: boolean;
}

export interface Plan {
  readonly domain: Domain;
  readonly xmlFile: string;
  readonly emulator: string;
  readonly version: QemuVersion;
  /** files to chown to the guest's user (--fix-permissions), with their current owner */
  readonly chown: readonly { readonly path: string; readonly uid: number; readonly gid: number }[];
  readonly setpriv: string;
  readonly warnings: readonly string[];
}

/** Every host file the domain makes QEMU open, and how. */
export function filesOf(dom: Domain): FileUse[] {
  const files: FileUse[] = [];
  for (const d of dom.devices.disks) {
    const path = d.source.type === 'file' ? d.source.file : d.source.type === 'block' ? d.source.dev : undefined;
    if (!path) continue;
    // NB: libvirt treats cdroms and floppies-with-readonly as read-only media
    const ro = d.readonly === true || d.device === 'cdrom';
    files.push({ path, need: ro ? 'r' : 'rw', what: `${d.device} ${d.target.dev}`, exclusive: !ro && d.shareable !== true });
  }
  const os = dom.os;
  if (os.kernel) files.push({ path: os.kernel, need: 'r', what: 'kernel', exclusive: false });
  if (os.initrd) files.push({ path: os.initrd, need: 'r', what: 'initrd', exclusive: false });
  if (os.dtb) files.push({ path: os.dtb, need: 'r', what: 'dtb', exclusive: false });
  if (os.loader) {
    const rw = os.loader.type === 'pflash' && os.loader.readonly !== true;
    files.push({ path: os.loader.path, need: rw ? 'rw' : 'r', what: 'loader', exclusive: rw });
  }
  if (os.nvram?.path) files.push({ path: os.nvram.path, need: 'rw', what: 'nvram', exclusive: true });
  return files;
}

/** Output files of file chardevs: QEMU creates them, so their directory must let the user in and write. */
function chardevOutputs(dom: Domain): { path: string; what: string }[] {
  const out: { path: string; what: string }[] = [];
  const groups = [['serial', dom.devices.serials], ['parallel', dom.devices.parallels], ['console', dom.devices.consoles], ['channel', dom.devices.channels]] as const;
  for (const [kind, list] of groups) {
    list.forEach((c, i) => {
      if (c.source.type === 'file') out.push({ path: c.source.path, what: `${kind} ${i} output` });
      if (c.log) out.push({ path: c.log.file, what: `${kind} ${i} log` });
    });
  }
  return out;
}

function findSetpriv(): string {
  for (const p of ['/usr/bin/setpriv', '/bin/setpriv', '/usr/sbin/setpriv']) if (isExecutable(p)) return p;
  return refuse('setpriv (util-linux) is needed to start QEMU without privileges: install util-linux');
}

export function preflight(inst: Instance, xmlFile: string, fixPermissions: boolean): Plan {
  const { domain: parsed, diagnostics } = domainFromXml(readFileSync(xmlFile, 'utf8'), xmlFile);
  let dom = parsed;
  const guest = inst.guest;
  const who = describe(guest);
  const warnings = diagnostics.items.map((d) => d.message);

  // the emulator: given, or the qemu-system-ARCH this host has
  const arch = dom.os.arch ?? hostArch();
  const emulator = dom.devices.emulator ?? probeEmulators().find((e) => archOfBinary(e) !== undefined && runsArch(archOfBinary(e)!, arch));
  if (!emulator) return refuse(`no emulator for arch ${arch} on this host: install one (apt-get install qemu-system-x86 for x86) or name it in <emulator>`);
  if (!isAbsolute(emulator)) return refuse(`emulator '${emulator}' must be an absolute path`);
  let st;
  try {
    st = statSync(emulator);
  } catch {
    return refuse(`emulator ${emulator} does not exist: install it (apt-get install qemu-system-x86 for x86) or fix <emulator>`);
  }
  const reach = checkReachableDir(dirname(emulator), guest, 'emulator');
  if (reach) return refuse(reach.message);
  if (!st.isFile() || !allowed(st, guest, 'x')) return refuse(`emulator ${emulator} is not executable by ${who} (${modeString(st)})`);
  const version = emulatorVersion(emulator);
  if (!version) return refuse(`emulator ${emulator} printed no QEMU version for -version: is it QEMU?`);
  const binArch = archOfBinary(emulator);
  if (binArch && !runsArch(binArch, arch)) return refuse(`emulator ${emulator} runs ${binArch} guests, not arch '${arch}': use qemu-system-${arch === 'i686' ? 'i386' : arch}`);
  if (dom.os.machine) {
    const machines = emulatorMachines(emulator);
    if (!machines) return refuse(`emulator ${emulator} failed to list its machine types (-machine help)`);
    if (!machines.some((m) => m.name === dom.os.machine)) {
      const some = machines.filter((m) => !m.deprecated).slice(0, 8).map((m) => m.name).join(', ');
      return refuse(`emulator ${emulator} does not support machine type '${dom.os.machine}' (it has ${some}, …; see \`${emulator} -machine help\`)`);
    }
  }

  // <os firmware='efi'>: this host's firmware, and a variable store the launch will create
  dom = resolveHostFirmware(dom, inst.conf, inst.libDir, version);
  const nvramToCreate = missingNvram(dom)?.path;

  if (dom.type === 'kvm') {
    const kvm = kvmState(guest);
    if (!kvm.usable) return refuse(`<domain type='kvm'> needs KVM: ${kvm.reason}`);
  }

  const chown: { path: string; uid: number; gid: number }[] = [];
  for (const f of filesOf(dom).filter((x) => x.path !== nvramToCreate)) {
    let owner: { uid: number; gid: number } | undefined;
    if (fixPermissions && f.exclusive && isAbsolute(f.path)) {
      try {
        const s = statSync(f.path);
        if (!s.isBlockDevice() && (s.uid !== guest.uid || s.gid !== guest.gid)) {
          owner = { uid: guest.uid, gid: guest.gid };
          chown.push({ path: f.path, uid: s.uid, gid: s.gid });
        }
      } catch {
        /* reported by checkFile */
      }
    }
    const problem = checkFile(f.path, f.need, guest, f.what, owner);
    if (problem) {
      const hint = f.exclusive && !fixPermissions && !problem.message.includes('denies search') && !problem.message.includes('does not exist') ? '; --fix-permissions hands it to the guest\'s user while the guest runs' : '';
      return refuse(problem.message + hint);
    }
  }
  for (const c of chardevOutputs(dom)) {
    if (!isAbsolute(c.path)) return refuse(`${c.what}: path '${c.path}' is not absolute`);
    const dir = dirname(c.path);
    const reachDir = checkReachableDir(dir, guest, c.what);
    if (reachDir) return refuse(reachDir.message);
    let target;
    try {
      target = statSync(c.path);
    } catch {
      target = statSync(dir);
    }
    if (!allowed(target, guest, 'w')) return refuse(`${c.what}: ${who} cannot write ${target.isDirectory() ? `in directory ${dir}` : c.path} (${modeString(target)})`);
  }
  const stateReach = checkReachableDir(inst.libDir, guest, 'state directory');
  if (stateReach) return refuse(stateReach.message);
  return { domain: dom, xmlFile, emulator, version, chown, setpriv: findSetpriv(), warnings };
}
