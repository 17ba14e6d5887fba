// Disk encryption and platform cases checked against the real libvirt 9.0 (virsh domxml-to-native
// through a libvirtd with a secret driver): LUKS that librbd opens (encrypt= on the rbd storage
// node), libvirt's checks of <encryption>, rbd monitors without a port, Arm's SMMUv3 as a virt
// machine property; and both directions of each.
import { createDecipheriv } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countingBytes } from '../src/families/secret.js';
import { domainFromArgvText, domainFromXml, domainToArgv, printArgvLine } from '../src/index.js';

const DOMAIN = (disks: string, os = "<type arch='x86_64' machine='pc'>hvm</type>", extra = '') => `<domain type='qemu'><name>e</name><memory>131072</memory><os>${os}</os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>${disks}<controller type='usb' model='none'/><memballoon model='none'/>${extra}</devices></domain>`;

const RBD = (encryption: string, format = 'raw', auth = '') => `<disk type='network' device='disk'><driver name='qemu' type='${format}'/>
  <source protocol='rbd' name='pool/image'><host name='mon1.example.org' port='6321'/>${auth}${encryption}</source><target dev='vda' bus='virtio'/></disk>`;
const FILE = (encryption: string, format: string) => `<disk type='file' device='disk'><driver name='qemu' type='${format}'/>
  <source file='/img/disk'>${encryption}</source><target dev='vda' bus='virtio'/></disk>`;
const ENC = (fmt: string, engine?: string) => `<encryption format='${fmt}'${engine ? ` engine='${engine}'` : ''}><secret type='passphrase' uuid='0a81f5b2-8403-7b23-c8d6-21ccc2f80c02'/></encryption>`;
const CEPHX = "<auth username='myname'><secret type='ceph' uuid='0a81f5b2-8403-7b23-c8d6-21ccc2f80c01'/></auth>";

const toNative = (xml: string, opts: Parameters<typeof domainToArgv>[1] = {}) => printArgvLine(domainToArgv(domainFromXml(xml).domain, opts).argv);
const options = (line: string, name: string) => line.split(` ${name} `).slice(1).map((s) => s.split(/ -[a-z]/)[0]!.replace(/^'|'$/g, ''));

describe('librbd encryption (libvirt 9.0 qemuBlockStorageSourceGetRBDProps)', () => {
  test("encrypt= on the rbd storage node, after server and before the cephx login; the format node stays raw", () => {
    const line = toNative(DOMAIN(RBD(ENC('luks2', 'librbd'), 'raw', CEPHX)));
    const [storage, format] = options(line, '-blockdev');
    // the real libvirt 9.0's nodes for this disk
    expect(storage).toBe(
      '{"driver":"rbd","pool":"pool","image":"image","server":[{"host":"mon1.example.org","port":"6321"}],"encrypt":{"format":"luks2","key-secret":"libvirt-1-format-encryption-secret0"},' +
        '"user":"myname","auth-client-required":["cephx","none"],"key-secret":"libvirt-1-storage-auth-secret0","node-name":"libvirt-1-storage","auto-read-only":true,"discard":"unmap"}',
    );
    expect(format).toBe('{"node-name":"libvirt-1-format","read-only":false,"driver":"raw","file":"libvirt-1-storage"}');
    // NB: the login's secret object comes before the passphrase's
    const ids = options(line, '-object').map((o) => /"id":"([^"]*)"/.exec(o)?.[1]);
    expect(ids.filter((id) => id?.startsWith('libvirt-'))).toEqual(['libvirt-1-storage-auth-secret0', 'libvirt-1-format-encryption-secret0']);
  });

  test('the passphrase comes from the secret store, encrypted with the counting key and IV', () => {
    const dir = mkdtempSync(join(tmpdir(), 'domxml-rbd-enc-'));
    try {
      writeFileSync(join(dir, '0a81f5b2-8403-7b23-c8d6-21ccc2f80c02.xml'), "<secret><uuid>0a81f5b2-8403-7b23-c8d6-21ccc2f80c02</uuid><usage type='volume'><volume>rbd-image</volume></usage></secret>");
      writeFileSync(join(dir, '0a81f5b2-8403-7b23-c8d6-21ccc2f80c02.base64'), Buffer.from('librbd-pass').toString('base64'));
      const { argv, diagnostics } = domainToArgv(domainFromXml(DOMAIN(RBD(ENC('luks', 'librbd'), 'qcow2'))).domain, { secretsDir: dir });
      const data = /"id":"libvirt-1-format-encryption-secret0","data":"([^"]*)"/.exec(printArgvLine(argv))![1]!;
      const d = createDecipheriv('aes-256-cbc', countingBytes(32), countingBytes(16));
      expect(Buffer.concat([d.update(Buffer.from(data, 'base64')), d.final()]).toString()).toBe('librbd-pass');
      expect(diagnostics.items.map((x) => x.code)).not.toContain('SecretUnavailable');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('from-native reads the storage node back as <encryption engine=librbd>, its format kept', () => {
    for (const [fmt, image] of [['luks', 'qcow2'], ['luks2', 'raw']] as const) {
      const { domain, diagnostics } = domainFromArgvText(toNative(DOMAIN(RBD(ENC(fmt, 'librbd'), image, CEPHX))));
      const disk = domain.devices.disks[0]!;
      expect([disk.driver?.type, disk.encryption]).toEqual([image, { format: fmt, engine: 'librbd', secretUsage: 'domxml-libvirt-1-format-encryption-secret0', inSource: true }]);
      expect(domain.qemuCommandline).toBeUndefined();
      expect(diagnostics.items.filter((x) => x.code === 'SecretNotRecovered').map((x) => x.message).join('\n')).toContain('LUKS passphrase');
    }
  });

  test('QEMU before 6.1 has no librbd encryption: an error, as libvirt gives', () => {
    expect(() => toNative(DOMAIN(RBD(ENC('luks', 'librbd'))), { qemuVersion: '6.0' })).toThrow(/librbd encryption with QEMU 6\.0/);
  });
});

describe("libvirt's <encryption> checks (qemuDomainValidateStorageSource, oracle-checked)", () => {
  test.each([
    ['librbd outside rbd', FILE(ENC('luks', 'librbd'), 'qcow2'), /engine='librbd'> outside an RBD backed disk/],
    ['luks2 with the qemu engine', FILE(ENC('luks2', 'qemu'), 'raw'), /luks2 with the qemu encryption engine/],
    ['luks2 with the qemu engine on rbd', RBD(ENC('luks2', 'qemu')), /luks2 with the qemu encryption engine/],
    ['luks in a vmdk image', FILE(ENC('luks', 'qemu'), 'vmdk'), /encryption of a 'vmdk' image/],
    ['luks in a qcow (v1) image', FILE(ENC('luks'), 'qcow'), /encryption of a 'qcow' image/],
    ['the old qcow scheme', FILE(ENC('qcow', 'qemu'), 'qcow2'), /old qcow\/qcow2 encryption/],
    ['the old qcow scheme under librbd', RBD(ENC('qcow', 'librbd')), /old qcow\/qcow2 encryption/],
    ['format default', FILE(ENC('default'), 'raw'), /old qcow\/qcow2 encryption/],
  ])('%s: an error', (_, disk, message) => {
    expect(() => toNative(DOMAIN(disk))).toThrow(message);
  });

  test('LUKS that QEMU opens in raw and qcow2 images, and librbd in any image format, pass', () => {
    expect(toNative(DOMAIN(FILE(ENC('luks', 'qemu'), 'raw')))).toContain('"driver":"luks","key-secret":"libvirt-1-format-encryption-secret0"');
    expect(toNative(DOMAIN(FILE(ENC('luks'), 'qcow2')))).toContain('"encrypt":{"format":"luks","key-secret":"libvirt-1-format-encryption-secret0"}');
    expect(toNative(DOMAIN(RBD(ENC('luks', 'librbd'), 'vmdk')))).toContain('"driver":"vmdk","file":"libvirt-1-storage"');
  });

  test('before -blockdev, an <encryption> left out is named in a warning', () => {
    const { diagnostics } = domainToArgv(domainFromXml(DOMAIN(FILE(ENC('luks'), 'qcow2'))).domain, { qemuVersion: '2.12' });
    expect(diagnostics.items.map((d) => d.message).join('\n')).toMatch(/<encryption> on vda cannot be expressed/);
  });
});

test('an rbd monitor without a port: libvirt 9.0 prints port 0, read back as no port', () => {
  const xml = DOMAIN("<disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='rbd' name='pool/a'><host name='mon1.example.org'/></source><target dev='vda' bus='virtio'/></disk>");
  const line = toNative(xml);
  expect(line).toContain('"server":[{"host":"mon1.example.org","port":"0"}]');
  const src = domainFromArgvText(line).domain.devices.disks[0]!.source;
  expect(src.type === 'network' && src.hosts).toEqual([{ name: 'mon1.example.org' }]);
});

describe("<iommu model='smmuv3'>: Arm virt's -machine iommu=smmuv3", () => {
  const ARM = "<type arch='aarch64' machine='virt'>hvm</type>";
  const arm = (os = ARM) => DOMAIN('', os, "<iommu model='smmuv3'/>").replace('qemu-system-x86_64', 'qemu-system-aarch64');

  test('a machine property after the irqchip ones and before dump-guest-core; no device', () => {
    const { argv, diagnostics } = domainToArgv(domainFromXml(arm()).domain);
    const line = printArgvLine(argv);
    // (libvirt 9.0's virsh prints the same machine line)
    expect(line).toMatch(/-machine virt-7\.2,usb=off,gic-version=2,iommu=smmuv3,dump-guest-core=off/);
    expect(line).not.toContain('smmuv3"');
    expect(diagnostics.items).toEqual([]);
  });

  test('read back from -machine', () => {
    const { domain, diagnostics } = domainFromArgvText(toNative(arm()));
    expect(domain.devices.iommu?.model).toBe('smmuv3');
    expect(diagnostics.items.filter((d) => d.message.includes('iommu'))).toEqual([]);
  });

  test('outside an Arm virt machine, or before QEMU 3.0: an error', () => {
    expect(() => toNative(DOMAIN('', "<type arch='x86_64' machine='q35'>hvm</type>", "<iommu model='smmuv3'/>"))).toThrow(/'smmuv3' outside an Arm virt machine/);
    expect(() => toNative(arm("<type arch='aarch64' machine='vexpress-a15'>hvm</type>"))).toThrow(/'smmuv3' outside an Arm virt machine/);
    expect(() => toNative(arm(), { qemuVersion: '2.12' })).toThrow(/'smmuv3' with QEMU 2\.12/);
  });
});

describe('gluster before -blockdev (libvirt 5.x qemuBuildDriveSourceStr)', () => {
  const GLUSTER = (hosts: string) => DOMAIN(`<disk type='network' device='disk'><driver name='qemu' type='qcow2'/><source protocol='gluster' name='Volume3/Image.qcow2'>${hosts}</source><target dev='vda' bus='virtio'/></disk>`);
  const TWO = "<host name='example.org' port='6000'/><host transport='unix' socket='/path/to/sock'/>";

  test('several servers: file.* keys (legacy tcp/socket spellings), file.debug last; read back', () => {
    const line = toNative(GLUSTER(TWO), { qemuVersion: '4.0' });
    expect(line).toContain(
      '-drive file.driver=gluster,file.volume=Volume3,file.path=Image.qcow2,file.server.0.type=tcp,file.server.0.host=example.org,file.server.0.port=6000,' +
        'file.server.1.type=unix,file.server.1.socket=/path/to/sock,file.debug=4,format=qcow2,if=none,id=drive-virtio-disk0',
    );
    const { domain, diagnostics } = domainFromArgvText(line);
    const src = domain.devices.disks[0]!.source;
    expect(src.type === 'network' && [src.protocol, src.name, src.hosts]).toEqual(['gluster', 'Volume3/Image.qcow2', [{ name: 'example.org', port: 6000 }, { transport: 'unix', socket: '/path/to/sock' }]]);
    expect(diagnostics.items).toEqual([]);
  });

  test('QEMU before 2.8: one server URI without file.debug; several cannot be written', () => {
    expect(toNative(GLUSTER("<host name='example.org'/>"), { qemuVersion: '2.5' })).toContain('-drive file=gluster://example.org:24007/Volume3/Image.qcow2,format=qcow2,');
    expect(() => toNative(GLUSTER(TWO), { qemuVersion: '2.5' })).toThrow(/gluster disk vda with 2 servers cannot be written for QEMU 2\.5/);
  });
});
