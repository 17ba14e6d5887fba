// argv -> IR: the orchestrator. Each family reader claims the options it understands, in an
// order where options that decide context (machine, arch) are read first; what nobody claims
// goes to <qemu:commandline> with a warning.
import { Diagnostics, fail } from '../errors.js';
import { readChardevsArgv } from '../families/chardev.js';
import { readClockArgv } from '../families/clock.js';
import { readControllersArgv } from '../families/controller.js';
import { readCpuArgv } from '../families/cpu.js';
import { readDisksArgv } from '../families/disk.js';
import { readFeaturesArgv } from '../families/features.js';
import { readGeneralArgv } from '../families/general.js';
import { readGraphicsArgv } from '../families/graphics.js';
import { readInputsArgv } from '../families/input.js';
import { readLifecycleArgv } from '../families/lifecycle.js';
import { readMemballoonArgv } from '../families/memballoon.js';
import { readNetworksArgv } from '../families/net.js';
import { readOsArgv } from '../families/os.js';
import { readProcessArgv } from '../families/process.js';
import { readLeftoversArgv } from '../families/qemu-commandline.js';
import { readSoundArgv } from '../families/sound.js';
import { readVideoArgv } from '../families/video.js';
import { parseCommandLine, type CommandLine } from '../lexer/argv-parser.js';
import { ArgvReader } from './argv-reader.js';
import { applyDefaults } from './defaults.js';
import type { Disk, Domain } from './domain.js';
import { finishDraft, newDraft } from './draft.js';

export interface FromArgvOptions {
  /** Leave out what libvirt would fill in (implicit controllers, addresses, balloon, inputs). */
  readonly minimal?: boolean;
}

export interface FromArgvResult {
  readonly domain: Domain;
  readonly diagnostics: Diagnostics;
}

const READERS: ReadonlyArray<(r: ArgvReader) => void> = [
  readProcessArgv,
  readOsArgv,
  readGeneralArgv,
  readCpuArgv,
  readFeaturesArgv,
  readClockArgv,
  readLifecycleArgv,
  readControllersArgv,
  readDisksArgv,
  readNetworksArgv,
  readChardevsArgv,
  readInputsArgv,
  readGraphicsArgv,
  readVideoArgv,
  readSoundArgv,
  readMemballoonArgv,
  readLeftoversArgv,
];

export function domainFromArgvText(text: string, file?: string, opts: FromArgvOptions = {}): FromArgvResult {
  return domainFromCommandLine(parseCommandLine(text, file), opts);
}

export function domainFromCommandLine(cmd: CommandLine, opts: FromArgvOptions = {}): FromArgvResult {
  const diag = new Diagnostics();
  const draft = newDraft();
  draft.devices.emulator = cmd.emulator;
  draft.$span = cmd.emulatorSpan;
  const r = new ArgvReader(cmd, diag, draft);
  for (const read of READERS) read(r);
  // QEMU's defaults where the command line says nothing (-m 128, -smp 1)
  if (!draft.memory) draft.memory = draft.currentMemory = 128 * 1024;
  if (!draft.name) {
    // libvirt requires a name; QEMU has none by default
    draft.name = 'unnamed';
  }
  const perDeviceBoot = [...draft.devices.disks, ...draft.devices.interfaces].some((d) => d.bootOrder !== undefined);
  if (!draft.os.boot.length && !perDeviceBoot) draft.os.boot = ['hd'];
  if (!draft.onPoweroff) draft.onPoweroff = 'destroy';
  if (!draft.onReboot) draft.onReboot = 'restart';
  if (!draft.onCrash) draft.onCrash = 'destroy';
  // NB: QEMU has no balloon unless asked for one, so a command line without it means
  // <memballoon model='none'/> (libvirt's default would otherwise add a virtio balloon).
  if (!draft.devices.memballoon) draft.devices.memballoon = { model: 'none', extra: [] };
  const domain = finishDraft(draft);
  if (!cmd.emulator) return fail('EmptyCommandLine', {}, cmd.emulatorSpan);
  // NB: from-native gives libvirt 5.4's defaults (the last release with this direction), which
  // kept i440fx slot 2 for a video card even when there was none.
  return { domain: opts.minimal ? domain : applyDefaults(withQemuDiskDrivers(domain), { reserveVideoSlot: true }), diagnostics: diag };
}

/** libvirt's QEMU driver names itself as every disk's driver and reads local images as raw
 * unless told a format (qemuDomainDeviceDiskDefPostParse). */
function withQemuDiskDrivers(dom: Domain): Domain {
  const disks = dom.devices.disks.map((d): Disk => {
    const local = d.source.type === 'file' || d.source.type === 'block';
    const type = d.driver?.type ?? (local ? 'raw' : undefined);
    return { ...d, driver: { ...d.driver, name: d.driver?.name ?? 'qemu', ...(type ? { type } : {}) } };
  });
  return { ...dom, devices: { ...dom.devices, disks } };
}
