// The capabilities document: libvirt's shape, KVM listed only where the guest's user can use it.
import { capabilitiesXml, type Capabilities } from '../src/launch/capabilities.js';
import { archOfBinary, runsArch, wordsize } from '../src/launch/emulator.js';

const base = (kvm: Capabilities['host']['kvm']): Capabilities => ({
  host: { arch: 'x86_64', uri: 'qemu:///system', user: 'libvirt-qemu', uid: 64055, gid: 994, kvm },
  guests: [
    {
      arch: 'x86_64', wordsize: 64, emulator: '/usr/bin/qemu-system-x86_64', version: '7.2.0',
      machines: [
        { name: 'pc', canonical: 'pc-i440fx-7.2', isDefault: false, deprecated: false },
        { name: 'pc-i440fx-7.2', isDefault: true, deprecated: false },
        { name: 'pc-i440fx-1.4', isDefault: false, deprecated: true },
      ],
      domainTypes: kvm.usable ? ['qemu', 'kvm'] : ['qemu'],
    },
    { arch: 'aarch64', wordsize: 64, emulator: '/usr/bin/qemu-system-aarch64', machines: [{ name: 'virt', isDefault: false, deprecated: false }], domainTypes: ['qemu'] },
  ],
});

test('host, secmodel and one <guest> per arch, in libvirt order', () => {
  expect(capabilitiesXml(base({ usable: true }))).toBe(`<capabilities>
  <host>
    <cpu>
      <arch>x86_64</arch>
    </cpu>
    <secmodel>
      <model>dac</model>
      <doi>0</doi>
      <baselabel type='kvm'>+64055:+994</baselabel>
      <baselabel type='qemu'>+64055:+994</baselabel>
    </secmodel>
  </host>
  <guest>
    <os_type>hvm</os_type>
    <arch name='x86_64'>
      <wordsize>64</wordsize>
      <emulator>/usr/bin/qemu-system-x86_64</emulator>
      <machine canonical='pc-i440fx-7.2'>pc</machine>
      <machine>pc-i440fx-7.2</machine>
      <domain type='qemu'/>
      <domain type='kvm'/>
    </arch>
    <features>
      <acpi default='on' toggle='yes'/>
      <apic default='on' toggle='no'/>
    </features>
  </guest>
  <guest>
    <os_type>hvm</os_type>
    <arch name='aarch64'>
      <wordsize>64</wordsize>
      <emulator>/usr/bin/qemu-system-aarch64</emulator>
      <machine>virt</machine>
      <domain type='qemu'/>
    </arch>
  </guest>
</capabilities>
`);
});

test('no <domain type=kvm> when KVM is unusable', () => {
  expect(capabilitiesXml(base({ usable: false, reason: 'no /dev/kvm' }))).not.toContain("type='kvm'/>");
});

test('binary names to arches', () => {
  expect(['qemu-system-x86_64', 'qemu-system-i386', '/usr/bin/qemu-system-ppc64', 'qemu-system-microblazeel', 'qemu-system-riscv64', 'qemu-img'].map(archOfBinary)).toEqual([
    'x86_64', 'i686', 'ppc64', 'microblazeel', 'riscv64', undefined,
  ]);
  expect([runsArch('x86_64', 'i686'), runsArch('i686', 'x86_64'), runsArch('aarch64', 'x86_64')]).toEqual([true, false, false]);
  expect([wordsize('x86_64'), wordsize('i686'), wordsize('mipsel'), wordsize('s390x')]).toEqual([64, 32, 32, 64]);
});
