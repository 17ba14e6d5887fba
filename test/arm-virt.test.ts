// Arm's virt machine as libvirt 9.0 compiles it: what its defaults fill in (GIC, CPU, PCIe root,
// no balloon or USB), what depends on the emulator (aarch64's gic-version option, no virtio-vga),
// and that from-native reads it back. The full command lines are oracle goldens (golden/aarch64-virt-*).
import { DEBIAN_OVMF, parseFirmwareDescriptor } from '../src/families/firmware.js';
import { applyDefaults, domainFromArgvText, domainFromXml, domainToArgv, domainToXml, printArgvLine } from '../src/index.js';
import { diagnosticOf } from './support/errors.js';

function guest(arch: string, opts: { type?: string; devices?: string; features?: string; cpu?: string } = {}): string {
  const emulator = arch === 'aarch64' ? 'qemu-system-aarch64' : 'qemu-system-arm';
  return `<domain type='${opts.type ?? 'qemu'}'>
  <name>g</name>
  <uuid>6ba410c5-1e5c-4d57-bee7-2228e7ffa32f</uuid>
  <memory unit='KiB'>1048576</memory>
  <os><type arch='${arch}' machine='virt'>hvm</type></os>
  ${opts.features ? `<features>${opts.features}</features>` : ''}
  ${opts.cpu ?? ''}
  <devices><emulator>/usr/bin/${emulator}</emulator>${opts.devices ?? ''}</devices>
</domain>`;
}

const argv = (xml: string) => printArgvLine(domainToArgv(domainFromXml(xml, 'g.xml').domain).argv);
const machineOf = (line: string) => /-machine (\S+)/.exec(line)?.[1];

describe('Arm virt defaults', () => {
  test('aarch64 TCG: virt-7.2, usb=off, GICv2, cortex-a15, pcie-root, no balloon', () => {
    const line = argv(guest('aarch64'));
    expect(machineOf(line)).toBe('virt-7.2,usb=off,gic-version=2,dump-guest-core=off,memory-backend=mach-virt.ram');
    expect(line).toContain(' -cpu cortex-a15 ');
    expect(line).toContain(' -no-acpi ');
    expect(line).not.toContain('balloon');
    const xml = domainToXml(applyDefaults(domainFromXml(guest('aarch64'), 'g.xml').domain));
    expect(xml).toContain("<gic version='2'/>");
    expect(xml).toContain("<model fallback='forbid'>cortex-a15</model>");
    expect(xml).toContain("<controller type='pci' index='0' model='pcie-root'/>");
    expect(xml).not.toContain("type='usb'");
  });

  test('a KVM guest keeps the CPU to the emulator (libvirt names the default for TCG only)', () => {
    expect(argv(guest('aarch64', { type: 'kvm' }))).not.toContain(' -cpu ');
  });

  test('an explicit GIC version is kept', () => {
    expect(machineOf(argv(guest('aarch64', { features: "<gic version='3'/>" })))).toContain('gic-version=3');
  });

  test('armv7l: libvirt finds no gic-version option, so GICv2 stays implicit and others are refused', () => {
    expect(machineOf(argv(guest('armv7l')))).toBe('virt-7.2,usb=off,dump-guest-core=off,memory-backend=mach-virt.ram');
    expect(diagnosticOf(() => argv(guest('armv7l', { features: "<gic version='3'/>" }))).code).toBe('UnsupportedDevice');
  });

  test('aarch64 ACPI comes with UEFI: refused without it, read back only with a pflash loader', () => {
    expect(diagnosticOf(() => argv(guest('aarch64', { features: '<acpi/>' }))).code).toBe('FirmwareConflict');
    const plain = domainToXml(domainFromArgvText(argv(guest('aarch64')).replace(' -no-acpi', ''), 'g.args').domain);
    expect(plain).not.toContain('<acpi/>');
    const uefi = domainToXml(domainFromArgvText(argv(guest('aarch64', { features: '<acpi/>' }).replace('<os>', "<os firmware='efi'>")), 'g.args').domain);
    expect(uefi).toContain('<acpi/>');
    expect(uefi).toContain('/usr/share/AAVMF/AAVMF_CODE.ms.fd');
  });

  test('a model-less USB controller is qemu-xhci, the primary virtio video virtio-gpu-pci', () => {
    const line = argv(guest('aarch64', { devices: "<controller type='usb'/><graphics type='vnc' port='5900' autoport='no'/><video><model type='virtio'/></video>" }));
    expect(line).toContain('"driver":"qemu-xhci"');
    expect(line).toContain('"driver":"virtio-gpu-pci"');
    expect(line).not.toContain('virtio-vga');
  });

  test('a console is the PL011: -serial chardev:, read back as a system-serial', () => {
    const line = argv(guest('aarch64', { devices: "<console type='pty'/>" }));
    expect(line).toContain(' -chardev pty,id=charserial0 -serial chardev:charserial0 ');
    const back = domainToXml(domainFromArgvText(line, 'g.args').domain);
    expect(back).toContain("<target type='system-serial' port='0'>");
    expect(back).toContain("<model name='pl011'/>");
    expect(back).toContain("<gic version='2'/>");
    expect(back).toContain("<model fallback='forbid'>cortex-a15</model>");
    expect(back).not.toContain('memballoon');
  });
});

test("the built-in aarch64 descriptors are Debian 12's qemu-efi-aarch64 files", () => {
  // /usr/share/qemu/firmware/40-edk2-aarch64-secure-enrolled.json of qemu-efi-aarch64 2022.11-6+deb12u2
  const text = `{
    "description": "UEFI firmware for aarch64, with Secure Boot, SB enabled, MS certs enrolled",
    "interface-types": [
        "uefi"
    ],
    "mapping": {
        "device": "flash",
        "executable": {
            "filename": "/usr/share/AAVMF/AAVMF_CODE.ms.fd",
            "format": "raw"
        },
        "nvram-template": {
            "filename": "/usr/share/AAVMF/AAVMF_VARS.ms.fd",
            "format": "raw"
        }
    },
    "targets": [
        {
            "architecture": "aarch64",
            "machines": [
                "virt-*"
            ]
        }
    ],
    "features": [
        "enrolled-keys",
        "secure-boot",
        "verbose-static"
    ],
    "tags": [

    ]
}`;
  const name = '40-edk2-aarch64-secure-enrolled.json';
  expect(parseFirmwareDescriptor(text, `/usr/share/qemu/firmware/${name}`)).toEqual(DEBIAN_OVMF.descriptors.find((d) => d.name === name));
});
