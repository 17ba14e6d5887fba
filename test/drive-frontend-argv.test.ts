// -drive if=none + -device disks read back (QEMU before -blockdev): the frontend -device's
// properties mean what they mean with -blockdev, and the -drive's file= strings libvirt wrote.
import { sourceFromFilename } from '../src/families/disk-source-argv.js';
import { domainFromArgvText } from '../src/ir/from-argv.js';
import { domainFromXml, domainToArgv } from '../src/index.js';

const read = (args: string) => domainFromArgvText(`/usr/bin/qemu-system-x86_64 -M pc ${args}`, undefined, { minimal: true });
const disks = (args: string) => read(args).domain.devices.disks;

describe('-drive + -device frontend properties', () => {
  test('virtio-blk: ioeventfd, queues, iothread, packed, error policy, acpi-index, user alias', () => {
    const [d] = disks(
      '-object iothread,id=iothread1 -drive file=/a.img,format=raw,if=none,id=drive-ua-root ' +
        '-device virtio-blk-pci,ioeventfd=on,num-queues=4,queue-size=256,iothread=iothread1,packed=on,werror=stop,rerror=ignore,acpi-index=7,drive=drive-ua-root,id=ua-root,bus=pci.0,addr=0x5',
    );
    expect(d!.driver).toEqual({ name: 'qemu', type: 'raw', ioeventfd: true, queues: 4, queueSize: 256, iothread: 1, packed: true, errorPolicy: 'stop', rerrorPolicy: 'ignore' });
    expect(d!.acpiIndex).toBe(7);
    expect(d!.alias).toBe('ua-root');
  });

  test('scsi-hd: wwn, vendor, product, share-rw; device_id and write-cache as libvirt derives them are implied', () => {
    const r = read(
      '-drive file=/b.img,format=raw,if=none,id=drive-scsi0-0-0-0,cache=none ' +
        '-device scsi-hd,bus=scsi0.0,channel=0,scsi-id=0,lun=0,device_id=drive-scsi0-0-0-0,drive=drive-scsi0-0-0-0,id=scsi0-0-0-0,share-rw=on,wwn=0x5000c50015ea71ac,vendor=SEAGATE,product=ST3146707LC,write-cache=on',
    );
    const [d] = r.domain.devices.disks;
    expect([d!.wwn, d!.vendor, d!.product, d!.shareable, d!.driver?.cache]).toEqual(['5000c50015ea71ac', 'SEAGATE', 'ST3146707LC', true, 'none']);
    expect(r.diagnostics.items.map((x) => x.message).filter((m) => m.includes('property'))).toEqual([]);
  });

  test('scsi-block is a LUN; usb-storage removable; the floppy unit names fdb', () => {
    const d = disks(
      '-drive file=/dev/sdb,format=raw,if=none,id=drive-scsi0-0-0-1 -device scsi-block,bus=scsi0.0,channel=0,scsi-id=0,lun=1,drive=drive-scsi0-0-0-1,id=scsi0-0-0-1 ' +
        '-drive file=/u.img,format=raw,if=none,id=drive-usb-disk0 -device usb-storage,drive=drive-usb-disk0,id=usb-disk0,removable=on ' +
        '-drive file=/f.img,format=raw,if=none,id=drive-fdc0-0-1 -device floppy,unit=1,drive=drive-fdc0-0-1,id=fdc0-0-1',
    );
    expect(d.map((x) => [x.device, x.target.dev, x.target.removable ?? false])).toEqual([['lun', 'sda', false], ['disk', 'sdb', true], ['floppy', 'fdb', false]]);
  });

  test("the device's error policy wins over the -drive's", () => {
    const [d] = disks('-drive file=/a.img,format=raw,if=none,id=drive-virtio-disk0,werror=report -device virtio-blk-pci,werror=enospc,drive=drive-virtio-disk0,id=virtio-disk0');
    expect(d!.driver?.errorPolicy).toBe('enospace');
  });
});

describe('controllers named by the command line', () => {
  const q35 = (args: string) => domainFromArgvText(`/usr/bin/qemu-system-x86_64 -M q35 ${args}`, undefined, { minimal: true }).domain;
  test("an added AHCI (ich9-ahci, id=sata as OSX-KVM names it) is SATA controller 1 on q35; its disks' ports are their units", () => {
    const d = q35('-device ich9-ahci,id=sata -drive id=a,if=none,file=/a.img,format=raw -device ide-hd,bus=sata.3,drive=a -blockdev \'{"driver":"file","filename":"/b.img","node-name":"b"}\' -device ide-hd,bus=sata.4,drive=b -drive id=c,if=none,file=/c.img,format=raw -device ide-hd,bus=ide.1,drive=c');
    expect(d.devices.controllers.filter((c) => c.type === 'sata').map((c) => c.index)).toEqual([1]);
    expect(d.devices.disks.map((x) => x.address)).toEqual([
      { type: 'drive', controller: 1, bus: 0, target: 0, unit: 3 },
      // q35's own AHCI (QEMU's ide.N) is controller 0
      { type: 'drive', controller: 0, bus: 0, target: 0, unit: 1 },
      // (the -blockdev disk is read after the -drive ones)
      { type: 'drive', controller: 1, bus: 0, target: 0, unit: 4 },
    ]);
  });
  test('a drive behind a frontend libvirt 9.0 has no disk bus for (nvme) stays on the command line, -drive and -device', () => {
    const d = q35('-drive file=/n.img,format=raw,if=none,id=nvme0 -device nvme,drive=nvme0,serial=deadbeef');
    expect(d.devices.disks).toEqual([]);
    expect(d.qemuCommandline?.args).toEqual(['-drive', 'file=/n.img,format=raw,if=none,id=nvme0', '-device', 'nvme,drive=nvme0,serial=deadbeef']);
  });
  test('a SCSI controller with an id of its own', () => {
    const d = q35('-device virtio-scsi-pci,id=scsi0 -device virtio-scsi-pci,id=hba -drive id=a,if=none,file=/a.img,format=raw -device scsi-hd,bus=hba.0,scsi-id=2,drive=a');
    expect(d.devices.disks[0]?.address).toEqual({ type: 'drive', controller: 1, bus: 0, target: 0, unit: 2 });
  });
});

describe('-drive file= strings', () => {
  test('rbd options libvirt did not generate belong to the name; key= is the secret', () => {
    const r = sourceFromFilename('rbd:pool/image:rbd_cache=1:rbd_cache_size=64@snap:id=admin:key=c2VjcmV0:auth_supported=cephx\\;none:mon_host=m1\\:6321');
    expect(r.source).toMatchObject({ protocol: 'rbd', name: 'pool/image:rbd_cache=1:rbd_cache_size=64', snapshot: 'snap', hosts: [{ name: 'm1', port: 6321 }] });
  });

  test('fat: (fat:floppy:) names a directory', () => {
    expect(sourceFromFilename('fat:floppy:/var/somefiles').source).toEqual({ type: 'dir', dir: '/var/somefiles' });
  });

  test('a directory floppy round-trips through -drive as vvfat', () => {
    const xml = `<domain type='qemu'><name>d</name><memory>65536</memory><os><type arch='x86_64' machine='pc'>hvm</type></os><devices>
      <disk type='dir' device='floppy'><driver name='qemu' type='fat'/><source dir='/var/somefiles'/><target dev='fda' bus='fdc'/><readonly/></disk>
    </devices></domain>`;
    const argv = domainToArgv(domainFromXml(xml, 'd.xml').domain, { qemuVersion: '2.12' }).argv.options;
    const drive = argv.find((o) => o.name === '-drive');
    expect(drive?.value).toMatchObject({ kind: 'props', props: { file: 'fat:floppy:/var/somefiles' } });
    expect(drive?.value.kind === 'props' && 'format' in drive.value.props).toBe(false);
  });
});

// found by the fuzz: wwn=1e308 reached BigInt() and threw a SyntaxError
test('a WWN that is not a 64-bit number is a located error', () => {
  for (const wwn of ['1e308', '18446744073709551616', 'abc']) {
    expect(() => disks(`-drive file=/b.img,format=raw,if=none,id=d0 -device scsi-hd,drive=d0,id=s0,wwn=${wwn}`)).toThrow(/wwn=.*64-bit unsigned/);
  }
  expect(disks('-drive file=/b.img,format=raw,if=none,id=d0 -device scsi-hd,drive=d0,id=s0,wwn=18446744073709551615')[0]!.wwn).toBe('ffffffffffffffff');
});
