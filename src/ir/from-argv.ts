// argv -> IR: the orchestrator. Each family reader claims the options it understands, in an
// order where options that decide context (machine, arch) are read first; what nobody claims
// goes to <qemu:commandline> with a warning.
import { Diagnostics, DomxmlError, fail } from '../errors.js';
import { readChardevsArgv } from '../families/chardev.js';
import { readClockArgv } from '../families/clock.js';
import { readControllersArgv } from '../families/controller.js';
import { readCpuArgv } from '../families/cpu.js';
import { readDisksArgv } from '../families/disk.js';
import { readFeaturesArgv } from '../families/features.js';
import { readGeneralArgv } from '../families/general.js';
import { readSysinfoArgv } from '../families/sysinfo.js';
import { absolutePaths } from './paths.js';
import { readGraphicsArgv } from '../families/graphics.js';
import { readHostdevsArgv } from '../families/hostdev.js';
import { readHubsArgv } from '../families/hub.js';
import { readInputsArgv } from '../families/input.js';
import { readRedirdevsArgv } from '../families/redirdev.js';
import { readSmartcardsArgv } from '../families/smartcard.js';
import { readLifecycleArgv } from '../families/lifecycle.js';
import { readMemballoonArgv } from '../families/memballoon.js';
import { readFilesystemsArgv } from '../families/filesystem.js';
import { readRngsArgv } from '../families/rng.js';
import { readTpmsArgv } from '../families/tpm.js';
import { readShmemsArgv } from '../families/shmem.js';
import { readVsockArgv } from '../families/vsock.js';
import { readMemoryArgv } from '../families/memory.js';
import { readNetworksArgv } from '../families/net.js';
import { readOsArgv, readLoaderSecureArgv } from '../families/os.js';
import { readIommuArgv, readPanicsArgv, readWatchdogsArgv } from '../families/platform-devices.js';
import { readProcessArgv } from '../families/process.js';
import { keepUnreadProps, readCompatArgv, readLeftoversArgv, type UnreadProps } from '../families/qemu-commandline.js';
import type { EmittedOption } from '../emit/argv.js';
import { domainToArgv } from '../emit/to-argv.js';
import { readSoundArgv } from '../families/sound.js';
import { readVideoArgv } from '../families/video.js';
import { parseCommandLine, type CommandLine, type ParsedOption } from '../lexer/argv-parser.js';
import { MAX_ARG_CHARS, MAX_ARG_COUNT } from '../lexer/limits.js';
import { ArgvReader, optProps, watchProps } from './argv-reader.js';
import { propStr } from '../qemu/props.js';
import { applyDefaults } from './defaults.js';
import type { BootDevice, Disk, Domain } from './domain.js';
import type { DomainDraft } from './argv-reader.js';
import { finishDraft, newDraft } from './draft.js';

export interface FromArgvOptions {
  /** Leave out what libvirt would fill in (implicit controllers, addresses, balloon, inputs). */
  readonly minimal?: boolean;
  /**
   * The directory the command line ran in: relative paths are resolved against it (libvirt needs
   * absolute ones). `why` says where it comes from, for the warnings. Absent: paths stay as written.
   */
  readonly cwd?: { readonly dir: string; readonly why: string };
}

export interface FromArgvResult {
  readonly domain: Domain;
  readonly diagnostics: Diagnostics;
}

const READERS: ReadonlyArray<(r: ArgvReader) => void> = [
  readProcessArgv,
  readOsArgv,
  readGeneralArgv,
  // NB: after -uuid is read: an SMBIOS type 1 UUID stands in for a missing one
  readSysinfoArgv,
  readMemoryArgv,
  readCpuArgv,
  readFeaturesArgv,
  readClockArgv,
  readLifecycleArgv,
  readControllersArgv,
  readDisksArgv,
  // NB: after the disks: the loader a secure flash belongs to may be a legacy -drive if=pflash
  readLoaderSecureArgv,
  readFilesystemsArgv,
  readNetworksArgv,
  readChardevsArgv,
  // NB: after the chardevs: a TPM's -chardev is its own, no serial/channel device refers to it
  readTpmsArgv,
  readInputsArgv,
  // NB: after the controllers (USB/SCSI buses by alias) and the inputs (-usbdevice tablet|mouse)
  readHubsArgv,
  readSmartcardsArgv,
  readRedirdevsArgv,
  readHostdevsArgv,
  readGraphicsArgv,
  readVideoArgv,
  readSoundArgv,
  readWatchdogsArgv,
  readMemballoonArgv,
  readRngsArgv,
  readPanicsArgv,
  readShmemsArgv,
  readIommuArgv,
  readVsockArgv,
  readCompatArgv,
  readLeftoversArgv,
];

export function domainFromArgvText(text: string, file?: string, opts: FromArgvOptions = {}): FromArgvResult {
  return domainFromCommandLine(checkArgvLimits(parseCommandLine(text, file)), opts);
}

export { MAX_ARG_CHARS, MAX_ARG_COUNT };

function checkArgvLimits(cmd: CommandLine): CommandLine {
  if (cmd.options.length > MAX_ARG_COUNT) {
    return fail('ArgvLimit', { what: 'number of options', size: cmd.options.length, limit: MAX_ARG_COUNT }, cmd.options[MAX_ARG_COUNT]!.span);
  }
  for (const o of cmd.options) {
    const word = o.rawValue ?? '';
    if (word.length > MAX_ARG_CHARS) return fail('ArgvLimit', { what: `length of the ${o.written || 'positional'} argument`, size: word.length, limit: MAX_ARG_CHARS }, o.valueSpan ?? o.span);
  }
  return cmd;
}

export function domainFromCommandLine(cmd: CommandLine, opts: FromArgvOptions = {}): FromArgvResult {
  const diag = new Diagnostics();
  const draft = newDraft();
  // NB: libvirt needs an absolute emulator path; a script that relied on $PATH gets the usual place
  if (cmd.emulator.startsWith('/')) draft.devices.emulator = cmd.emulator;
  else {
    draft.devices.emulator = `/usr/bin/${cmd.emulator.split('/').pop()}`;
    diag.warn('EmulatorPath', { written: cmd.emulator, path: draft.devices.emulator }, cmd.emulatorSpan);
  }
  draft.$span = cmd.emulatorSpan;
  const watch = watchProps(cmd);
  const r = new ArgvReader(watch.cmd, diag, draft);
  let verbatim = new Set<ParsedOption>();
  for (const read of READERS) {
    // what is still unclaimed here goes to <qemu:commandline> whole
    if (read === readLeftoversArgv) verbatim = new Set(r.unclaimed());
    read(r);
  }
  // NB: after every reader: a property of a mapped option that no reader looked at is kept where
  // libvirt has a place for it, else warned as dropped (unless its reader already said so, naming
  // it on the option's line)
  const said = new Set(diag.items.filter((d) => d.code === 'IgnoredProperty').map((d) => `${d.span?.line}:${/property '([^'=]*)/.exec(d.message)?.[1]}`));
  const unread: UnreadProps[] = [];
  const mapped = watch.cmd.options.filter((o) => o.name === '-device' && r.isClaimed(o) && !verbatim.has(o));
  for (const o of watch.cmd.options) {
    if (verbatim.has(o) || !r.isClaimed(o)) continue;
    const keys = watch.unread(o).filter((k) => {
      if (said.has(`${o.span.line}:${k}`)) return false;
      // NB: QEMU ids are libvirt's aliases, which it makes up again; only a user alias (ua-…) is a fact
      return k !== 'id' || /^ua-/.test(propStr(optProps(o), 'id') ?? '');
    });
    if (keys.length) unread.push({ opt: o, keys });
  }
  // QEMU's defaults where the command line says nothing (-m 128, -smp 1)
  if (!draft.memory) draft.memory = draft.currentMemory = 128 * 1024;
  if (!draft.name) {
    // libvirt requires a name; QEMU has none by default
    draft.name = 'unnamed';
  }
  bootIndexesToBootDevs(draft);
  // NB: host and redirected USB devices boot by order too (libvirt refuses <os><boot> beside any)
  const perDeviceBoot = [...draft.devices.disks, ...draft.devices.interfaces, ...draft.devices.hostdevs, ...draft.devices.redirdevs].some((d) => d.bootOrder !== undefined);
  if (!draft.os.boot.length && !perDeviceBoot) draft.os.boot = ['hd'];
  if (!draft.onPoweroff) draft.onPoweroff = 'destroy';
  if (!draft.onReboot) draft.onReboot = 'restart';
  if (!draft.onCrash) draft.onCrash = 'destroy';
  // NB: QEMU has no balloon unless asked for one, so a command line without it means
  // <memballoon model='none'/> (libvirt's default would otherwise add a virtio balloon; it adds
  // none to Arm guests, which therefore need no marker).
  const arm = draft.os.arch === 'aarch64' || (draft.os.arch ?? '').startsWith('arm');
  if (!draft.devices.memballoon && !arm) draft.devices.memballoon = { model: 'none', extra: [] };
  const read = finishDraft(draft);
  if (!cmd.emulator) return fail('EmptyCommandLine', {}, cmd.emulatorSpan);
  const domain = opts.cwd ? absolutePaths(read, opts.cwd.dir, diag, opts.cwd.why) : read;
  // NB: from-native gives libvirt 5.4's defaults (the last release with this direction), which
  // kept i440fx slot 2 for a video card even when there was none.
  const full = opts.minimal ? domain : applyDefaults(withQemuDiskDrivers(domain, diag), { reserveVideoSlot: true });
  // NB: last, on the finished domain: the override of a -device names the alias to-native gives it
  return { domain: unread.length ? keepUnreadProps(full, unread, mapped, trialArgv(full), diag) : full, diagnostics: diag };
}

/**
 * What to-native prints for the domain (the target's default QEMU; aliases do not depend on it),
 * or undefined when it cannot be compiled: then no alias is known and what is unread is dropped.
 */
function trialArgv(domain: Domain): readonly EmittedOption[] | undefined {
  try {
    return domainToArgv(domain).argv.options;
  } catch (err) {
    // NB: a domain to-native refuses reads back all the same (the trial only names devices);
    // anything else is a bug, not hidden here
    if (err instanceof DomxmlError) return undefined;
    throw err;
  }
}

/**
 * NB: libvirt turns <os><boot dev=…/> into bootindex=1,2,… on the first device of each kind (the
 * first disk, CD-ROM, floppy, NIC). Bootindexes that fit that pattern exactly are read back as
 * <boot dev>; any other assignment can only have come from per-device <boot order>.
 */
function bootIndexesToBootDevs(draft: DomainDraft): void {
  const dev = draft.devices;
  if (draft.os.boot.length) return;
  const firsts: Array<[BootDevice, { bootOrder?: number } | undefined]> = [
    // NB: a LUN boots as a hard disk (libvirt's bootDisk covers disk and lun)
    ['hd', dev.disks.find((d) => d.device === 'disk' || d.device === 'lun')],
    ['cdrom', dev.disks.find((d) => d.device === 'cdrom')],
    ['fd', dev.disks.find((d) => d.device === 'floppy')],
    ['network', dev.interfaces[0]],
  ];
  const ordered = [...dev.disks, ...dev.interfaces].filter((d) => d.bootOrder !== undefined);
  if (!ordered.length) return;
  const byFirst = firsts.filter(([, d]) => d?.bootOrder !== undefined);
  if (byFirst.length !== ordered.length) return;
  const orders = byFirst.map(([, d]) => d!.bootOrder!).sort((a, b) => a - b);
  if (orders.some((o, i) => o !== i + 1)) return;
  draft.os.boot = [...byFirst].sort((a, b) => a[1]!.bootOrder! - b[1]!.bootOrder!).map(([kind]) => kind);
  const clear = new Set(byFirst.map(([, d]) => d));
  dev.disks = dev.disks.map((d) => (clear.has(d) ? withoutBootOrder(d) : d));
  dev.interfaces = dev.interfaces.map((n) => (clear.has(n) ? withoutBootOrder(n) : n));
}

function withoutBootOrder<T extends { bootOrder?: number }>(d: T): T {
  const copy = { ...d };
  delete copy.bootOrder;
  return copy;
}

/** Image formats a file name tells, for scripts that let QEMU probe the format. */
const FORMAT_BY_SUFFIX: ReadonlyArray<readonly [RegExp, string]> = [
  [/\.qcow2$/i, 'qcow2'], [/\.qcow$/i, 'qcow'], [/\.qed$/i, 'qed'], [/\.vmdk$/i, 'vmdk'], [/\.vdi$/i, 'vdi'], [/\.vhdx$/i, 'vhdx'],
];

/** libvirt's QEMU driver names itself as every disk's driver and reads local images as raw
 * unless told a format (qemuDomainDeviceDiskDefPostParse). NB: a legacy script that gave no
 * format= had QEMU probe it; reading a qcow2 image as raw would hand the guest the container,
 * so a file name that tells the format is followed, with a warning. */
function withQemuDiskDrivers(dom: Domain, diag: Diagnostics): Domain {
  const disks = dom.devices.disks.map((d): Disk => {
    const local = d.source.type === 'file' || d.source.type === 'block';
    const path = d.source.type === 'file' ? d.source.file ?? '' : '';
    const guessed = d.driver?.type === undefined ? FORMAT_BY_SUFFIX.find(([re]) => re.test(path))?.[1] : undefined;
    if (guessed) diag.warn('AssumedDiskFormat', { path, format: guessed }, d.$span);
    const type = d.driver?.type ?? guessed ?? (local ? 'raw' : undefined);
    return { ...d, driver: { ...d.driver, name: d.driver?.name ?? 'qemu', ...(type ? { type } : {}) } };
  });
  return { ...dom, devices: { ...dom.devices, disks } };
}
