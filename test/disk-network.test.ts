// Network disk sources both ways: -blockdev storage nodes (QEMU 7.2) and -drive URIs (before
// -blockdev), each read back to the <source> it came from.
import { networkDriveFilename, sourceFromFilename } from '../src/families/disk-source-argv.js';
import type { DiskSource } from '../src/ir/domain.js';
import { domainFromArgvText, domainFromXml, domainToArgv, domainToXml, printArgvLine } from '../src/index.js';

type Net = Extract<DiskSource, { type: 'network' }>;

const domain = (source: string, type = 'raw') => `<domain type='qemu'><name>n</name><memory>65536</memory><os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator><disk type='network' device='disk'><driver name='qemu' type='${type}'/>${source}
  <target dev='vda' bus='virtio'/></disk><controller type='usb' model='none'/><memballoon model='none'/></devices></domain>`;

const storageNode = (xml: string, qemuVersion = '7.2') => {
  const line = printArgvLine(domainToArgv(domainFromXml(xml).domain, { qemuVersion }).argv);
  return { line, node: /-blockdev '(\{"driver":"(?!raw|qcow2)[^']*)'/.exec(line)?.[1] };
};

describe('-blockdev storage nodes', () => {
  test.each([
    [
      'nfs with a numeric identity',
      "<source protocol='nfs' name='/export/img'><host name='nfs.example'/><identity user='+107' group='+108'/></source>",
      '{"driver":"nfs","server":{"host":"nfs.example","type":"inet"},"path":"/export/img","user":107,"group":108,"node-name":"libvirt-1-storage","auto-read-only":true,"discard":"unmap"}',
    ],
    [
      'iscsi target and LUN, initiator',
      "<source protocol='iscsi' name='iqn.2024-01.org.example:t/3'><host name='h.example' port='3260'/><initiator><iqn name='iqn.2024-01.org.example:me'/></initiator></source>",
      '{"driver":"iscsi","portal":"h.example:3260","target":"iqn.2024-01.org.example:t","lun":3,"transport":"tcp","initiator-name":"iqn.2024-01.org.example:me","node-name":"libvirt-1-storage","auto-read-only":true,"discard":"unmap"}',
    ],
    [
      'rbd monitors, snapshot and config',
      "<source protocol='rbd' name='pool/img'><host name='m1' port='6789'/><host name='::1' port='6790'/><snapshot name='s'/><config file='/etc/ceph.conf'/></source>",
      '{"driver":"rbd","pool":"pool","image":"img","snapshot":"s","conf":"/etc/ceph.conf","server":[{"host":"m1","port":"6789"},{"host":"::1","port":"6790"}],"node-name":"libvirt-1-storage","auto-read-only":true,"discard":"unmap"}',
    ],
    [
      'https with the default port, query, sslverify, timeout, readahead',
      "<source protocol='https' name='a/b.img' query='x=1'><host name='w.example'/><ssl verify='no'/><readahead size='4096'/><timeout seconds='9'/></source>",
      '{"driver":"https","url":"https://w.example:443/a/b.img?x=1","sslverify":false,"timeout":9,"readahead":4096,"node-name":"libvirt-1-storage","auto-read-only":true,"discard":"unmap"}',
    ],
  ])('%s', (_, source, expected) => {
    const xml = domain(source);
    const { line, node } = storageNode(xml);
    expect(node).toBe(expected);
    // read back: the same <source>
    const back = domainFromArgvText(line).domain.devices.disks[0]!.source;
    expect(back).toEqual(domainFromXml(xml).domain.devices.disks[0]!.source);
  });

  test('nbd with TLS: credentials object from qemu.conf, tls=yes read back', () => {
    const xml = domain("<source protocol='nbd' name='e' tls='yes'><host name='n.example' port='10809'/></source>");
    const { line, node } = storageNode(xml);
    expect(line).toContain('-object \'{"qom-type":"tls-creds-x509","id":"objlibvirt-1-storage_tls0","dir":"/etc/pki/qemu","endpoint":"client","verify-peer":true}\'');
    expect(node).toContain('"tls-creds":"objlibvirt-1-storage_tls0"');
    const { domain: back } = domainFromArgvText(line);
    expect(back.devices.disks[0]!.source).toMatchObject({ protocol: 'nbd', name: 'e', tls: true });
    expect(back.qemuCommandline).toBeUndefined();
  });

  test('the XML keeps every network <source> child', () => {
    const src = "<source protocol='http' name='i.img' query='q=1'><host name='h' port='81'/><ssl verify='yes'/><cookies><cookie name='c'>v</cookie></cookies><readahead size='1'/><timeout seconds='2'/></source>";
    const out = domainToXml(domainFromXml(domain(src)).domain);
    for (const part of ["query='q=1'", "<ssl verify='yes'/>", "<cookie name='c'>v</cookie>", "<readahead size='1'/>", "<timeout seconds='2'/>"]) expect(out).toContain(part);
  });
});

describe('-drive URIs (before -blockdev)', () => {
  test.each<[string, Net]>([
    ['nbd:h:10809:exportname=e', { type: 'network', protocol: 'nbd', name: 'e', hosts: [{ name: 'h', port: 10809 }] }],
    ['nbd:unix:/run/s:exportname=e', { type: 'network', protocol: 'nbd', name: 'e', hosts: [{ transport: 'unix', socket: '/run/s' }] }],
    ['nbd://[::1]:6000/e', { type: 'network', protocol: 'nbd', name: 'e', hosts: [{ name: '::1', port: 6000 }] }],
    ['rbd:pool/img@s:auth_supported=none:mon_host=m1\\:6789\\;[\\:\\:1]\\:6790:conf=/c', { type: 'network', protocol: 'rbd', name: 'pool/img', snapshot: 's', config: '/c', hosts: [{ name: 'm1', port: 6789 }, { name: '::1', port: 6790 }] }],
    ['iscsi://h:3260/iqn.x%3At/1', { type: 'network', protocol: 'iscsi', name: 'iqn.x:t/1', hosts: [{ name: 'h', port: 3260 }] }],
    ['gluster+unix:///vol/img?socket=/s', { type: 'network', protocol: 'gluster', name: 'vol/img', hosts: [{ transport: 'unix', socket: '/s' }] }],
    ['https://w:8443/a/b.iso?t=1', { type: 'network', protocol: 'https', name: 'a/b.iso', query: 't=1', hosts: [{ name: 'w', port: 8443 }] }],
  ])('%s', (uri, source) => {
    expect(networkDriveFilename(source, undefined)).toBe(uri);
    expect(sourceFromFilename(uri).source).toEqual(source);
  });

  test('a user name goes into the URI; the password cannot, with a warning', () => {
    const xml = domain("<source protocol='iscsi' name='iqn.x:t/1'><host name='h' port='3260'/><auth username='me'><secret type='iscsi' usage='u'/></auth></source>");
    const { argv, diagnostics } = domainToArgv(domainFromXml(xml).domain, { qemuVersion: '2.0' });
    expect(printArgvLine(argv)).toContain('file=iscsi://me@h:3260/iqn.x%3At/1,');
    expect(diagnostics.items.map((d) => d.code)).toContain('UnsupportedForTarget');
  });
});
