// IR -> argv: the orchestrator. Calls one builder per family in libvirt's fixed order
// (qemuBuildCommandLine in libvirt 9.0 for current QEMU; libvirt 0.7's order for QEMU 0.x).
import { Diagnostics } from '../errors.js';
import { bootIndexes } from '../families/boot-order.js';
import { buildChannels, buildConsoles, buildMonitor, buildParallels, buildSerials } from '../families/chardev.js';
import { buildRtc } from '../families/clock.js';
import { buildControllers } from '../families/controller.js';
import { buildCpu } from '../families/cpu.js';
import { buildDisks } from '../families/disk.js';
import { buildAcpi } from '../families/features.js';
import { buildMemory, buildName, buildSmp, buildUuid } from '../families/general.js';
import { buildDisplay, buildGraphics, graphicsEnv } from '../families/graphics.js';
import { buildInputs, buildUsbHubs } from '../families/input.js';
import { buildLifecycle } from '../families/lifecycle.js';
import { buildMemballoon } from '../families/memballoon.js';
import { buildNetworks } from '../families/net.js';
import { buildAccel, buildBios, buildBoot, buildKernel, buildMachine } from '../families/os.js';
import { buildMasterKey, buildMsg, buildNoDefaults, buildOvercommit, buildSandbox, processEnv } from '../families/process.js';
import { buildQemuCommandlineArgs, qemuCommandlineEnv } from '../families/qemu-commandline.js';
import { audioEnv, buildAudiodevs, buildSounds } from '../families/sound.js';
import { buildVideos } from '../families/video.js';
import { applyDefaults } from '../ir/defaults.js';
import type { Domain } from '../ir/domain.js';
import { capsFor, DEFAULT_QEMU_VERSION, has } from '../qemu/caps.js';
import { DEFAULT_CONF, type QemuConf } from '../qemu/config.js';
import type { QemuVersion } from '../qemu/version.js';
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
}

export interface EmitResult {
  readonly argv: Argv;
  readonly diagnostics: Diagnostics;
}

type Step = (ctx: EmitContext) => void;

/** libvirt 9.0's order. Each entry is one family builder. */
const MODERN_ORDER: readonly Step[] = [
  buildName,
  (ctx) => ctx.out.flag('-S'),
  buildMasterKey,
  // NB: pflash blockdevs would come here, before -machine refers to them
  buildMachine,
  buildAccel,
  buildCpu,
  buildBios,
  buildMemory,
  buildOvercommit,
  buildSmp,
  buildUuid,
  // NB: -display none (no graphics) comes before -no-user-config, as libvirt prints it
  buildDisplay,
  buildNoDefaults,
  buildMonitor,
  buildRtc,
  buildLifecycle,
  buildAcpi,
  buildBoot,
  buildKernel,
  buildControllers,
  buildUsbHubs,
  // NB: disks, then NICs; one boot order map spans both, so it is worked out once for the pair
  (ctx) => {
    const boot = bootIndexes(ctx.dom);
    buildDisks(ctx, boot);
    buildNetworks(ctx, boot);
  },
  buildSerials,
  buildParallels,
  buildChannels,
  buildConsoles,
  buildInputs,
  buildAudiodevs,
  buildGraphics,
  buildVideos,
  buildSounds,
  buildMemballoon,
  // NB: libvirt 9.0 puts <qemu:commandline> arguments before -sandbox and -msg
  buildQemuCommandlineArgs,
  buildSandbox,
  buildMsg,
];

/** libvirt 0.7's order, for QEMU 0.x: no -device, no -chardev, defaults switched off one by one. */
const LEGACY_ORDER: readonly Step[] = [
  (ctx) => ctx.out.flag('-S'),
  buildMachine,
  buildAccel,
  buildCpu,
  buildMemory,
  buildSmp,
  buildName,
  buildUuid,
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
  buildControllers,
  buildInputs,
  buildGraphics,
  buildVideos,
  buildSounds,
  buildMemballoon,
  buildQemuCommandlineArgs,
];

export function domainToArgv(domain: Domain, opts: EmitOptions = {}): EmitResult {
  const caps = capsFor(opts.qemuVersion ?? DEFAULT_QEMU_VERSION, opts.arch ?? domain.os.arch ?? 'x86_64');
  const dom = applyDefaults(domain, { arch: opts.arch, virtioTransitional: has(caps, 'virtio-transitional') });
  const diag = new Diagnostics();
  for (const e of dom.extra) diag.warn('XmlUnsupportedElement', { element: e.name, detail: '' }, e.span);
  for (const e of dom.devices.extra) diag.warn('XmlUnsupportedElement', { element: e.name, detail: '' }, e.span);
  const ctx: EmitContext = {
    dom,
    caps,
    conf: opts.config ?? DEFAULT_CONF,
    paths: defaultPaths(dom.name, opts.stateDir),
    runnable: opts.runnable ?? false,
    ...(opts.hostEnv ? { hostEnv: opts.hostEnv } : {}),
    diag,
    out: new ArgvBuilder(caps.version),
  };
  const order = has(caps, 'device') ? MODERN_ORDER : LEGACY_ORDER;
  for (const step of order) step(ctx);
  const env = [...processEnv(ctx, opts.envPath), ...audioEnv(ctx), ...graphicsEnv(ctx), ...qemuCommandlineEnv(ctx)];
  return { argv: { env, emulator: dom.devices.emulator ?? '/usr/bin/qemu-system-x86_64', options: ctx.out.options }, diagnostics: diag };
}
