// Disks from command lines: drive filenames (paths, nbd:/rbd:/sheepdog: strings, URLs), the
// legacy -drive/-hdX options libvirt's former parser read, and -blockdev node pairs.
import { sourceFromFilename } from '../src/families/disk-source-argv.js';
import { domainFromArgvText } from '../src/ir/from-argv.js';

const disks = (args: string) => domainFromArgvText(`/usr/bin/qemu-system-x86_64 -M pc ${args}`).domain.devices.disks;

describe('drive filenames', () => {
  test.each([
    ['/dev/sda', { type: 'block', dev: '/dev/sda' }],
    ['/var/img.qcow2', { type: 'file', file: '/var/img.qcow2' }],
    ['nbd:example.org:6000:exportname=bar', { type: 'network', protocol: 'nbd', name: 'bar', hosts: [{ name: 'example.org', port: 6000 }] }],
    ['nbd:unix:/var/run/sock', { type: 'network', protocol: 'nbd', hosts: [{ transport: 'unix', socket: '/var/run/sock' }] }],
    ['nbd://[::1]:6000/bar', { type: 'network', protocol: 'nbd', name: 'bar', hosts: [{ name: '::1', port: 6000 }] }],
    ['sheepdog:example.org:6000:image', { type: 'network', protocol: 'sheepdog', name: 'image', hosts: [{ name: 'example.org', port: 6000 }] }],
    ['iscsi://example.org:6000/iqn.1992-01.com.example%3Astorage', { type: 'network', protocol: 'iscsi', name: 'iqn.1992-01.com.example:storage/0', hosts: [{ name: 'example.org', port: 6000 }] }],
    ['gluster+unix:///vol/img?socket=/s', { type: 'network', protocol: 'gluster', name: 'vol/img', hosts: [{ transport: 'unix', socket: '/s' }] }],
  ])('%s', (path, source) => {
    expect(sourceFromFilename(path).source).toEqual(source);
  });

  test('rbd monitors, snapshot, config and cephx user', () => {
    const r = sourceFromFilename('rbd:pool/image@snap:id=admin:mon_host=a.example\\:6789\\;[\\:\\:1]\\:6790:conf=/etc/c.conf');
    expect(r.source).toEqual({
      type: 'network', protocol: 'rbd', name: 'pool/image', snapshot: 'snap', config: '/etc/c.conf',
      hosts: [{ name: 'a.example', port: 6789 }, { name: '::1', port: 6790 }],
      auth: { username: 'admin', secretType: 'ceph' },
    });
  });

  test('iscsi user becomes <auth>', () => {
    expect(sourceFromFilename('iscsi://me:secret@h:3260/iqn.x/1').auth).toEqual({ username: 'me', secretType: 'iscsi' });
  });
});

describe('legacy -drive', () => {
  test('bus/unit name the target; virtio disks count up; cdrom is read-only', () => {
    const d = disks('-drive file=/a,if=ide,bus=1,unit=0,media=cdrom -drive file=/b,if=virtio -drive file=/c,if=virtio -drive file=/d,if=scsi,bus=0,unit=3');
    expect(d.map((x) => [x.target.dev, x.target.bus, x.device, x.readonly ?? false])).toEqual([
      ['hdc', 'ide', 'cdrom', true], ['vda', 'virtio', 'disk', false], ['vdb', 'virtio', 'disk', false], ['sdd', 'scsi', 'disk', false],
    ]);
  });

  test('cache, error policies and aio', () => {
    const [d] = disks('-drive file=/a,if=ide,index=0,format=qcow2,cache=off,werror=enospc,rerror=stop,aio=native');
    expect(d!.driver).toEqual({ name: 'qemu', type: 'qcow2', cache: 'none', errorPolicy: 'enospace', rerrorPolicy: 'stop', io: 'native' });
  });

  test('every local disk gets the qemu driver and raw format', () => {
    const [d] = disks('-hda /dev/vg/lv');
    expect(d!.driver).toEqual({ name: 'qemu', type: 'raw' });
  });
});

describe('-blockdev', () => {
  test('format over storage node, frontend placement and cache mode', () => {
    const [d] = disks(`-blockdev '{"driver":"file","filename":"/i.qcow2","node-name":"s","cache":{"direct":true,"no-flush":false}}' `
      + `-blockdev '{"node-name":"f","read-only":false,"cache":{"direct":true,"no-flush":false},"driver":"qcow2","file":"s"}' `
      + `-device '{"driver":"virtio-blk-pci","bus":"pci.0","addr":"0x4","drive":"f","id":"virtio-disk0","bootindex":2,"write-cache":"on"}'`);
    expect(d).toMatchObject({
      source: { type: 'file', file: '/i.qcow2' },
      driver: { type: 'qcow2', cache: 'none' },
      target: { dev: 'vda', bus: 'virtio' },
      bootOrder: 2,
      address: { type: 'pci', bus: 0, slot: 4, function: 0 },
    });
  });

  test("bootindex 1 on the first disk reads back as <boot dev='hd'/>", () => {
    const dom = domainFromArgvText(`/usr/bin/qemu-system-x86_64 -M pc -blockdev '{"driver":"file","filename":"/i","node-name":"s"}' `
      + `-device '{"driver":"ide-hd","bus":"ide.0","unit":0,"drive":"s","id":"ide0-0-0","bootindex":1}'`).domain;
    expect(dom.os.boot).toEqual(['hd']);
    expect(dom.devices.disks[0]!.bootOrder).toBeUndefined();
  });
});
