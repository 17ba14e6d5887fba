// fast-check arbitraries of domain XML built from small virt-install-like pieces: machine, CPU
// topology, features, clock, pm, boot (devices or a kernel), disks, NICs, console, input,
// graphics with video, sound, balloon, rng. Every combination is a domain libvirt would define.
import fc from 'fast-check';

const x = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/'/g, '&apos;');

interface DiskSpec {
  readonly bus: 'virtio' | 'ide' | 'sata';
  readonly device: 'disk' | 'cdrom';
  readonly format: 'raw' | 'qcow2';
}

interface Spec {
  readonly name: string;
  readonly uuid: string;
  readonly memMiB: number;
  readonly topology: readonly [number, number, number] | undefined;
  readonly vcpus: number;
  readonly q35: boolean;
  readonly versioned: boolean;
  readonly acpi: boolean;
  readonly apic: boolean;
  readonly vmportOff: boolean;
  readonly localtime: boolean;
  readonly timers: readonly string[];
  readonly pm: readonly [boolean, boolean] | undefined;
  readonly noReboot: boolean;
  readonly kernel: boolean;
  readonly boot: readonly string[];
  readonly disks: readonly DiskSpec[];
  readonly nics: readonly string[];
  readonly console: boolean;
  readonly tablet: boolean;
  readonly display: 'none' | 'vnc' | 'spice';
  readonly video: string;
  readonly sound: string | undefined;
  readonly balloon: boolean;
  readonly rng: boolean;
}

const TIMERS = ["<timer name='rtc' tickpolicy='catchup'/>", "<timer name='pit' tickpolicy='delay'/>", "<timer name='hpet' present='no'/>"];

const spec: fc.Arbitrary<Spec> = fc
  .record({
    name: fc.stringMatching(/^[a-z][a-z0-9_.-]{0,15}$/),
    uuid: fc.uuid(),
    memMiB: fc.integer({ min: 16, max: 16384 }),
    topology: fc.option(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 2 })), { nil: undefined }),
    plainVcpus: fc.integer({ min: 1, max: 8 }),
    q35: fc.boolean(),
    versioned: fc.boolean(),
    acpi: fc.boolean(),
    apic: fc.boolean(),
    vmportOff: fc.boolean(),
    localtime: fc.boolean(),
    timers: fc.subarray(TIMERS),
    pm: fc.option(fc.tuple(fc.boolean(), fc.boolean()), { nil: undefined }),
    noReboot: fc.boolean(),
    kernel: fc.boolean(),
    boot: fc.subarray(['hd', 'cdrom', 'network']),
    disks: fc.array(fc.record({ bus: fc.constantFrom('virtio', 'ide', 'sata'), device: fc.constantFrom('disk', 'cdrom'), format: fc.constantFrom('raw', 'qcow2') }), { maxLength: 3 }),
    nics: fc.array(fc.constantFrom('virtio', 'e1000', 'rtl8139', 'e1000e'), { maxLength: 2 }),
    console: fc.boolean(),
    tablet: fc.boolean(),
    display: fc.constantFrom('none', 'vnc', 'spice'),
    video: fc.constantFrom('vga', 'cirrus', 'qxl', 'virtio', 'bochs'),
    sound: fc.option(fc.constantFrom('ich6', 'ich9', 'ac97'), { nil: undefined }),
    balloon: fc.boolean(),
    rng: fc.boolean(),
  })
  .map((r) => {
    // libvirt's rules the pieces must follow: IDE only on i440fx, SATA on q35; a cdrom on an IDE
    // or SATA bus; the ich9 codec is q35's; qxl goes with spice
    const disks = r.disks
      .map((d): DiskSpec => ({ ...d, bus: d.bus === 'virtio' ? 'virtio' : r.q35 ? 'sata' : 'ide' }))
      .map((d): DiskSpec => (d.bus === 'virtio' ? { ...d, device: 'disk' } : d));
    const vcpus = r.topology ? r.topology[0] * r.topology[1] * r.topology[2] : r.plainVcpus;
    return {
      ...r,
      vcpus,
      disks,
      video: r.display === 'none' ? 'none' : r.video === 'qxl' && r.display !== 'spice' ? 'vga' : r.video,
      sound: r.sound === 'ich9' && !r.q35 ? 'ich6' : r.sound,
    };
  });

function domainXml(s: Spec): string {
  const machine = s.q35 ? (s.versioned ? 'pc-q35-7.2' : 'q35') : s.versioned ? 'pc-i440fx-7.2' : 'pc';
  const dev = { vd: 0, hd: 0, sd: 0 };
  const disks = s.disks.map((d, i) => {
    const prefix = d.bus === 'virtio' ? 'vd' : d.bus === 'ide' ? 'hd' : 'sd';
    const target = `${prefix}${String.fromCharCode(97 + dev[prefix]++)}`;
    return `    <disk type='file' device='${d.device}'>
      <driver name='qemu' type='${d.format}'/>
      <source file='/var/lib/libvirt/images/${x(s.name)}-${i}.${d.format}'/>
      <target dev='${target}' bus='${d.bus}'/>${d.device === 'cdrom' ? '\n      <readonly/>' : ''}
    </disk>`;
  });
  const nics = s.nics.map(
    (m, i) => `    <interface type='user'>
      <mac address='52:54:00:${s.uuid.slice(0, 2)}:${s.uuid.slice(2, 4)}:${(16 + i).toString(16)}'/>
      <model type='${m}'/>
    </interface>`,
  );
  const graphics = s.display === 'none' ? [] : [`    <graphics type='${s.display}' autoport='yes'/>`];
  const video = s.video === 'none' ? [] : [`    <video>\n      <model type='${s.video}'/>\n    </video>`];
  return `<domain type='qemu'>
  <name>${x(s.name)}</name>
  <uuid>${s.uuid}</uuid>
  <memory unit='MiB'>${s.memMiB}</memory>
  <vcpu placement='static'>${s.vcpus}</vcpu>
  <os>
    <type arch='x86_64' machine='${machine}'>hvm</type>
${s.kernel ? "    <kernel>/boot/vmlinuz</kernel>\n    <initrd>/boot/initrd.img</initrd>\n    <cmdline>console=ttyS0 root=/dev/vda1</cmdline>\n" : s.boot.map((b) => `    <boot dev='${b}'/>\n`).join('')}  </os>
  <features>
${s.acpi ? '    <acpi/>\n' : ''}${s.apic ? '    <apic/>\n' : ''}${s.vmportOff ? "    <vmport state='off'/>\n" : ''}  </features>
${s.topology ? `  <cpu mode='custom' match='exact' check='none'>\n    <model fallback='forbid'>qemu64</model>\n    <topology sockets='${s.topology[0]}' dies='1' cores='${s.topology[1]}' threads='${s.topology[2]}'/>\n  </cpu>\n` : ''}  <clock offset='${s.localtime ? 'localtime' : 'utc'}'>
${s.timers.map((t) => `    ${t}\n`).join('')}  </clock>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>${s.noReboot ? 'destroy' : 'restart'}</on_reboot>
  <on_crash>destroy</on_crash>
${s.pm ? `  <pm>\n    <suspend-to-mem enabled='${s.pm[0] ? 'yes' : 'no'}'/>\n    <suspend-to-disk enabled='${s.pm[1] ? 'yes' : 'no'}'/>\n  </pm>\n` : ''}  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
${[
  ...disks,
  ...nics,
  ...(s.console ? ["    <serial type='pty'/>", "    <console type='pty'/>"] : []),
  ...(s.tablet ? ["    <input type='tablet' bus='usb'/>"] : []),
  ...graphics,
  ...(s.sound ? [`    <sound model='${s.sound}'/>`] : []),
  ...video,
  `    <memballoon model='${s.balloon ? 'virtio' : 'none'}'/>`,
  ...(s.rng ? ["    <rng model='virtio'>\n      <backend model='random'>/dev/urandom</backend>\n    </rng>"] : []),
].join('\n')}
  </devices>
</domain>
`;
}

/** Domain XML texts. */
export const domainXmlArbitrary: fc.Arbitrary<string> = spec.map(domainXml);

/**
 * Domain XML texts within what QEMU 0.12's command line could say: an i440fx machine, no CPU
 * topology, timers, pm, vmport or rng, no SATA, and the devices of that era.
 */
export const legacyDomainXmlArbitrary: fc.Arbitrary<string> = spec.map((s) =>
  domainXml({
    ...s,
    q35: false,
    versioned: false,
    topology: undefined,
    vmportOff: false,
    timers: [],
    pm: undefined,
    rng: false,
    disks: s.disks.map((d): DiskSpec => (d.bus === 'sata' ? { ...d, bus: 'ide' } : d)),
    nics: s.nics.filter((m) => m !== 'e1000e'),
    display: s.display === 'spice' ? 'vnc' : s.display,
    video: s.display === 'none' ? 'none' : s.video === 'cirrus' ? 'cirrus' : 'vga',
    sound: s.sound === 'ac97' ? 'ac97' : undefined,
  }),
);
