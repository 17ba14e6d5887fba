// Capability profiles as data: what a QEMU version supports and therefore what libvirt prints
// for it. Emitters ask `has(caps, 'blockdev')`; they never compare versions themselves.
//
// The boundaries follow the libvirt release that drove each QEMU era. Where libvirt's own
// documentation example is the only witness (QEMU 0.12: `-no-kqemu`, `-monitor pty`, `-drive
// if=ide`, no `-uuid`, memory rounded down), the flag says so.
import { compareVersions, formatVersion, inRange, parseVersion, type QemuVersion } from './version.js';

interface CapSpec {
  readonly since?: string;
  readonly until?: string;
  readonly doc: string;
}

export const CAPABILITIES = {
  kqemu: { until: '0.13', doc: 'TCG guests get -no-kqemu (kqemu accelerator present but unused)' },
  uuid: { since: '0.13', doc: '-uuid (libvirt\'s QEMU 0.12 example has none)' },
  vmgenid: { since: '2.12', doc: '-device vmgenid (<genid>)' },
  'memory.round-up': { since: '0.13', doc: 'guest RAM rounded up to whole MiB (older libvirt rounded down)' },
  device: { since: '0.13', doc: '-device for disks, NICs, controllers, inputs, balloon; else -drive if=, -net nic, -usb' },
  chardev: { since: '0.13', doc: 'monitor and character devices through -chardev/-mon; else -monitor pty, -serial X' },
  nodefaults: { since: '0.13', doc: '-nodefaults: no implicit devices, so -net none/-serial none are not needed' },
  'no-user-config': { since: '1.2', doc: '-no-user-config' },
  'no-shutdown': { since: '0.13', doc: '-no-shutdown so libvirt sees guest power-off' },
  rtc: { since: '0.13', doc: '-rtc base=… (else -localtime)' },
  'machine-opt': { since: '1.0', doc: '-machine TYPE,props (else -M TYPE)' },
  'machine.dump-guest-core': { since: '1.2', doc: '-machine dump-guest-core=off' },
  'machine.usb-off': { since: '1.3', doc: '-machine usb=off' },
  'display-none': { since: '1.5', doc: '-display none (else -nographic)' },
  'boot.strict': { since: '1.5', doc: 'per-device bootindex and -boot strict=on (else -boot c/d/a/n)' },
  'smp.topology': { since: '0.13', doc: '-smp N,sockets=,cores=,threads=' },
  'name.guest': { since: '2.5', doc: '-name guest=NAME,debug-threads=on' },
  'msg.timestamp': { since: '2.6', doc: '-msg timestamp=on' },
  sandbox: { since: '2.11', doc: '-sandbox on,obsolete=deny,elevateprivileges=deny,…' },
  overcommit: { since: '3.1', doc: '-overcommit mem-lock=off' },
  'realtime-mlock': { since: '1.6', doc: '-realtime mlock=on|off (<memoryBacking><locked/>) before -overcommit' },
  audiodev: { since: '4.0', doc: '-audiodev (else QEMU_AUDIO_DRV in the environment)' },
  'machine.virt-iommu': { since: '3.0', doc: "-machine virt,iommu=smmuv3 (<iommu model='smmuv3'>)" },
  'drive.gluster-debug': { since: '2.8', doc: 'gluster drives take file.debug= (qemu.conf gluster_debug_level)' },
  'drive.gluster-servers': { since: '2.8', doc: 'a gluster drive names several servers (file.server.N.*); before, one URI' },
  blockdev: { since: '4.2', doc: '-blockdev node graphs (else -drive if=none)' },
  'rbd-encryption': { since: '6.1', doc: 'the rbd driver decrypts LUKS images itself (encrypt= on the storage node, <encryption engine=\'librbd\'>)' },
  'drive.copy-on-read': { since: '1.1', doc: '-drive copy-on-read=on (<driver copy_on_read>)' },
  'drive.discard': { since: '1.5', doc: '-drive discard=unmap|ignore (<driver discard>)' },
  'drive.detect-zeroes': { since: '2.1', doc: '-drive detect-zeroes=on|off|unmap (<driver detect_zeroes>)' },
  'aio.io_uring': { since: '5.0', doc: "the file drivers' aio=io_uring (<driver io='io_uring'>)" },
  accel: { since: '4.2', doc: '-accel tcg|kvm (else -machine accel=)' },
  'accel.dirty-ring': { since: '6.1', doc: '-accel kvm,dirty-ring-size= (<kvm><dirty-ring>)' },
  'device.vmcoreinfo': { since: '2.11', doc: '-device vmcoreinfo (<features><vmcoreinfo state=\'on\'/>)' },
  'cpu.migratable': { since: '2.12', doc: '-cpu host|max,migratable=on|off (<cpu migratable>)' },
  'cpu.cache': { since: '3.0', doc: '-cpu …,l3-cache=off / host-cache-info=off to turn the other cache mode off' },
  'cpu.default-model': { since: '4.2', doc: 'the default -cpu model is printed explicitly' },
  'master-key': { since: '2.6', doc: 'the master-key secret object' },
  'memory-backend': { since: '5.0', doc: '-machine memory-backend=pc.ram with a memory-backend object' },
  'numa.memdev': { since: '2.1', doc: '-numa node,memdev= with memory-backend objects (else only mem=)' },
  'numa.dist': { since: '2.10', doc: '-numa dist,src=,dst=,val= (<cell><distances>)' },
  'memory.hotplug': { since: '2.1', doc: '-m size=,slots=,maxmem= and pc-dimm modules (<maxMemory>, <memory model=\'dimm\'>)' },
  nvdimm: { since: '2.6', doc: "-device nvdimm and -machine nvdimm=on (<memory model='nvdimm'>)" },
  'virtio-pmem': { since: '4.1', doc: "-device virtio-pmem-pci (<memory model='virtio-pmem'>)" },
  ivshmem: { since: '0.13', until: '4.0', doc: "the legacy -device ivshmem,shm=|chardev= (<shmem> without a model, or model 'ivshmem')" },
  'ivshmem-plain': { since: '2.6', doc: "-device ivshmem-plain / ivshmem-doorbell (<shmem><model type='ivshmem-plain|ivshmem-doorbell'/>)" },
  'virtio-mem': { since: '5.1', doc: "-device virtio-mem-pci (<memory model='virtio-mem'>)" },
  'pm.disable-s3': { since: '1.2', doc: '-global PIIX4_PM.disable_s3/disable_s4 (<pm>)' },
  'numa.hmat': { since: '5.0', doc: '-machine hmat=on, -numa node,initiator= and -numa hmat-lb/hmat-cache (ACPI HMAT)' },
  'numa.mem-any-machine': { until: '5.1', doc: 'every machine type takes -numa node,mem= (5.1+: machine types up to 5.0 only)' },
  'memory-backend.reserve': { since: '6.1', doc: 'memory backends take reserve=false (virtio-mem backends get it)' },
  'thread-context': { since: '7.2', doc: 'thread-context objects to preallocate NUMA-bound RAM from (prealloc-context=)' },
  'piix.acpi-root-pci-hotplug': { since: '5.2', doc: '-global PIIX4_PM.acpi-root-pci-hotplug= for the pci-root <target hotplug>' },
  'compat-deprecated': { since: '6.0', doc: '-compat deprecated-input=…,deprecated-output=… for <qemu:deprecation>' },
  'set-action': { since: '6.0', doc: 'on_reboot/on_crash are set over QMP: the command line always has -no-shutdown' },
  // NB: QEMU has the property since 5.2, but libvirt finds it through query-command-line-options,
  // which lists it only from the 8.0 development tree (7.2.50, libvirt 9.0's own test data): libvirt
  // 9.0 with the QEMU 7.2 release prints -no-hpet (its virsh does), with 7.2.50 hpet=off
  'machine.hpet': { since: '7.2.50', doc: '-machine hpet=off (else -no-hpet)' },
  'smp.dies': { since: '4.1', doc: '-smp …,dies=N (printed whenever the XML gives a topology)' },
  'virtio-transitional': { since: '4.0', doc: 'virtio-*-pci-(non-)transitional devices: libvirt then puts virtio devices in PCIe slots on q35' },
  'device.json': { since: '6.2', doc: '-device, -audiodev as JSON' },
  'netdev.json': { since: '7.0', doc: '-netdev as JSON' },
} as const satisfies Record<string, CapSpec>;

export type Capability = keyof typeof CAPABILITIES;

export interface Caps {
  readonly version: QemuVersion;
  readonly arch: string;
  readonly flags: ReadonlySet<Capability>;
}

export const DEFAULT_QEMU_VERSION = '7.2';

// one Caps per version and arch: a batch converts many domains for the same QEMU
const capsCache = new Map<string, Caps>();

export function capsFor(version: QemuVersion | string, arch = 'x86_64'): Caps {
  const v = typeof version === 'string' ? parseVersion(version) : version;
  const key = `${v.join('.')}/${arch}`;
  let caps = capsCache.get(key);
  if (!caps) capsCache.set(key, (caps = computeCaps(v, arch)));
  return caps;
}

function computeCaps(v: QemuVersion, arch: string): Caps {
  const flags = new Set<Capability>();
  for (const [name, spec] of Object.entries(CAPABILITIES) as Array<[Capability, CapSpec]>) {
    if (inRange(v, spec.since, spec.until)) flags.add(name);
  }
  return { version: v, arch, flags };
}

export function has(caps: Caps, cap: Capability): boolean {
  return caps.flags.has(cap);
}

/**
 * Machine type aliases per QEMU version: `pc` is the newest pc-i440fx-X.Y of that version, and
 * Arm's `virt` the newest virt-X.Y (versioned since QEMU 2.11; libvirt stores the alias's target).
 */
export function resolveMachineAlias(machine: string, caps: Caps): string {
  const [maj, min] = caps.version;
  if (compareVersions(caps.version, parseVersion('1.0')) < 0) return machine;
  const ver = `${maj}.${min}`;
  if (machine === 'pc') return `pc-i440fx-${ver}`;
  if (machine === 'q35') return `pc-q35-${ver}`;
  const arm = caps.arch === 'aarch64' || caps.arch.startsWith('arm');
  if (machine === 'virt' && arm && compareVersions(caps.version, parseVersion('2.11')) >= 0) return `virt-${ver}`;
  return machine;
}

export function describeCaps(caps: Caps): string {
  return `QEMU ${formatVersion(caps.version)} (${caps.arch}): ${[...caps.flags].join(', ')}`;
}
