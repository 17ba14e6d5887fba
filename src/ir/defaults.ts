// What libvirt fills in when it defines a domain (its post-parse callbacks): default arch and
// machine, implicit controllers (pci-root, ide, usb), the default balloon, ps2 inputs, drive
// addresses from target names, and PCI addresses for devices without one. Both to-native and
// from-native (unless --minimal) see the domain after this pass.
import { driveAddressFor } from '../families/disk.js';
import type { Address, Controller, Domain } from './domain.js';

export interface DefaultsOptions {
  /** The arch the emulator implies when the XML names none. */
  readonly arch?: string;
}

export const isX86 = (arch: string | undefined): boolean => arch === 'x86_64' || arch === 'i686';
export const isQ35 = (machine: string | undefined): boolean => !!machine && /^(q35|pc-q35)/.test(machine);
export const isI440fx = (machine: string | undefined): boolean => !!machine && /^(pc|pc-i440fx-.*|pc-\d.*)$/.test(machine);

export function applyDefaults(dom: Domain, opts: DefaultsOptions = {}): Domain {
  const arch = dom.os.arch ?? opts.arch ?? 'x86_64';
  const machine = dom.os.machine ?? (isX86(arch) ? 'pc' : undefined);
  const x86 = isX86(arch);
  const controllers: Controller[] = [...dom.devices.controllers];
  const addController = (c: Controller) => {
    if (!controllers.some((x) => x.type === c.type && x.index === c.index)) controllers.push(c);
  };

  const disks = dom.devices.disks.map((d) => (d.address || !driveAddressFor(d) ? d : { ...d, address: driveAddressFor(d) }));

  // NB: implicit controllers come in libvirt's order: USB first (qemuDomainDefAddDefaultDevices),
  // then the PCI root, then one controller for each drive bus in use.
  if (x86 && (isI440fx(machine) || isQ35(machine))) addController({ type: 'usb', index: 0, extra: [] });
  if (x86) addController({ type: 'pci', index: 0, model: isQ35(machine) ? 'pcie-root' : 'pci-root', extra: [] });
  for (const d of disks) {
    const a = d.address;
    if (a?.type !== 'drive') continue;
    const bus = d.target.bus;
    if (bus === 'ide' || bus === 'fdc' || bus === 'scsi' || bus === 'sata') {
      for (let i = 0; i <= a.controller; i++) addController({ type: bus, index: i, extra: [] });
    }
  }
  if (isQ35(machine)) addController({ type: 'sata', index: 0, extra: [] });

  const inputs = [...dom.devices.inputs];
  if (x86 && !inputs.some((i) => i.type === 'mouse' && i.bus === 'ps2')) inputs.push({ type: 'mouse', bus: 'ps2', extra: [] });
  if (x86 && !inputs.some((i) => i.type === 'keyboard' && i.bus === 'ps2')) inputs.push({ type: 'keyboard', bus: 'ps2', extra: [] });

  const memballoon = dom.devices.memballoon ?? { model: 'virtio' as const, extra: [] };
  const withDefaults: Domain = {
    ...dom,
    os: { ...dom.os, arch, ...(machine ? { machine } : {}) },
    devices: { ...dom.devices, disks, controllers, inputs, memballoon },
  };
  return assignPciAddresses(withDefaults);
}

/** A PCI slot allocator for bus 0 of pc (i440fx) machines; q35 puts the same devices on bus 0 too
 * when they are integrated (libvirt then adds root ports; see the controller family). */
class PciSlots {
  private readonly used = new Set<string>();
  reserve(a: Address | undefined): void {
    if (a?.type === 'pci') this.used.add(`${a.bus}:${a.slot}:${a.function}`);
  }
  next(): Address {
    for (let slot = 1; slot < 32; slot++) {
      if (![...this.used].some((k) => k.startsWith(`0:${slot}:`))) {
        this.used.add(`0:${slot}:0`);
        return { type: 'pci', domain: 0, bus: 0, slot, function: 0 };
      }
    }
    throw new Error('internal: PCI bus 0 is full');
  }
}

function assignPciAddresses(dom: Domain): Domain {
  const machine = dom.os.machine;
  if (!isX86(dom.os.arch) || !(isI440fx(machine) || isQ35(machine))) return dom;
  const slots = new PciSlots();
  const pc = isI440fx(machine);
  const dev = dom.devices;
  // every address the XML gives is honoured first
  for (const c of dev.controllers) slots.reserve(c.address);
  for (const d of dev.disks) slots.reserve(d.address);
  slots.reserve(dev.memballoon?.address);
  // NB: on i440fx, slot 1 is the PIIX3 south bridge (ISA 1.0, IDE 1.1, USB UHCI 1.2, PM 1.3)
  // and slot 2 is kept for the primary video card, even when there is none.
  if (pc) {
    slots.reserve({ type: 'pci', domain: 0, bus: 0, slot: 1, function: 0 });
    if (dev.videos.length) slots.reserve({ type: 'pci', domain: 0, bus: 0, slot: 2, function: 0 });
  }
  const controllers = dev.controllers.map((c) => {
    if (c.address) return c;
    if (pc && c.type === 'ide' && c.index === 0) return { ...c, address: { type: 'pci' as const, domain: 0, bus: 0, slot: 1, function: 1 } };
    if (pc && c.type === 'usb' && c.index === 0 && (c.model === undefined || c.model === 'piix3-uhci')) {
      return { ...c, address: { type: 'pci' as const, domain: 0, bus: 0, slot: 1, function: 2 } };
    }
    return c;
  });
  const withAddr = <T extends { address?: Address }>(x: T): T => (x.address ? x : { ...x, address: slots.next() });
  const needsPci = (c: Controller) => (c.type === 'usb' && c.model !== 'none') || c.type === 'scsi' || c.type === 'virtio-serial';
  const controllers2 = controllers.map((c) => (needsPci(c) ? withAddr(c) : c));
  const disks = dev.disks.map((d) => (d.target.bus === 'virtio' ? withAddr(d) : d));
  const mb = dev.memballoon;
  const memballoon = mb && mb.model !== 'none' && mb.model !== 'xen' ? withAddr(mb) : mb;
  return { ...dom, devices: { ...dev, controllers: controllers2, disks, ...(memballoon ? { memballoon } : {}) } };
}
