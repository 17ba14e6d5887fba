// `domxml capabilities`: the host and the guests its emulators can run, in the shape of libvirt's
// capabilities XML (virCapabilitiesFormatXML), or as JSON.
import { writeXml } from '../xml/write.js';
import { el, type XmlElement } from '../xml/tree.js';
import { archOfBinary, emulatorMachines, emulatorVersion, hostArch, kvmState, probeEmulators, runsArch, wordsize, type KvmState, type Machine } from './emulator.js';
import { formatVersion } from '../qemu/version.js';
import type { Instance } from './instance.js';

export interface GuestCaps {
  readonly arch: string;
  readonly wordsize: number;
  readonly emulator: string;
  readonly version?: string;
  readonly machines: readonly Machine[];
  readonly domainTypes: readonly ('qemu' | 'kvm')[];
}

export interface Capabilities {
  readonly host: { readonly arch: string; readonly uri: string; readonly user: string; readonly uid: number; readonly gid: number; readonly kvm: KvmState };
  readonly guests: readonly GuestCaps[];
}

export function probeCapabilities(inst: Instance): Capabilities {
  const host = hostArch();
  const kvm = kvmState(inst.guest);
  const guests: GuestCaps[] = [];
  for (const emulator of probeEmulators()) {
    const arch = archOfBinary(emulator);
    // one emulator per arch, the first found (qemu-system-ARCH before the legacy names)
    if (!arch || guests.some((g) => g.arch === arch)) continue;
    const version = emulatorVersion(emulator);
    const machines = emulatorMachines(emulator) ?? [];
    // KVM runs only guests of the host's own arch (or its 32-bit sibling)
    const domainTypes: ('qemu' | 'kvm')[] = kvm.usable && runsArch(host, arch) ? ['qemu', 'kvm'] : ['qemu'];
    guests.push({ arch, wordsize: wordsize(arch), emulator, ...(version ? { version: formatVersion(version) } : {}), machines, domainTypes });
  }
  return { host: { arch: host, uri: inst.uri, user: inst.guest.user, uid: inst.guest.uid, gid: inst.guest.gid, kvm }, guests };
}

export function capabilitiesXml(c: Capabilities): string {
  const t = (name: string, text: string): XmlElement => el(name, {}, text);
  const host = el(
    'host', {},
    el('cpu', {}, t('arch', c.host.arch)),
    el('secmodel', {}, t('model', 'dac'), t('doi', '0'), el('baselabel', { type: 'kvm' }, `+${c.host.uid}:+${c.host.gid}`), el('baselabel', { type: 'qemu' }, `+${c.host.uid}:+${c.host.gid}`)),
  );
  const guests = c.guests.map((g) =>
    el(
      'guest', {},
      t('os_type', 'hvm'),
      el(
        'arch', { name: g.arch },
        t('wordsize', String(g.wordsize)),
        t('emulator', g.emulator),
        ...g.machines.filter((m) => !m.deprecated).map((m) => el('machine', m.canonical ? { canonical: m.canonical } : {}, m.name)),
        ...g.domainTypes.map((d) => el('domain', { type: d })),
      ),
      // ACPI and APIC are x86 machine features
      ...(g.arch === 'x86_64' || g.arch === 'i686' ? [el('features', {}, el('acpi', { default: 'on', toggle: 'yes' }), el('apic', { default: 'on', toggle: 'no' }))] : []),
    ),
  );
  return writeXml(el('capabilities', {}, host, ...guests));
}
