// PCI address assignment for x86 pc/q35 guests, as libvirt does it at define time
// (qemuDomainAssignPCIAddresses + domain_addr.c): buses from the pci controllers, integrated
// chipset slots, then one device class after another takes the first free compatible slot; buses
// that are missing (pcie-root-ports on q35, pci-bridges on pc) are added in a dry run first.
import { fail, type Span } from '../errors.js';
import type { XmlElement } from '../xml/tree.js';
import type { Address, Controller, Domain, PciControllerOpts } from './domain.js';
import { copyToSet, withFields } from './records.js';

type Pci = Extract<Address, { type: 'pci' }>;

// What a bus accepts / what a device needs (libvirt's VIR_PCI_CONNECT_*).
const PCI_DEVICE = 1 << 0;
const PCIE_DEVICE = 1 << 1;
const PCI_BRIDGE = 1 << 2;
const PCIE_ROOT_PORT = 1 << 3;
const PCIE_SWITCH_UP = 1 << 4;
const PCIE_SWITCH_DOWN = 1 << 5;
const DMI_TO_PCI_BRIDGE = 1 << 6;
const PCIE_TO_PCI_BRIDGE = 1 << 7;
const PCI_EXPANDER_BUS = 1 << 8;
const PCIE_EXPANDER_BUS = 1 << 9;
const TYPES_MASK = (1 << 10) - 1;
const ENDPOINT = PCI_DEVICE | PCIE_DEVICE;
const AUTOASSIGN = 1 << 10;
const HOTPLUGGABLE = 1 << 11;
const AGGREGATE_SLOT = 1 << 12;
/** built into the root complex: may be auto-placed on pcie-root itself */
const INTEGRATED = 1 << 13;

const ROOT_MODELS = new Set(['pci-root', 'pcie-root']);

interface Slot {
  fns: number;
  aggregate: boolean;
}

interface Bus {
  readonly model: string;
  flags: number;
  readonly minSlot: number;
  readonly maxSlot: number;
  readonly slots: Slot[];
}

function newBus(model: string, hotplug = true): Bus {
  const hp = hotplug ? HOTPLUGGABLE : 0;
  const mk = (flags: number, minSlot: number, maxSlot: number): Bus => ({
    model, flags, minSlot, maxSlot, slots: Array.from({ length: 32 }, () => ({ fns: 0, aggregate: false })),
  });
  switch (model) {
    case 'pci-root':
      return mk(AUTOASSIGN | PCI_DEVICE | PCI_BRIDGE | PCI_EXPANDER_BUS | hp, 1, 31);
    case 'pci-bridge':
    case 'pcie-to-pci-bridge':
      return mk(AUTOASSIGN | PCI_DEVICE | PCI_BRIDGE | hp, 1, 31);
    case 'pci-expander-bus':
      return mk(AUTOASSIGN | PCI_DEVICE | PCI_BRIDGE | hp, 0, 31);
    case 'pcie-root':
      // NB: endpoints only go on pcie-root when the config puts them there (no AUTOASSIGN)
      return mk(PCIE_DEVICE | PCIE_ROOT_PORT | DMI_TO_PCI_BRIDGE | PCIE_EXPANDER_BUS, 1, 31);
    case 'dmi-to-pci-bridge':
      return mk(PCI_DEVICE | PCI_BRIDGE, 0, 31);
    case 'pcie-root-port':
    case 'pcie-switch-downstream-port':
      return mk(AUTOASSIGN | PCIE_DEVICE | PCIE_SWITCH_UP | PCIE_TO_PCI_BRIDGE | hp, 0, 0);
    case 'pcie-switch-upstream-port':
      return mk(PCIE_SWITCH_DOWN, 0, 31);
    case 'pcie-expander-bus':
      return mk(PCIE_ROOT_PORT | DMI_TO_PCI_BRIDGE, 0, 31);
    default:
      return mk(AUTOASSIGN | PCI_DEVICE | PCI_BRIDGE | hp, 1, 31);
  }
}

/** How a pci controller model plugs in upstream (virDomainPCIControllerModelToConnectType). */
function controllerConnect(model: string | undefined): number {
  switch (model) {
    case 'pci-bridge':
      return PCI_BRIDGE;
    case 'pci-expander-bus':
      return PCI_EXPANDER_BUS;
    case 'pcie-expander-bus':
      return PCIE_EXPANDER_BUS;
    case 'dmi-to-pci-bridge':
      return DMI_TO_PCI_BRIDGE;
    case 'pcie-to-pci-bridge':
      return PCIE_TO_PCI_BRIDGE;
    case 'pcie-root-port':
      return PCIE_ROOT_PORT | AGGREGATE_SLOT;
    case 'pcie-switch-upstream-port':
      return PCIE_SWITCH_UP;
    case 'pcie-switch-downstream-port':
      return PCIE_SWITCH_DOWN;
    default:
      return 0;
  }
}

class AddressSet {
  readonly buses: Bus[];
  constructor(
    models: readonly string[],
    readonly dryRun: boolean,
  ) {
    this.buses = models.map((m) => newBus(m));
  }

  private compatible(bus: number, busFlags: number, devFlags: number, fromConfig: boolean): boolean {
    let bf = busFlags;
    let df = devFlags;
    if (df & INTEGRATED) {
      if (bus !== 0) return false;
      bf |= AUTOASSIGN;
    }
    if (fromConfig) {
      // a config may put a PCI device in a PCIe slot and vice versa, and a pci-bridge anywhere
      // a PCI device would go
      if (bf & ENDPOINT) bf |= ENDPOINT;
      if (df & PCI_BRIDGE) df |= PCI_DEVICE;
    } else if (df & AUTOASSIGN && !(bf & AUTOASSIGN)) return false;
    if (df & HOTPLUGGABLE && !(bf & HOTPLUGGABLE)) return false;
    return (df & bf & TYPES_MASK) !== 0;
  }

  /** Adds buses so that `a.bus` exists (virDomainPCIAddressSetGrow); returns the bus to use. */
  private grow(a: { bus: number }, flags: number): void {
    let add = a.bus - this.buses.length + 1;
    if (add <= 0) return;
    const added: string[] = [];
    let model: string;
    if (flags & PCI_DEVICE) {
      model = 'pci-bridge';
      // a pure PCIe topology needs a place for legacy PCI first: a pcie-root-port holding a
      // pcie-to-pci-bridge, which then is the device's bus
      if (add === 1 && !this.buses.some((b) => b.flags & PCI_BRIDGE)) {
        add++;
        a.bus++;
        const port = newBus('pcie-root-port');
        port.flags = PCIE_TO_PCI_BRIDGE;
        this.buses.push(port, newBus('pcie-to-pci-bridge'));
        return;
      }
    } else if (flags & (PCIE_DEVICE | PCIE_SWITCH_UP)) {
      model = 'pcie-root-port';
    } else {
      return fail('XmlBadValue', { what: 'PCI topology', value: 'full', expected: 'a free slot for a PCI controller (cannot add one automatically)' }, undefined);
    }
    for (let i = 0; i < add; i++) added.push(model);
    this.buses.push(...added.map((m) => newBus(m)));
  }

  /** Marks one function in use; addresses from the config are accepted as given. */
  reserve(a: Pci, flags: number, fromConfig: boolean): void {
    if (this.dryRun) this.grow(a, flags);
    const bus = this.buses[a.bus];
    if (!bus || a.slot > 31) return;
    const slot = bus.slots[a.slot]!;
    if (!slot.fns && flags & AGGREGATE_SLOT) slot.aggregate = true;
    slot.fns |= 1 << a.function;
    void fromConfig;
  }

  slotInUse(bus: number, slot: number): boolean {
    return (this.buses[bus]?.slots[slot]?.fns ?? 0) !== 0;
  }

  fullyReserved(): boolean {
    return this.buses.every((b) => b.slots.slice(b.minSlot, b.maxSlot + 1).every((s) => s.fns !== 0));
  }

  /** The first completely free compatible slot (or free function of an aggregating slot). */
  next(flags: number, fn = -1): Pci {
    const a = { bus: 0, slot: 0, function: fn === -1 ? 0 : fn };
    for (a.bus = 0; a.bus < this.buses.length; a.bus++) {
      const bus = this.buses[a.bus]!;
      if (!this.compatible(a.bus, bus.flags, flags, false)) continue;
      for (a.slot = bus.minSlot; a.slot <= bus.maxSlot; a.slot++) {
        const s = bus.slots[a.slot]!;
        if (s.fns === 0) return this.take(a, flags);
        if (flags & AGGREGATE_SLOT && s.aggregate) {
          if (!(s.fns & (1 << a.function))) return this.take(a, flags);
          if (fn === -1) {
            for (a.function = 0; a.function < 8; a.function++) if (!(s.fns & (1 << a.function))) return this.take(a, flags);
            a.function = 0;
          }
        }
      }
    }
    if (!this.dryRun) return fail('XmlBadValue', { what: 'PCI addresses', value: 'full', expected: 'a free PCI slot' }, undefined);
    // NB: a dry run grows the topology; the device takes the first slot of the new bus
    a.bus = this.buses.length;
    this.grow(a, flags);
    a.slot = this.buses[a.bus]!.minSlot;
    return this.take(a, flags);
  }

  private take(a: { bus: number; slot: number; function: number }, flags: number): Pci {
    const addr: Pci = { type: 'pci', domain: 0, bus: a.bus, slot: a.slot, function: a.function };
    this.reserve(addr, flags, false);
    return addr;
  }
}

/** A device that may take a PCI slot: its current address and how to store a new one. */
interface Slotted {
  address?: Address;
}

export interface PciAssignOptions {
  /** Whether QEMU knows virtio-*-pci-(non-)transitional (QEMU 4.0+): virtio devices are then PCIe on q35. */
  readonly virtioTransitional: boolean;
  /** libvirt <= 5.x kept i440fx slot 2 free for a primary video card even when there was none. */
  readonly reserveVideoSlot?: boolean;
}

const isPci = (a: Address | undefined): a is Pci => a?.type === 'pci';
const wanted = (d: Slotted) => d.address === undefined;

/** Unmodelled device elements that still take a PCI slot in libvirt (so later devices shift). */
function extraConnect(e: XmlElement, pci: number): number {
  switch (e.name) {
    case 'crypto':
      return pci;
    default:
      return 0;
  }
}

function extraAddress(e: XmlElement): Pci | undefined {
  const a = e.children.find((c) => c.name === 'address');
  if (a?.attrs.type !== 'pci') return undefined;
  const n = (k: string) => (a.attrs[k] !== undefined ? Number(a.attrs[k]) : 0);
  return { type: 'pci', domain: n('domain'), bus: n('bus'), slot: n('slot'), function: n('function') };
}

const USB2 = new Set(['ich9-ehci1', 'ich9-uhci1', 'ich9-uhci2', 'ich9-uhci3']);
const USB2_FUNCTION: Record<string, number> = { 'ich9-ehci1': 7, 'ich9-uhci1': 0, 'ich9-uhci2': 1, 'ich9-uhci3': 2 };

/** libvirt's default model for a USB controller without one. */
export function defaultUsbModel(q35: boolean): string {
  return q35 ? 'qemu-xhci' : 'piix3-uhci';
}

/** libvirt's default SCSI controller model for x86 (QEMU has the lsi device). */
export const DEFAULT_SCSI_MODEL = 'lsilogic';

export function assignPciAddresses(dom: Domain, machine: { pc: boolean; q35: boolean }, opts: PciAssignOptions): Domain {
  const dev = dom.devices;
  const controllers: Array<Controller & Slotted> = dev.controllers.map((c) => copyToSet(c, 'address'));
  const disks = dev.disks.map((d) => copyToSet(d, 'address') as typeof d & Slotted);
  const nets = dev.interfaces.map((n) => copyToSet(n, 'address') as typeof n & Slotted);
  const sounds = dev.sounds.map((s) => copyToSet(s, 'address') as typeof s & Slotted);
  const videos = dev.videos.map((v) => copyToSet(v, 'address') as typeof v & Slotted);
  const inputs = dev.inputs.map((i) => copyToSet(i, 'address') as typeof i & Slotted);
  const serials = dev.serials.map((s) => copyToSet(s, 'address') as typeof s & Slotted);
  const balloon = dev.memballoon ? (copyToSet(dev.memballoon, 'address') as NonNullable<typeof dev.memballoon> & Slotted) : undefined;
  const watchdogs = dev.watchdogs.map((w) => copyToSet(w, 'address') as typeof w & Slotted);
  const panics = dev.panics.map((p) => copyToSet(p, 'address') as typeof p & Slotted);
  const iommu = dev.iommu ? (copyToSet(dev.iommu, 'address') as NonNullable<typeof dev.iommu> & Slotted) : undefined;
  const memories = dev.memories.map((m) => copyToSet(m, 'address') as typeof m & Slotted);
  const hostdevs = dev.hostdevs.map((h) => copyToSet(h, 'address') as typeof h & Slotted);
  const filesystems = dev.filesystems.map((f) => copyToSet(f, 'address') as typeof f & Slotted);
  const rngs = dev.rngs.map((r) => copyToSet(r, 'address') as typeof r & Slotted);
  const vsock = dev.vsock ? (copyToSet(dev.vsock, 'address') as NonNullable<typeof dev.vsock> & Slotted) : undefined;
  const shmems = dev.shmems.map((s) => copyToSet(s, 'address') as typeof s & Slotted);

  // NB: whatever reader built the IR, the bus and slot numbers bound the work below (buses are
  // created up to the highest one named): out-of-range numbers stop here, at the device
  const slotted: Array<Slotted & { readonly $span?: Span }> = [
    ...controllers, ...disks, ...nets, ...sounds, ...videos, ...inputs, ...serials, ...(balloon ? [balloon] : []),
    ...watchdogs, ...panics, ...(iommu ? [iommu] : []), ...memories, ...hostdevs, ...filesystems, ...rngs, ...(vsock ? [vsock] : []), ...shmems,
  ];
  for (const d of slotted) {
    const a = d.address;
    if (!isPci(a)) continue;
    for (const [what, value, limit] of [['PCI bus', a.bus, 255], ['PCI slot', a.slot, 31], ['PCI function', a.function, 7], ['PCI domain', a.domain, 0xffff]] as const) {
      if (!(value >= 0 && value <= limit)) fail('PciOutOfRange', { what, value, limit }, d.$span);
    }
  }
  for (const c of controllers) if (c.type === 'pci' && !(c.index >= 0 && c.index <= 255)) fail('PciOutOfRange', { what: 'PCI controller index', value: c.index, limit: 255 }, c.$span);

  const hasPcieRoot = controllers.some((c) => c.type === 'pci' && c.model === 'pcie-root');
  const hasPciRoot = controllers.some((c) => c.type === 'pci' && c.model === 'pci-root');
  const pci = PCI_DEVICE | AUTOASSIGN;
  const pcie = (hasPcieRoot ? PCIE_DEVICE : PCI_DEVICE) | AUTOASSIGN;
  const virtio = opts.virtioTransitional ? pcie : pci;

  const usbModel = (c: Controller) => c.model ?? defaultUsbModel(machine.q35);
  const controllerFlags = (c: Controller): number => {
    switch (c.type) {
      case 'pci':
        return controllerConnect(c.model);
      case 'sata':
      case 'ide':
        return pci;
      case 'usb': {
        const m = usbModel(c);
        if (m === 'none' || m === 'qusb1' || m === 'qusb2') return 0;
        return m === 'nec-xhci' || m === 'qemu-xhci' ? pcie : pci;
      }
      case 'scsi': {
        const m = c.model ?? DEFAULT_SCSI_MODEL;
        // NB: ncr53c90 is built in and ibmvscsi sits on the spapr-vio bus, even on x86
        if (m === 'ncr53c90' || m === 'ibmvscsi') return 0;
        if (m === 'virtio-scsi' || m === 'virtio-non-transitional') return virtio;
        return pci;
      }
      case 'virtio-serial':
        return c.model === 'virtio-transitional' ? pci : virtio;
      default:
        return 0;
    }
  };
  const netFlags = (n: (typeof nets)[number]) => {
    if (n.type === 'hostdev' || n.model === 'usb-net') return 0;
    if (n.model === 'virtio' || n.model === 'virtio-non-transitional') return virtio;
    if (n.model === 'e1000e' || n.model === 'igb') return pcie;
    return pci;
  };
  const soundFlags = (s: (typeof sounds)[number]) => (['es1370', 'ac97', 'ich6', 'ich9'].includes(s.model) ? pci : 0);
  const videoFlags = (v: (typeof videos)[number]) =>
    v.model === 'virtio' ? virtio : v.model === 'bochs' ? pcie : v.model === 'none' || v.model === 'ramfb' || v.model === 'gop' ? 0 : pci;
  const inputFlags = (i: (typeof inputs)[number]) => (i.bus === 'virtio' ? virtio : 0);
  const serialFlags = (s: (typeof serials)[number]) => (s.targetType === 'pci-serial' ? pci : 0);
  const diskFlags = (d: (typeof disks)[number]) => (d.target.bus === 'virtio' ? virtioModelFlags(d) : 0);
  const balloonFlags = (b: NonNullable<typeof balloon>) =>
    b.model === 'virtio-transitional' ? pci : b.model === 'virtio' || b.model === 'virtio-non-transitional' ? virtio : 0;
  const watchdogFlags = (w: (typeof watchdogs)[number]) => (w.model === 'i6300esb' ? pci : 0);
  // NB: virtio-iommu and pvpanic-pci are part of the platform: they may sit on pcie-root itself
  const iommuFlags = (i: NonNullable<typeof iommu>) => (i.model === 'virtio' ? virtio | INTEGRATED : 0);
  const panicFlags = (p: (typeof panics)[number]) => (p.model === 'pvpanic' ? pci | INTEGRATED : 0);
  // NB: host PCI devices, vfio-pci mediated devices and vhost-scsi are assumed PCIe: the host is not asked
  const hostdevFlags = (h: (typeof hostdevs)[number]) => {
    const t = h.source.type;
    return t === 'pci' || t === 'scsi_host' || (t === 'mdev' && (h.model ?? 'vfio-pci') === 'vfio-pci') ? pcie : 0;
  };
  const memoryFlags = (m: (typeof memories)[number]) => (m.model === 'virtio-pmem' || m.model === 'virtio-mem' ? virtio : 0);
  /** virtio-9p, vhost-user-fs, virtio-rng and vhost-vsock: a transitional model is conventional PCI */
  const virtioModelFlags = (d: { model?: string }) => (d.model === 'virtio-transitional' ? pci : virtio);
  // NB: loop, nbd and ploop filesystems are other hypervisors' drivers: no device in QEMU
  const fsFlags = (f: (typeof filesystems)[number]) => (['loop', 'nbd', 'ploop'].includes(f.driver?.type ?? '') ? 0 : virtioModelFlags(f));
  const extras = dev.extra.map((e) => ({ e, flags: extraConnect(e, pci), addr: extraAddress(e) }));

  const pciControllers = () => controllers.filter((c) => c.type === 'pci');
  const maxIdx = Math.max(-1, ...pciControllers().map((c) => c.index));

  const createSet = (nbuses: number, dryRun: boolean): AddressSet => {
    const models: string[] = [];
    for (let i = 0; i < nbuses; i++) {
      const c = pciControllers().find((x) => x.index === i);
      models.push(c?.model ?? (i === 0 ? 'pci-root' : hasPcieRoot ? 'pcie-root-port' : 'pci-bridge'));
    }
    const set = new AddressSet(models, dryRun);
    pciControllers().forEach((c) => {
      if (c.pci?.hotplug === false && set.buses[c.index]) {
        set.buses[c.index]!.flags &= ~HOTPLUGGABLE;
      }
    });
    const collect = (a: Address | undefined, flags: number) => {
      if (isPci(a)) set.reserve(a, flags || PCI_DEVICE, true);
    };
    disks.forEach((d) => collect(d.address, diskFlags(d)));
    nets.forEach((n) => collect(n.address, netFlags(n)));
    sounds.forEach((s) => collect(s.address, soundFlags(s)));
    videos.forEach((v) => collect(v.address, videoFlags(v)));
    for (const c of controllers) {
      const a = c.address;
      // NB: the PIIX3's own IDE (1.1) and UHCI (1.2) are reserved with the chipset below
      if (isPci(a) && a.bus === 0 && a.slot === 1 && ((c.type === 'ide' && c.index === 0 && a.function === 1) || (c.type === 'usb' && c.index === 0 && usbModel(c) === 'piix3-uhci' && a.function === 2))) continue;
      collect(a, controllerFlags(c));
    }
    inputs.forEach((i) => collect(i.address, inputFlags(i)));
    serials.forEach((s) => collect(s.address, serialFlags(s)));
    if (balloon) collect(balloon.address, balloonFlags(balloon));
    watchdogs.forEach((w) => collect(w.address, watchdogFlags(w)));
    panics.forEach((p) => collect(p.address, panicFlags(p)));
    if (iommu) collect(iommu.address, iommuFlags(iommu));
    memories.forEach((m) => collect(m.address, memoryFlags(m)));
    hostdevs.forEach((h) => collect(h.address, hostdevFlags(h)));
    filesystems.forEach((f) => collect(f.address, fsFlags(f)));
    rngs.forEach((r) => collect(r.address, virtioModelFlags(r)));
    if (vsock) collect(vsock.address, virtioModelFlags(vsock));
    shmems.forEach((s) => collect(s.address, pci));
    extras.forEach((x) => collect(x.addr, x.flags));
    return set;
  };

  const chipset = (set: AddressSet) => {
    const at = (slot: number, fn = 0): Pci => ({ type: 'pci', domain: 0, bus: 0, slot, function: fn });
    const primary = videos[0];
    if (machine.pc) {
      const flags = PCI_DEVICE | AUTOASSIGN;
      for (const c of controllers) {
        let fixed: Pci | undefined;
        if (c.type === 'ide' && c.index === 0) fixed = at(1, 1);
        else if (c.type === 'usb' && c.index === 0 && usbModel(c) === 'piix3-uhci') fixed = at(1, 2);
        else continue;
        if (!c.address) c.address = fixed;
        if (isPci(c.address)) set.reserve(c.address, flags, true);
      }
      set.reserve(at(1, 0), flags, true);
      set.reserve(at(1, 3), flags, true);
      // NB: QEMU puts the first VGA device right after the PIIX3 devices, i.e. in slot 2
      if (primary && videoFlags(primary) && wanted(primary)) {
        if (set.slotInUse(0, 2)) primary.address = set.next(videoFlags(primary));
        else {
          set.reserve(at(2), flags, true);
          primary.address = at(2);
        }
      } else if (!primary && opts.reserveVideoSlot && !set.slotInUse(0, 2)) set.reserve(at(2), flags, true);
    }
    if (machine.q35) {
      const flags = PCIE_DEVICE;
      for (const c of controllers) {
        if (c.type === 'sata' && c.index === 0 && !c.address) c.address = at(0x1f, 2);
        else if (c.type === 'usb' && usbModel(c) === 'ich9-uhci1' && !c.address) {
          // the first USB2 set goes where real Q35 hardware has it (1D), the second to 1A
          const slot = !set.slotInUse(0, 0x1d) ? 0x1d : !set.slotInUse(0, 0x1a) ? 0x1a : undefined;
          if (slot !== undefined) {
            set.reserve(at(slot), flags, true);
            c.address = withFields(at(slot), { multifunction: true });
          }
        } else if (c.type === 'pci' && c.model === 'dmi-to-pci-bridge' && !c.address && !set.slotInUse(0, 0x1e)) {
          set.reserve(at(0x1e), flags, true);
          c.address = at(0x1e);
        }
      }
      // ISA bridge (1F.0) and SMBus (1F.3) are always there
      set.reserve(at(0x1f, 0), flags, true);
      set.reserve(at(0x1f, 3), flags, true);
      if (primary && videoFlags(primary) && wanted(primary)) {
        if (set.slotInUse(0, 1)) primary.address = set.next(videoFlags(primary));
        else {
          set.reserve(at(1), flags, true);
          primary.address = at(1);
        }
      }
      if (!set.slotInUse(0, 0x1b)) {
        const hda = sounds.find((s) => s.model === 'ich9' && wanted(s));
        if (hda) {
          set.reserve(at(0x1b), flags, true);
          hda.address = at(0x1b);
        }
      }
    }
  };

  /** qemuDomainAssignDevicePCISlots: device classes in libvirt's fixed order. */
  const assignSlots = (set: AddressSet) => {
    const give = <T extends Slotted>(d: T, flags: number, fn = -1) => {
      if (!flags || !wanted(d)) return;
      const a = set.next(flags, fn);
      if (!set.dryRun) d.address = a;
    };
    for (const c of controllers) if (c.type === 'pci' && !ROOT_MODELS.has(c.model ?? '')) give(c, controllerFlags(c));
    for (const f of filesystems) give(f, fsFlags(f));
    for (const n of nets) if (n.type !== 'hostdev') give(n, netFlags(n));
    for (const s of sounds) if (!['sb16', 'pcspk', 'usb'].includes(s.model)) give(s, soundFlags(s));
    for (const c of controllers) {
      if (c.type === 'pci' || c.type === 'fdc' || c.type === 'ccid') continue;
      if (c.type === 'ide' && c.index === 0) continue;
      if (!wanted(c) || !controllerFlags(c)) continue;
      const m = usbModel(c);
      if (c.type === 'usb' && USB2.has(m)) {
        // NB: all USB2 companions of one index share a slot, each at its own function
        const fn = USB2_FUNCTION[m]!;
        const sibling = controllers.find((x) => x.type === 'usb' && x.index === c.index && USB2.has(usbModel(x)) && isPci(x.address));
        const multifunction = fn === 0 ? true : undefined;
        if (sibling && isPci(sibling.address)) {
          const s = sibling.address;
          const addr: Pci = { type: 'pci', domain: s.domain, bus: s.bus, slot: s.slot, function: fn, ...(multifunction ? { multifunction } : {}) };
          set.reserve(addr, controllerFlags(c), true);
          c.address = addr;
        } else {
          const a = set.next(controllerFlags(c), fn);
          if (!set.dryRun) c.address = multifunction ? withFields(a, { multifunction }) : a;
        }
        continue;
      }
      give(c, controllerFlags(c));
    }
    for (const d of disks) if (d.target.bus === 'virtio') give(d, diskFlags(d));
    for (const h of hostdevs) give(h, hostdevFlags(h));
    if (balloon) give(balloon, balloonFlags(balloon));
    for (const r of rngs) give(r, virtioModelFlags(r));
    for (const w of watchdogs) give(w, watchdogFlags(w));
    for (const v of videos) give(v, videoFlags(v));
    // NB: ivshmem devices are conventional PCI, given slots after the video cards
    for (const s of shmems) give(s, pci);
    for (const i of inputs) give(i, inputFlags(i));
    for (const s of serials) give(s, serialFlags(s));
    if (iommu) give(iommu, iommuFlags(iommu));
    if (vsock) give(vsock, virtioModelFlags(vsock));
    for (const m of memories) give(m, memoryFlags(m));
    for (const x of extras) if (x.e.name === 'crypto' && !x.addr && x.flags) set.next(x.flags);
    for (const p of panics) give(p, panicFlags(p));
  };

  let nbuses = maxIdx + 1;
  if (nbuses > 0) {
    // 1st pass: find out how many buses the devices need
    const dry = createSet(nbuses, true);
    chipset(dry);
    // NB: with a pci-root, one slot stays free for a future bridge
    if (hasPciRoot && !dry.fullyReserved()) dry.next(PCI_DEVICE | AUTOASSIGN);
    assignSlots(dry);
    // NB: a new q35 guest gets one spare pcie-root-port for hotplug
    if (maxIdx <= 0 && dry.buses.length > maxIdx + 1 && hasPcieRoot) dry.next(PCIE_DEVICE | AUTOASSIGN);
    for (let i = 1; i < dry.buses.length; i++) {
      if (pciControllers().some((c) => c.index === i)) continue;
      const c: Controller & Slotted = { type: 'pci', index: i, model: dry.buses[i]!.model, extra: [] };
      insertController(controllers, c);
      dry.next(controllerFlags(c));
    }
    nbuses = dry.buses.length;
  }
  const set = createSet(nbuses, false);
  chipset(set);
  assignSlots(set);

  // a function-0 device on a slot with other functions in use is multifunction
  const all: Slotted[] = [...disks, ...nets, ...sounds, ...videos, ...controllers, ...inputs, ...serials, ...(balloon ? [balloon] : []), ...watchdogs, ...panics, ...(iommu ? [iommu] : []), ...memories, ...hostdevs, ...filesystems, ...rngs, ...(vsock ? [vsock] : []), ...shmems];
  for (const d of all) {
    const a = d.address;
    if (!isPci(a) || a.function === 0) continue;
    const head = all.find((x) => isPci(x.address) && x.address.bus === a.bus && x.address.slot === a.slot && x.address.function === 0);
    if (head && isPci(head.address) && head.address.multifunction === undefined) head.address = withFields(head.address, { multifunction: true });
  }

  const finalControllers = controllers.map((c) => (c.type === 'pci' ? withFields(c, { pci: pciDefaults(c) }) : c));
  return withFields(dom, {
    devices: withFields(dev, {
      controllers: finalControllers,
      disks,
      interfaces: nets,
      sounds,
      videos,
      inputs,
      serials,
      ...(balloon ? { memballoon: balloon } : {}),
      watchdogs,
      panics,
      ...(iommu ? { iommu } : {}),
      memories,
      hostdevs,
      filesystems,
      rngs,
      ...(vsock ? { vsock } : {}),
      shmems,
    }),
  });
}

/** Define-time defaults of a pci controller: QEMU model name, chassis and port numbers. */
function pciDefaults(c: Controller): PciControllerOpts | undefined {
  const o: PciControllerOpts = c.pci ?? {};
  const a = isPci(c.address) ? c.address : undefined;
  switch (c.model) {
    case 'pci-bridge':
      return withFields(o, { modelName: o.modelName ?? 'pci-bridge', chassisNr: o.chassisNr ?? c.index });
    case 'dmi-to-pci-bridge':
      return withFields(o, { modelName: o.modelName ?? 'i82801b11-bridge' });
    case 'pcie-to-pci-bridge':
      return withFields(o, { modelName: o.modelName ?? 'pcie-pci-bridge' });
    case 'pcie-root-port':
      return withFields(o, { modelName: o.modelName ?? 'pcie-root-port', chassis: o.chassis ?? c.index, port: o.port ?? (a ? (a.slot << 3) + a.function : 0) });
    case 'pcie-switch-upstream-port':
      return withFields(o, { modelName: o.modelName ?? 'x3130-upstream' });
    case 'pcie-switch-downstream-port':
      return withFields(o, { modelName: o.modelName ?? 'xio3130-downstream', chassis: o.chassis ?? c.index, port: o.port ?? (a ? a.slot : 0) });
    case 'pci-expander-bus':
      return withFields(o, { modelName: o.modelName ?? 'pxb' });
    case 'pcie-expander-bus':
      return withFields(o, { modelName: o.modelName ?? 'pxb-pcie' });
    default:
      return c.pci;
  }
}

/** libvirt keeps controllers grouped by type, each type in index order (new types go last). */
export function insertController<T extends Controller>(list: T[], c: T): void {
  let at = -1;
  for (let i = list.length - 1; i >= 0; i--) {
    const cur = list[i]!;
    if (cur.type !== c.type) continue;
    if (cur.index > c.index) at = i;
    else if (at === -1) {
      at = i + 1;
      break;
    }
  }
  if (at === -1) list.push(c);
  else list.splice(at, 0, c);
}
