// Disks as libvirt 9.0 puts them on -blockdev: backing chains, storage slices, the copy-on-read
// filter, SCSI reservation helpers and frontend properties, in both directions.
import { domainFromArgvText } from '../src/ir/from-argv.js';
import { domainFromXml } from '../src/ir/from-xml.js';
import { domainToArgv } from '../src/emit/to-argv.js';
import { argvWords, printArgvLine } from '../src/emit/argv.js';

const domain = (devices: string) => `<domain type='qemu'><name>t</name><memory>65536</memory><os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>${devices}<memballoon model='none'/></devices></domain>`;

/** The JSON values of each -blockdev/-object/-device option, in order. */
function nodes(xml: string): Record<string, unknown>[] {
  const words = argvWords(domainToArgv(domainFromXml(domain(xml), 't.xml').domain, { qemuVersion: '7.2' }).argv);
  const out: Record<string, unknown>[] = [];
  words.forEach((w, i) => {
    if ((w === '-blockdev' || w === '-device' || w === '-object') && words[i + 1]!.startsWith('{')) out.push(JSON.parse(words[i + 1]!) as Record<string, unknown>);
  });
  return out.filter((n) => n['node-name'] !== undefined || String(n.driver ?? '').includes('blk') || n['qom-type'] === 'pr-manager-helper');
}

const disks = (args: string) => domainFromArgvText(`/usr/bin/qemu-system-x86_64 -machine pc ${args}`).domain.devices.disks;
const bd = (o: object) => `-blockdev '${JSON.stringify(o)}'`;
const dev = (o: object) => `-device '${JSON.stringify(o)}'`;

describe('backing chains', () => {
  const xml = `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/top.qcow2'/>
      <backingStore type='block'><format type='qcow2'/><source dev='/dev/vg/mid'/>
        <backingStore type='file'><format type='raw'/><source file='/base.img'/><backingStore/></backingStore>
      </backingStore><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/other.qcow2'/>
      <backingStore type='file'><format type='qcow2'/><source file='/tmpl.qcow2'/><backingStore/></backingStore>
      <target dev='vdb' bus='virtio'/></disk>`;

  test('nodes are numbered from the last disk, top image first, and emitted bottom up', () => {
    const n = nodes(xml).map((x) => [x['node-name'] ?? x.driver, x.backing, x['read-only']]);
    expect(n).toEqual([
      ['libvirt-5-storage', undefined, undefined], ['libvirt-5-format', undefined, true], // raw base: no backing key
      ['libvirt-4-storage', undefined, undefined], ['libvirt-4-format', 'libvirt-5-format', true],
      ['libvirt-3-storage', undefined, undefined], ['libvirt-3-format', 'libvirt-4-format', false],
      ['virtio-blk-pci', undefined, undefined],
      ['libvirt-2-storage', undefined, undefined], ['libvirt-2-format', null, true], // <backingStore/>: backing null
      ['libvirt-1-storage', undefined, undefined], ['libvirt-1-format', 'libvirt-2-format', false],
      ['virtio-blk-pci', undefined, undefined],
    ]);
  });

  test('a qcow2 without <backingStore> leaves the backing to QEMU', () => {
    const n = nodes(`<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/a.qcow2'/><target dev='vda' bus='virtio'/></disk>`);
    expect(n[1]).not.toHaveProperty('backing');
  });

  test('the node graph reads back as the chain', () => {
    const [d] = disks([
      bd({ driver: 'file', filename: '/base.img', 'node-name': 'libvirt-3-storage' }),
      bd({ 'node-name': 'libvirt-3-format', 'read-only': true, driver: 'raw', file: 'libvirt-3-storage' }),
      bd({ driver: 'host_device', filename: '/dev/vg/mid', 'node-name': 'libvirt-2-storage' }),
      bd({ 'node-name': 'libvirt-2-format', 'read-only': true, driver: 'qcow2', file: 'libvirt-2-storage', backing: 'libvirt-3-format' }),
      bd({ driver: 'file', filename: '/top.qcow2', 'node-name': 'libvirt-1-storage' }),
      bd({ 'node-name': 'libvirt-1-format', 'read-only': false, driver: 'qcow2', file: 'libvirt-1-storage', backing: 'libvirt-2-format' }),
      dev({ driver: 'virtio-blk-pci', drive: 'libvirt-1-format', id: 'virtio-disk0' }),
    ].join(' '));
    expect(d!.source).toEqual({ type: 'file', file: '/top.qcow2' });
    expect(d!.backingStore).toEqual({
      source: { type: 'block', dev: '/dev/vg/mid' }, format: 'qcow2',
      backingStore: { source: { type: 'file', file: '/base.img' }, format: 'raw' },
    });
  });

  test('backing null reads back as <backingStore/>', () => {
    const [d] = disks([
      bd({ driver: 'file', filename: '/a.qcow2', 'node-name': 's' }),
      bd({ 'node-name': 'f', driver: 'qcow2', file: 's', backing: null }),
      dev({ driver: 'virtio-blk-pci', drive: 'f', id: 'virtio-disk0' }),
    ].join(' '));
    expect(d!.backingStore).toBeNull();
  });
});

describe('storage slices', () => {
  test('a raw image takes offset/size on its format node', () => {
    const n = nodes(`<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/r.img'><slices><slice type='storage' offset='512' size='1024'/></slices></source><target dev='vda' bus='virtio'/></disk>`);
    expect(n[1]).toMatchObject({ 'node-name': 'libvirt-1-format', driver: 'raw', offset: 512, size: 1024, file: 'libvirt-1-storage' });
  });

  test('under qcow2 a raw slice node sits between storage and format', () => {
    const n = nodes(`<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/q.img'><slices><slice type='storage' offset='4096' size='8192'/></slices></source><target dev='vda' bus='virtio'/></disk>`);
    expect(n.map((x) => x['node-name'])).toEqual(['libvirt-1-storage', 'libvirt-1-slice-sto', 'libvirt-1-format', undefined]);
    expect(n[1]).toMatchObject({ driver: 'raw', offset: 4096, size: 8192, file: 'libvirt-1-storage' });
    expect(n[2]).toMatchObject({ driver: 'qcow2', file: 'libvirt-1-slice-sto' });
  });

  test('both forms read back as <slices>', () => {
    const d = disks([
      bd({ driver: 'file', filename: '/r.img', 'node-name': 'a-storage' }),
      bd({ 'node-name': 'a-format', driver: 'raw', offset: 512, size: 1024, file: 'a-storage' }),
      dev({ driver: 'virtio-blk-pci', drive: 'a-format', id: 'virtio-disk0' }),
      bd({ driver: 'file', filename: '/q.img', 'node-name': 'b-storage' }),
      bd({ driver: 'raw', 'node-name': 'b-slice', offset: 4096, size: 8192, file: 'b-storage' }),
      bd({ 'node-name': 'b-format', driver: 'qcow2', file: 'b-slice' }),
      dev({ driver: 'virtio-blk-pci', drive: 'b-format', id: 'virtio-disk1' }),
    ].join(' '));
    expect(d.map((x) => [x.driver?.type, x.slice])).toEqual([['raw', { offset: 512, size: 1024 }], ['qcow2', { offset: 4096, size: 8192 }]]);
    expect(d[1]!.source).toEqual({ type: 'file', file: '/q.img' });
  });
});

describe('filters and helpers', () => {
  test('copy_on_read puts a libvirt-CoR-<target> filter between format and frontend, and reads back', () => {
    const n = nodes(`<disk type='file' device='disk'><driver name='qemu' type='qcow2' copy_on_read='on'/><source file='/a.qcow2'/><target dev='vda' bus='virtio'/></disk>`);
    expect(n[2]).toEqual({ driver: 'copy-on-read', 'node-name': 'libvirt-CoR-vda', file: 'libvirt-1-format', discard: 'unmap' });
    expect(n[3]).toMatchObject({ drive: 'libvirt-CoR-vda' });
    const [d] = disks([
      bd({ driver: 'file', filename: '/a.qcow2', 'node-name': 's' }), bd({ 'node-name': 'f', driver: 'qcow2', file: 's' }),
      bd({ driver: 'copy-on-read', 'node-name': 'c', file: 'f' }), dev({ driver: 'virtio-blk-pci', drive: 'c', id: 'virtio-disk0' }),
    ].join(' '));
    expect(d!.driver).toMatchObject({ type: 'qcow2', copyOnRead: true });
  });

  test('reservations: one managed helper object, or one per disk at the given socket', () => {
    const xml = `<controller type='scsi' index='0' model='virtio-scsi'/>
      <disk type='block' device='lun'><driver name='qemu' type='raw'/><source dev='/dev/a'><reservations managed='yes'/></source><target dev='sda' bus='scsi'/></disk>
      <disk type='block' device='lun'><driver name='qemu' type='raw'/><source dev='/dev/b'><reservations managed='no'><source type='unix' path='/run/pr.sock' mode='client'/></reservations></source><target dev='sdb' bus='scsi'/></disk>`;
    const { argv } = domainToArgv(domainFromXml(domain(xml), 't.xml').domain, { qemuVersion: '7.2', stateDir: '/run/d' });
    const words = argvWords(argv);
    // NB: the managed helper comes right after the master key, before -machine
    const managed = words.indexOf('{"qom-type":"pr-manager-helper","id":"pr-helper0","path":"/run/d/pr-helper0.sock"}');
    expect(words[managed - 2]).toContain('masterKey0');
    expect(words[managed + 1]).toBe('-machine');
    const n = nodes(xml);
    expect(n.filter((x) => x['pr-manager'] !== undefined).map((x) => x['pr-manager'])).toEqual(['pr-helper0', 'pr-helper-libvirt-1-storage']);
    expect(n).toContainEqual({ 'qom-type': 'pr-manager-helper', id: 'pr-helper-libvirt-1-storage', path: '/run/pr.sock' });
    const back = domainFromArgvText(printArgvLine(argv)).domain.devices.disks;
    expect(back.map((d) => d.reservations)).toEqual([{ managed: true }, { managed: false, path: '/run/pr.sock', mode: 'client' }]);
  });
});

describe('frontend properties read back', () => {
  test('virtio-blk scsi=on is a LUN; ioeventfd, virtio options, SCSI VPD, USB removable, acpi-index', () => {
    const d = disks([
      bd({ driver: 'host_device', filename: '/dev/sdx', 'node-name': 'a-s' }), bd({ 'node-name': 'a-f', driver: 'raw', file: 'a-s' }),
      dev({ driver: 'virtio-blk-pci', scsi: true, ioeventfd: true, iommu_platform: true, 'acpi-index': 7, drive: 'a-f', id: 'virtio-disk0' }),
      dev({ driver: 'virtio-scsi-pci', id: 'scsi0' }),
      bd({ driver: 'file', filename: '/b', 'node-name': 'b-s' }), bd({ 'node-name': 'b-f', driver: 'raw', file: 'b-s' }),
      dev({ driver: 'scsi-hd', bus: 'scsi0.0', channel: 0, 'scsi-id': 0, lun: 0, drive: 'b-f', id: 'scsi0-0-0-0', vendor: 'ACME', product: 'Disk' }),
      bd({ driver: 'file', filename: '/c', 'node-name': 'c-s' }), bd({ 'node-name': 'c-f', driver: 'raw', file: 'c-s' }),
      dev({ driver: 'usb-storage', drive: 'c-f', id: 'usb-disk0', removable: true }),
    ].join(' '));
    expect(d[0]).toMatchObject({ device: 'lun', driver: { name: 'qemu', type: 'raw', ioeventfd: true, iommu: true }, acpiIndex: 7 });
    expect(d[1]).toMatchObject({ vendor: 'ACME', product: 'Disk' });
    expect(d[2]!.target).toMatchObject({ bus: 'usb', removable: true });
  });

  test('vhost-user-blk on its socket chardev is a vhostuser disk', () => {
    const [d] = disks(`-chardev socket,id=chr-vu-virtio-disk0,path=/tmp/vu.sock,reconnect=10 ${dev({ driver: 'vhost-user-blk-pci', bus: 'pci.0', addr: '0x3', chardev: 'chr-vu-virtio-disk0', id: 'virtio-disk0', 'num-queues': 2 })}`);
    expect(d).toMatchObject({ source: { type: 'vhostuser' }, driver: { type: 'raw', queues: 2 }, target: { dev: 'vda', bus: 'virtio' } });
    const src = d!.source.type === 'vhostuser' ? d!.source.element : undefined;
    expect(src?.attrs).toEqual({ type: 'unix', path: '/tmp/vu.sock' });
    expect(src?.children[0]).toMatchObject({ name: 'reconnect', attrs: { enabled: 'yes', timeout: '10' } });
  });
});
