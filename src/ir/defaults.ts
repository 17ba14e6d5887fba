// What libvirt fills in when it defines a domain (its post-parse callbacks): default arch and
// machine, implicit controllers (pci-root, ide, usb), the default balloon, ps2 inputs, drive
// addresses from target names, and PCI addresses for devices without one. Both to-native and
// from-native (unless --minimal) see the domain after this pass.
import { driveController } from '../families/address.js';
import { chardevDefaults } from '../families/chardev.js';
import { diskIndex, driveAddressFor } from '../families/disk.js';
import { withVideoDefaults } from '../families/video.js';
import { interfacesWithDefaults } from '../families/net.js';
import { cellsWithDistances, memoriesWithSlots, numaPlacementDefaults } from '../families/memory.js';
import { hostdevScsiControllers, withHostdevDefaults } from '../families/hostdev.js';
import { smartcardsWithDefaults } from '../families/smartcard.js';
import { shmemDefaults } from '../families/shmem.js';
import { ARM_VIRT_DEFAULT_MODEL } from '../families/cpu.js';
import { featureElement } from '../families/features.js';
import { el } from '../xml/tree.js';
import type { Controller, Cpu, Disk, Domain, Feature } from './domain.js';
import { assignPciAddresses, defaultUsbModel, insertController } from './pci-addresses.js';
import { withFields } from './records.js';

export interface DefaultsOptions {
  /** The arch the emulator implies when the XML names none. */
  readonly arch?: string;
  /** QEMU has virtio-*-pci-(non-)transitional (4.0+): virtio devices count as PCIe on q35. */
  readonly virtioTransitional?: boolean;
  /** Keep i440fx slot 2 for a video card even without one (libvirt <= 5.x, from-native). */
  readonly reserveVideoSlot?: boolean;
}

export const isX86 = (arch: string | undefined): boolean => arch === 'x86_64' || arch === 'i686';
export const isQ35 = (machine: string | undefined): boolean => !!machine && /^(q35|pc-q35)/.test(machine);
export const isI440fx = (machine: string | undefined): boolean => !!machine && /^(pc|pc-i440fx-.*|pc-\d.*)$/.test(machine);
/** Arm's virt machine (virt, virt-7.2, …) on an aarch64/armv7l guest. */
export const isArmVirt = (arch: string | undefined, machine: string | undefined): boolean => !!arch && (arch === 'aarch64' || arch.startsWith('arm')) && !!machine && /^virt(-|$)/.test(machine);

export function applyDefaults(dom: Domain, opts: DefaultsOptions = {}): Domain {
  const arch = dom.os.arch ?? opts.arch ?? 'x86_64';
  const machine = dom.os.machine ?? (isX86(arch) ? 'pc' : undefined);
  const x86 = isX86(arch);
  const q35 = isQ35(machine);
  const pc = isI440fx(machine);
  const armVirt = isArmVirt(arch, machine);
  const arm = arch === 'aarch64' || arch.startsWith('arm');
  // NB: libvirt keeps controllers grouped by type, in index order, types in order of appearance
  const controllers: Controller[] = [];
  for (const c of dom.devices.controllers) {
    // NB: a USB controller on Arm's virt machine defaults to qemu-xhci (QEMU 2.12+; libvirt
    // writes the model out, unlike x86's machine defaults)
    const model = armVirt && c.type === 'usb' && c.model === undefined ? withFields(c, { model: 'qemu-xhci' }) : c;
    insertController(controllers, withControllerModel(model, q35 || armVirt));
  }
  const addController = (c: Controller) => {
    if (!controllers.some((x) => x.type === c.type && x.index === c.index)) insertController(controllers, c);
  };

  // NB: libvirt keeps disks sorted by target name within each bus (virDomainDiskInsert)
  const disks: Disk[] = [];
  for (const d of dom.devices.disks) insertDisk(disks, d.address || !driveAddressFor(d) ? d : withFields(d, { address: driveAddressFor(d) }));

  // NB: implicit controllers come in libvirt's order: the driver's defaults first (USB, q35's
  // SATA, the PCI root; qemuDomainDefAddDefaultDevices), then controllers for the drive buses in
  // use (SCSI, FDC, IDE, SATA) and virtio-serial for virtio channels/consoles.
  if (x86 && (pc || q35)) addController({ type: 'usb', index: 0, ...(q35 ? { model: defaultUsbModel(true) } : {}), extra: [] });
  if (q35) addController({ type: 'sata', index: 0, extra: [] });
  if (x86) addController({ type: 'pci', index: 0, model: q35 ? 'pcie-root' : 'pci-root', extra: [] });
  // Arm's virt machine is PCIe-only (its GPEX host bridge), and has no USB controller by default
  if (armVirt) addController({ type: 'pci', index: 0, model: 'pcie-root', extra: [] });
  for (const bus of ['scsi', 'fdc', 'ide', 'sata'] as const) {
    // controllers 0..the highest a disk uses (insertController keeps them in index order): one
    // pass, where adding 0..N per disk made many disks on many controllers cubic
    let top = -1;
    for (const d of disks) {
      const a = d.address;
      if (a?.type !== 'drive' || d.target.bus !== bus) continue;
      top = Math.max(top, driveController(a.controller, `${bus} controller`, d.$span));
    }
    for (let i = 0; i <= top; i++) addController({ type: bus, index: i, extra: [] });
  }
  for (const c of [...dom.devices.channels, ...dom.devices.consoles]) {
    if (c.targetType !== 'virtio') continue;
    const a = c.address;
    // NB: libvirt adds just the controller a port names (0 when unaddressed), not the ones below it
    addController({ type: 'virtio-serial', index: a?.type === 'virtio-serial' ? a.controller : 0, extra: [] });
  }
  // NB: then the ccid controllers smartcards sit on, and the SCSI controllers of SCSI hostdevs
  const cards = smartcardsWithDefaults(dom);
  for (const i of cards.controllers) addController({ type: 'ccid', index: i, extra: [] });
  const hostdevs = withHostdevDefaults(dom.devices.hostdevs, disks);
  for (const i of hostdevScsiControllers(hostdevs)) addController({ type: 'scsi', index: i, extra: [] });

  const inputs = [...dom.devices.inputs];
  if (x86 && !inputs.some((i) => i.type === 'mouse' && i.bus === 'ps2')) inputs.push({ type: 'mouse', bus: 'ps2', extra: [] });
  if (x86 && !inputs.some((i) => i.type === 'keyboard' && i.bus === 'ps2')) inputs.push({ type: 'keyboard', bus: 'ps2', extra: [] });

  // NB: libvirt gives Arm guests no default balloon (qemuDomainDefAddDefaultDevices)
  const memballoon = dom.devices.memballoon ?? (arm ? undefined : { model: 'virtio' as const, extra: [] });
  // NB: an s390-ccw machine always has its built-in panic device: libvirt lists it
  // (qemuDomainDefAddDefaultDevices), though it puts nothing on the command line
  const s390Panic = arch.startsWith('s390') && (machine ?? '').startsWith('s390-ccw') && !dom.devices.panics.some((p) => p.model === undefined || p.model === 's390');
  const panics = s390Panic ? [...dom.devices.panics, { model: 's390' as const, extra: [] }] : dom.devices.panics;
  const armFill = armVirt ? armVirtDefaults(dom) : undefined;
  // (withFields: see src/ir/records.ts for why not `{ ...dom, … }`)
  const withDefaults: Domain = withFields(dom, {
    os: withFields(dom.os, { arch, ...(machine ? { machine } : {}) }),
    // NB: automatic placement spreads between <vcpu> and <numatune>; libvirt completes NUMA
    // distances as it reads them (both ways, local ones)
    ...numaPlacementDefaults(dom),
    ...(dom.cpu?.numa ? { cpu: withFields(dom.cpu, { numa: cellsWithDistances(dom.cpu.numa) }) } : {}),
    features: armFill?.features ?? dom.features,
    ...(armFill?.cpu ? { cpu: armFill.cpu } : {}),
    devices: withFields(dom.devices, { disks, controllers, interfaces: interfacesWithDefaults(dom, arch, machine), ...chardevDefaults(dom.devices, x86, armVirt), inputs, videos: withVideoDefaults(dom.devices.videos, dom.devices.graphics.length > 0, x86), ...(memballoon ? { memballoon } : {}), memories: memoriesWithSlots(dom), smartcards: cards.smartcards, hostdevs, panics, shmems: dom.devices.shmems.map(shmemDefaults) }),
  });
  if (!(x86 && (pc || q35)) && !armVirt) return withDefaults;
  return assignPciAddresses(withDefaults, { pc: x86 && pc, q35: x86 && q35 }, { virtioTransitional: opts.virtioTransitional ?? true, reserveVideoSlot: opts.reserveVideoSlot ?? false });
}

/**
 * What libvirt fills in for Arm's virt machine (qemuDomainDefEnableDefaultFeatures,
 * qemuDomainDefSetDefaultCPU): the machine always has a GIC, and a TCG guest without a CPU model
 * gets the machine's default one.
 */
function armVirtDefaults(dom: Domain): { features: readonly Feature[]; cpu?: Cpu } {
  const gic = featureElement(dom.features, 'gic');
  // NB: libvirt asks QEMU which GIC versions work; emulated GICv3 lacks an MSI controller, so a
  // TCG guest gets GICv2, and a KVM guest's host (which this converter cannot ask) is taken to
  // offer nothing better than the same default
  const features: Feature[] = gic?.attrs.version
    ? [...dom.features]
    : [...dom.features.filter((f) => !(f.kind === 'other' && f.element.name === 'gic')), { kind: 'other', element: el('gic', { version: '2' }) }];
  const cpu = dom.cpu?.numa ? withFields(dom.cpu, { numa: cellsWithDistances(dom.cpu.numa) }) : dom.cpu;
  // QEMU 7.2's virt machine types default to a Cortex-A15 (what query-machines reports); libvirt
  // uses QEMU's default for TCG only on Arm
  if (dom.type !== 'qemu' || (cpu && (cpu.model !== undefined || (cpu.mode ?? 'custom') !== 'custom'))) return { features };
  const base: Cpu = cpu ?? { features: [], extra: [] };
  const defaults: Pick<Cpu, 'mode' | 'match' | 'check' | 'model' | 'fallback'> = { mode: 'custom', match: 'exact', check: base.check ?? 'none', model: ARM_VIRT_DEFAULT_MODEL, fallback: 'forbid' };
  return { features, cpu: withFields(base, defaults) };
}

/** A pci controller without a model gets the one its index implies on this machine. */
function withControllerModel(c: Controller, pcie: boolean): Controller {
  if (c.type !== 'pci' || c.model !== undefined) return c;
  const model = c.index === 0 ? (pcie ? 'pcie-root' : 'pci-root') : pcie ? 'pcie-root-port' : 'pci-bridge';
  return withFields(c, { model });
}

function insertDisk(list: Disk[], d: Disk): void {
  const idx = diskIndex(d.target.dev);
  // NB: each bus's disks are kept sorted, so a disk sorting after the bus's last one goes right
  // after it: the common case (targets in order) costs one look instead of a scan of the list
  for (let i = list.length - 1; i >= 0; i--) {
    const cur = list[i]!;
    if (cur.target.bus !== d.target.bus) continue;
    if (diskIndex(cur.target.dev) <= idx) {
      list.splice(i + 1, 0, d);
      return;
    }
    break;
  }
  let at = -1;
  for (let i = list.length - 1; i >= 0; i--) {
    const cur = list[i]!;
    if (cur.target.bus !== d.target.bus) continue;
    if (diskIndex(cur.target.dev) > idx) at = i;
    else if (at === -1) at = i + 1;
  }
  if (at === -1) list.push(d);
  else list.splice(at, 0, d);
}

