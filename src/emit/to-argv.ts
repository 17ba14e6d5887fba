// IR -> argv: the orchestrator. Calls one builder per family in libvirt's fixed order
// (qemuBuildCommandLine in libvirt 9.0 for current QEMU; libvirt 0.7's order for QEMU 0.x).
import { NO_HOST_FACTS, type HostFacts } from './host.js';
import { Diagnostics, type Span } from '../errors.js';
import type { PropValue } from '../qemu/props.js';
import { bootIndexes } from '../families/boot-order.js';
import { buildChannels, buildConsoles, buildMonitor, buildParallels, buildSerials } from '../families/chardev.js';
import { buildRtc } from '../families/clock.js';
import { buildControllers, buildGlobalControllers } from '../families/controller.js';
import { buildCpu } from '../families/cpu.js';
import { buildDisks, buildManagedPrHelper } from '../families/disk.js';
import { buildAcpi, buildVmcoreinfo } from '../families/features.js';
import { buildName, buildSmp, buildUuid } from '../families/general.js';
import { buildGenid, buildSysinfo } from '../families/sysinfo.js';
import { buildMemory, buildMemoryDevices, buildNuma } from '../families/memory.js';
import { buildDisplay, buildGraphics, graphicsEnv } from '../families/graphics.js';
import { buildHostdevs } from '../families/hostdev.js';
import { buildInputs, buildUsbHubs } from '../families/input.js';
import { buildRedirdevs } from '../families/redirdev.js';
import { buildCcidControllers, buildSmartcards } from '../families/smartcard.js';
import { buildLifecycle } from '../families/lifecycle.js';
import { buildMemballoon } from '../families/memballoon.js';
import { buildFilesystems } from '../families/filesystem.js';
import { DEBIAN_OVMF, resolveFirmware, type FirmwareSet } from '../families/firmware.js';
import { buildRngs } from '../families/rng.js';
import { buildTpms } from '../families/tpm.js';
import { buildShmems } from '../families/shmem.js';
import { buildVsock } from '../families/vsock.js';
import { buildNetworks } from '../families/net.js';
import { buildAccel, buildBios, buildBoot, buildKernel, buildMachine } from '../families/os.js';
import { buildIommu, buildPanics, buildWatchdogs } from '../families/platform-devices.js';
import { buildMasterKey, buildMsg, buildNoDefaults, buildOvercommit, buildSandbox, processEnv } from '../families/process.js';
import { secretStoreFromDir } from '../families/secret.js';
import { applyQemuOverrides, buildCompat, buildQemuCommandlineArgs, qemuCommandlineEnv } from '../families/qemu-commandline.js';
import { audioEnv, buildAudiodevs, buildSounds } from '../families/sound.js';
import { buildVideos } from '../families/video.js';
import { applyDefaults } from '../ir/defaults.js';
import type { Domain } from '../ir/domain.js';
import { capsFor, DEFAULT_QEMU_VERSION, has } from '../qemu/caps.js';
import { DEFAULT_CONF, type QemuConf } from '../qemu/config.js';
import { formatVersion, type QemuVersion } from '../qemu/version.js';
import { ArgvBuilder, type Argv } from './argv.js';
import { defaultPaths, type EmitContext } from './context.js';

export interface EmitOptions {
  readonly qemuVersion?: string | QemuVersion;
  readonly arch?: string;
  readonly config?: QemuConf;
  /** Per-domain state directory; default /var/lib/libvirt/qemu/domain--1-NAME. */
  readonly stateDir?: string;
  readonly runnable?: boolean;
  /** PATH given to QEMU (libvirt passes its own). */
  readonly envPath?: string;
  /** The environment libvirt would run in (QEMU_AUDIO_DRV, SDL_AUDIODRIVER pick host audio). */
  readonly hostEnv?: Readonly<Record<string, string | undefined>>;
  /** libvirt's secrets directory (UUID.xml + UUID.base64), where secret values are read from. */
  readonly secretsDir?: string;
  /** The 32-byte master key a launch writes for QEMU (runnable secrets are encrypted with it). */
  readonly masterKey?: Uint8Array;
  /** What libvirt would read from the host (render nodes, hugetlbfs mounts); default: nothing known. */
  readonly host?: HostFacts;
  /** The firmware descriptors <os firmware='efi'> is resolved from (default: Debian 12's ovmf package). */
  readonly firmware?: FirmwareSet;
}

export interface EmitResult {
  readonly argv: Argv;
  readonly diagnostics: Diagnostics;
}

type Step = (ctx: EmitContext) => void;

/** libvirt 9.0's order. Each entry is one family builder. */
const MODERN_ORDER: readonly Step[] = [
  buildName,
  // NB: -compat (deprecation behaviour) follows -name, before -S
  buildCompat,
  (ctx) => ctx.out.flag('-S'),
  buildMasterKey,
  // NB: the managed pr-helper object follows the master key, before any -blockdev uses it
  buildManagedPrHelper,
  // NB: pflash blockdevs would come here, before -machine refers to them
  buildMachine,
  buildAccel,
  buildCpu,
  buildBios,
  buildMemory,
  buildOvercommit,
  // NB: -smp and the iothread objects, then the NUMA nodes with their RAM backends
  buildSmp,
  buildNuma,
  buildUuid,
  // NB: the SMBIOS tables and fw_cfg entries follow -uuid, then the generation ID device
  buildSysinfo,
  buildGenid,
  // NB: -display none (no graphics) comes before -no-user-config, as libvirt prints it
  buildDisplay,
  buildNoDefaults,
  buildMonitor,
  buildRtc,
  buildLifecycle,
  buildAcpi,
  buildBoot,
  buildKernel,
  // NB: the IOMMU comes before every controller and device it translates for
  buildIommu,
  buildGlobalControllers,
  buildControllers,
  // NB: memory modules follow the controllers (virtio-pmem/virtio-mem sit on their buses), before USB hubs
  buildMemoryDevices,
  buildUsbHubs,
  // NB: the usb-ccid controllers come after the hubs they may plug into
  buildCcidControllers,
  // NB: disks, then shared filesystems, then NICs; one boot order map spans disks and NICs, so
  // it is worked out once for the group
  (ctx) => {
    const boot = bootIndexes(ctx.dom);
    buildDisks(ctx, boot);
    buildFilesystems(ctx);
    buildNetworks(ctx, boot);
  },
  // NB: smartcards follow the NICs, before the serial ports
  buildSmartcards,
  buildSerials,
  buildParallels,
  buildChannels,
  buildConsoles,
  // NB: TPMs follow the consoles, before the input devices
  buildTpms,
  buildInputs,
  buildAudiodevs,
  buildGraphics,
  buildVideos,
  buildSounds,
  // NB: the watchdog follows the sound cards (then come redirdevs and hostdevs), before the balloon
  buildWatchdogs,
  // NB: redirected USB devices, then host devices, come after the watchdog
  buildRedirdevs,
  buildHostdevs,
  buildMemballoon,
  // NB: random number generators right after the balloon
  buildRngs,
  // NB: the vmcoreinfo device follows the RNGs (qemuBuildVMCoreInfoCommandLine), before <qemu:commandline>
  buildVmcoreinfo,
  // NB: libvirt 9.0 puts <qemu:commandline> arguments before -sandbox and -msg
  buildQemuCommandlineArgs,
  buildSandbox,
  // NB: panic devices come after -sandbox, late in libvirt's order
  buildPanics,
  // NB: shared memory devices follow the panic devices, before vsock
  buildShmems,
  // NB: the vsock device is the last device libvirt adds (after panic and shmem), before -msg
  buildVsock,
  buildMsg,
  // NB: not an option of its own: <qemu:override> edits the -device options built above
  applyQemuOverrides,
];

/** libvirt 0.7's order, for QEMU 0.x: no -device, no -chardev, defaults switched off one by one. */
const LEGACY_ORDER: readonly Step[] = [
  (ctx) => ctx.out.flag('-S'),
  buildMachine,
  buildAccel,
  buildCpu,
  buildMemory,
  // NB: only to report <locked/>, which needs QEMU 1.6's -realtime
  buildOvercommit,
  buildSmp,
  buildNuma,
  buildName,
  buildUuid,
  buildSysinfo,
  buildGenid,
  // NB: -nographic must come before -serial/-parallel/-monitor, or QEMU puts the monitor on stdio
  buildDisplay,
  buildMonitor,
  buildRtc,
  buildAcpi,
  buildLifecycle,
  buildBoot,
  buildKernel,
  buildBios,
  (ctx) => buildDisks(ctx, new Map()),
  (ctx) => buildNetworks(ctx, new Map()),
  buildSerials,
  buildParallels,
  // NB: only to report channels and virtio consoles, which need -chardev/-device
  buildChannels,
  buildConsoles,
  buildGlobalControllers,
  buildControllers,
  buildInputs,
  buildGraphics,
  buildVideos,
  buildSounds,
  buildWatchdogs,
  // NB: QEMU 0.x libvirt passed host devices after the sound cards (-usbdevice host:, -pcidevice)
  buildHostdevs,
  // NB: only to report USB hubs, smartcards and redirected USB devices, which need -device
  buildUsbHubs,
  buildSmartcards,
  buildRedirdevs,
  buildMemballoon,
  // NB: only to report them: the IOMMU and pvpanic need -device
  buildIommu,
  buildPanics,
  // NB: to refuse it: QEMU 0.12 has no ivshmem
  buildShmems,
  // NB: only to report them: shared filesystems, TPMs, RNGs and vsock need -device
  buildFilesystems,
  buildTpms,
  buildRngs,
  buildVmcoreinfo,
  buildVsock,
  // NB: only to report them: memory modules need -device (and QEMU 2.1's memory hotplug)
  buildMemoryDevices,
  buildQemuCommandlineArgs,
  // NB: only to report them: -compat and the -device options an override would change are newer
  buildCompat,
  applyQemuOverrides,
];

export function domainToArgv(domain: Domain, opts: EmitOptions = {}): EmitResult {
  const caps = capsFor(opts.qemuVersion ?? DEFAULT_QEMU_VERSION, opts.arch ?? domain.os.arch ?? 'x86_64');
  const conf = opts.config ?? DEFAULT_CONF;
  // NB: firmware autoselection happens as libvirt starts the guest, after define-time defaults
  const dom = resolveFirmware(applyDefaults(domain, { arch: opts.arch, virtioTransitional: has(caps, 'virtio-transitional') }), {
    caps,
    firmware: opts.firmware ?? DEBIAN_OVMF,
    nvramDir: conf.nvramDir,
  });
  const diag = new Diagnostics();
  for (const e of dom.extra) diag.warn('XmlUnsupportedElement', { element: e.name, detail: '' }, e.span);
  for (const e of dom.devices.extra) diag.warn('XmlUnsupportedElement', { element: e.name, detail: '' }, e.span);
  const ctx: EmitContext = {
    dom,
    caps,
    conf,
    paths: defaultPaths(dom.name, opts.stateDir),
    runnable: opts.runnable ?? false,
    host: opts.host ?? NO_HOST_FACTS,
    ...(opts.hostEnv ? { hostEnv: opts.hostEnv } : {}),
    ...(opts.secretsDir !== undefined ? { secrets: secretStoreFromDir(opts.secretsDir) } : {}),
    ...(opts.masterKey ? { masterKey: opts.masterKey } : {}),
    diag,
    out: new ArgvBuilder(caps.version),
  };
  const order = has(caps, 'device') ? MODERN_ORDER : LEGACY_ORDER;
  for (const step of order) step(ctx);
  const owners = new Map<string, Set<object>>();
  for (const t of ctx.out.tooNew) {
    if (!owners.has(t.prop)) owners.set(t.prop, new Set());
    const owner = propertyOwner(dom, t.prop, t.value, owners.get(t.prop)!);
    diag.warn('UnsupportedForTarget', { what: `${t.prop}= of ${t.option} ${t.id}`, target: `QEMU ${formatVersion(caps.version)} (it came in ${t.since})` }, owner?.$span);
  }
  const env = [...processEnv(ctx, opts.envPath), ...audioEnv(ctx), ...graphicsEnv(ctx), ...qemuCommandlineEnv(ctx)];
  return { argv: { env, emulator: dom.devices.emulator ?? '/usr/bin/qemu-system-x86_64', options: ctx.out.options }, diagnostics: diag };
}

/**
 * The device element a -device property the target refuses came from, to point the warning at it:
 * an ACPI index is unique in a domain; a virtio transport option goes to the next device that asks
 * for it (`taken` holds those already named for this property).
 */
function propertyOwner(dom: Domain, prop: string, value: PropValue, taken: Set<object>): { readonly $span?: Span } | undefined {
  type Dev = { readonly $span?: Span; readonly acpiIndex?: number; readonly driver?: { readonly packed?: boolean; readonly pagePerVq?: boolean } };
  const all = Object.values(dom.devices).flatMap((v): Dev[] => (Array.isArray(v) ? (v as Dev[]) : v && typeof v === 'object' ? [v as Dev] : []));
  const asks = (d: Dev) =>
    prop === 'acpi-index' ? d.acpiIndex === value : prop === 'packed' ? d.driver?.packed === true : prop === 'page-per-vq' ? d.driver?.pagePerVq === true : false;
  const owner = all.find((d) => asks(d) && !taken.has(d));
  if (owner) taken.add(owner);
  return owner;
}
