// Host devices, redirected USB devices, smartcards, hubs and the USB ports libvirt gives them:
// XML round trip, argv both ways, define-time defaults.
import { argvWords } from '../src/emit/argv.js';
import { domainToArgv } from '../src/emit/to-argv.js';
import { domainFromArgvText } from '../src/ir/from-argv.js';
import { domainFromXml } from '../src/ir/from-xml.js';
import { domainToXml } from '../src/ir/to-xml.js';

const xml = (devices: string, machine = 'pc') =>
  `<domain type='qemu'><name>g</name><memory>131072</memory>
    <os><type arch='x86_64' machine='${machine}'>hvm</type></os>
    <devices><emulator>/usr/bin/qemu-system-x86_64</emulator><memballoon model='none'/>${devices}</devices></domain>`;

const run = (text: string, opts: Parameters<typeof domainToArgv>[1] = {}) => {
  const { argv, diagnostics } = domainToArgv(domainFromXml(text).domain, opts);
  return { words: argvWords({ ...argv, env: [] }), warnings: diagnostics.items.map((d) => d.code) };
};
const devices = (text: string) => {
  const w = run(text).words;
  return w.flatMap((x, i) => (x === '-device' ? [w[i + 1]!] : []));
};
/** The devices and their backends of a command line (what these families print). */
const deviceWords = (w: string[]) => w.flatMap((x, i) => (['-device', '-blockdev', '-chardev'].includes(x) ? [`${x} ${w[i + 1]!}`] : []));
/** XML -> argv -> XML -> argv: the second command line's devices equal the first's. */
const stable = (text: string) => {
  const first = domainToArgv(domainFromXml(text).domain).argv;
  const back = domainFromArgvText(argvWords(first).map((w) => `'${w.replace(/'/g, "'\\''")}'`).join(' ')).domain;
  return { first: deviceWords(argvWords(first)), second: deviceWords(argvWords(domainToArgv(back).argv)), xml: domainToXml(back) };
};

describe('hostdev XML', () => {
  test('every subsystem type survives XML -> IR -> XML', () => {
    const devs = `
      <hostdev mode='subsystem' type='pci' managed='yes'><driver name='vfio'/><source writeFiltering='no'><address domain='0x0000' bus='0x06' slot='0x12' function='0x5'/></source><boot order='1'/><rom bar='off' file='/r.bin'/><acpi index='3'/></hostdev>
      <hostdev mode='subsystem' type='usb' managed='no'><source startupPolicy='optional' guestReset='off'><vendor id='0x1234'/><product id='0xbeef'/><address bus='1' device='2'/></source></hostdev>
      <hostdev mode='subsystem' type='scsi' managed='yes' sgio='unfiltered' rawio='yes'><source><adapter name='scsi_host0'/><address bus='0' target='0' unit='1'/></source><readonly/><shareable/></hostdev>
      <hostdev mode='subsystem' type='scsi_host'><source protocol='vhost' wwpn='naa.5001405df3e54061'/></hostdev>
      <hostdev mode='subsystem' type='mdev' model='vfio-pci' display='on' ramfb='on'><source><address uuid='53764d0e-85a0-42b4-af5c-2046b460b1dc'/></source></hostdev>`;
    const once = domainToXml(domainFromXml(xml(devs)).domain);
    expect(domainToXml(domainFromXml(once).domain)).toBe(once);
    for (const frag of ["writeFiltering='no'", "<rom bar='off' file='/r.bin'/>", "guestReset='off'", "sgio='unfiltered' rawio='yes'", "wwpn='naa.5001405df3e54061'", "display='on' ramfb='on'"]) {
      expect(once).toContain(frag);
    }
  });
  test('capabilities mode (LXC) is kept verbatim', () => {
    const d = domainFromXml(xml("<hostdev mode='capabilities' type='storage'><source><block>/dev/sdf1</block></source></hostdev>")).domain;
    expect(d.devices.hostdevs).toHaveLength(0);
    expect(d.devices.extra.map((e) => e.name)).toEqual(['hostdev']);
  });
});

describe('hostdev argv', () => {
  test('mdev: display off by default, ramfb needs the non-hotpluggable device', () => {
    const d = devices(xml(`
      <hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='53764d0e-85a0-42b4-af5c-2046b460b1dc'/></source></hostdev>
      <hostdev mode='subsystem' type='mdev' model='vfio-pci' display='on' ramfb='on'><source><address uuid='53764d0e-85a0-42b4-af5c-2046b460b1dd'/></source></hostdev>`));
    expect(d).toContain('{"driver":"vfio-pci","id":"hostdev0","sysfsdev":"/sys/bus/mdev/devices/53764d0e-85a0-42b4-af5c-2046b460b1dc","display":"off","bus":"pci.0","addr":"0x2"}');
    expect(d).toContain('{"driver":"vfio-pci-nohotplug","id":"hostdev1","sysfsdev":"/sys/bus/mdev/devices/53764d0e-85a0-42b4-af5c-2046b460b1dd","display":"on","ramfb":true,"bus":"pci.0","addr":"0x3"}');
  });
  test('SCSI hostdev without an address: the first of units 0-6 free, else a new (lsi) controller', () => {
    const units = Array.from({ length: 7 }, (_, u) => `<disk type='file' device='disk'><source file='/d${u}'/><target dev='sd${'abcdefg'[u]}' bus='scsi'/></disk>`).join('');
    const r = run(xml(`<controller type='scsi' index='0' model='virtio-scsi'/>${units}<hostdev mode='subsystem' type='scsi'><source protocol='iscsi' name='iqn.2000-01.com.example:t/3'><host name='h.example' port='3260'/></source></hostdev>`));
    const d = r.words.filter((w) => w.includes('scsi-generic'));
    expect(d).toEqual(['{"driver":"scsi-generic","drive":"libvirt-8-backend","id":"hostdev0","bus":"scsi1.0","scsi-id":0}']);
    expect(r.words).toContain('{"driver":"lsi","id":"scsi1","bus":"pci.0","addr":"0x3"}');
    expect(r.words).toContain('{"driver":"iscsi","portal":"h.example:3260","target":"iqn.2000-01.com.example:t","lun":3,"transport":"tcp","node-name":"libvirt-8-backend","read-only":false}');
  });
  test('a host SCSI device not on this host: /dev/sg0 stands in, with a warning', () => {
    const r = run(xml("<controller type='scsi' model='virtio-scsi'/><hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host99'/><address bus='0' target='0' unit='0'/></source></hostdev>"));
    expect(r.words).toContain('{"driver":"host_device","filename":"/dev/sg0","node-name":"libvirt-1-backend","read-only":false}');
    expect(r.warnings).toContain('HostDeviceUnresolved');
  });
  test('iSCSI login: a secret object for the password; read back with a placeholder usage', () => {
    const text = xml("<controller type='scsi' index='0' model='virtio-scsi'/><hostdev mode='subsystem' type='scsi'><source protocol='iscsi' name='iqn.2000-01.com.example:t/1'><host name='h.example' port='3260'/><auth username='me'><secret type='iscsi' usage='mine'/></auth></source></hostdev>");
    const r = run(text);
    expect(r.warnings).toContain('SecretUnavailable');
    expect(r.words.some((w) => w.startsWith('{"qom-type":"secret","id":"libvirt-1-backend-secret0"'))).toBe(true);
    expect(r.words).toContain('{"driver":"iscsi","portal":"h.example:3260","target":"iqn.2000-01.com.example:t","lun":1,"transport":"tcp","user":"me","password-secret":"libvirt-1-backend-secret0","node-name":"libvirt-1-backend","read-only":false}');
    const s = stable(text);
    expect(s.second).toEqual(s.first);
    expect(s.xml).toContain("<auth username='me'>");
    expect(s.xml).toContain("<secret type='iscsi' usage='domxml-libvirt-1-backend-secret0'/>");
    expect(s.xml).not.toContain('qemu:arg');
  });
  test('QEMU before -blockdev: the iSCSI LUN is a -drive URI, read back', () => {
    const text = xml("<controller type='scsi' index='0' model='virtio-scsi'/><hostdev mode='subsystem' type='scsi'><source protocol='iscsi' name='iqn.2000-01.com.example:t/1'><host name='h.example' port='3260'/></source><readonly/><address type='drive' controller='0' bus='0' target='2' unit='4'/></hostdev>");
    const { argv } = domainToArgv(domainFromXml(text).domain, { qemuVersion: '4.0' });
    const w = argvWords(argv);
    expect(w).toContain('file=iscsi://h.example:3260/iqn.2000-01.com.example:t/1,if=none,format=raw,id=drive-hostdev0,readonly=on');
    expect(w).toContain('scsi-generic,bus=scsi0.0,channel=0,scsi-id=2,lun=4,drive=drive-hostdev0,id=hostdev0');
    const back = domainFromArgvText(w.map((x) => `'${x}'`).join(' ')).domain;
    expect(back.devices.hostdevs).toEqual([expect.objectContaining({ source: { type: 'iscsi', name: 'iqn.2000-01.com.example:t/1', hosts: [{ name: 'h.example', port: 3260 }] }, readonly: true })]);
  });
  test('usb-host: by vendor and product or by bus and device; other selections stay on the command line', () => {
    const read = (dev: string) => domainFromArgvText(`/usr/bin/qemu-system-x86_64 -usb -device ${dev}`).domain;
    expect(read('usb-host,hostbus=1,hostaddr=4').devices.hostdevs[0]?.source).toEqual({ type: 'usb', bus: 1, device: 4 });
    expect(read('usb-host,vendorid=0x046d,productid=0xc52b').devices.hostdevs[0]?.source).toEqual({ type: 'usb', vendor: 0x046d, product: 0xc52b });
    // libvirt has no host port, and a bus alone or a vendor alone is no <source> it accepts
    for (const dev of ['usb-host,hostbus=1,hostport=2', 'usb-host,hostbus=3', 'usb-host,vendorid=0x046d']) {
      const d = read(dev);
      expect(d.devices.hostdevs).toEqual([]);
      expect(d.qemuCommandline?.args).toEqual(['-device', dev]);
    }
  });
  test('XML -> argv -> XML -> argv is stable for pci, usb, mdev, vhost-scsi and iscsi', () => {
    const s = stable(xml(`
      <controller type='scsi' model='virtio-scsi'/>
      <hostdev mode='subsystem' type='usb'><source guestReset='on'><address bus='3' device='4'/></source><boot order='2'/></hostdev>
      <hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x06' slot='0x12' function='0x5'/></source><rom enabled='no'/></hostdev>
      <hostdev mode='subsystem' type='scsi_host' model='virtio-transitional'><source protocol='vhost' wwpn='naa.5001405df3e54061'/></hostdev>
      <hostdev mode='subsystem' type='mdev' model='vfio-pci' display='on'><source><address uuid='53764d0e-85a0-42b4-af5c-2046b460b1dc'/></source></hostdev>
      <hostdev mode='subsystem' type='scsi'><source protocol='iscsi' name='iqn.2000-01.com.example:t'><host name='h.example' port='3260'/><initiator><iqn name='iqn.2020-07.com.example:i'/></initiator></source><readonly/></hostdev>`, 'q35'));
    expect(s.second).toEqual(s.first);
    expect(s.xml).toContain("guestReset='on'");
    expect(s.xml).toContain("<rom enabled='no'/>");
  });
});

describe('redirdev and redirfilter', () => {
  const filter = "<redirfilter><usbdev class='0x08' vendor='0x15E1' product='0x2007' version='1.10' allow='yes'/><usbdev allow='no'/></redirfilter>";
  test('filter string: upper-case hex, BCD version, -1 for any', () => {
    const d = devices(xml(`<graphics type='spice' autoport='yes'/><redirdev bus='usb' type='spicevmc'><boot order='1'/></redirdev>${filter}`));
    expect(d).toContain('{"driver":"usb-redir","chardev":"charredir0","id":"redir0","filter":"0x08:0x15E1:0x2007:0x0110:1|-1:-1:-1:-1:0","bootindex":1,"bus":"usb.0","port":"1"}');
  });
  test('filter and sources read back', () => {
    const s = stable(xml(`<redirdev bus='usb' type='tcp'><source mode='connect' host='localhost' service='4000'/><protocol type='raw'/></redirdev>${filter}`));
    expect(s.second).toEqual(s.first);
    expect(s.xml).toContain("<usbdev class='0x08' vendor='0x15e1' product='0x2007' version='1.10' allow='yes'/>");
    expect(s.xml).toContain("<usbdev allow='no'/>");
  });
});

describe('smartcard', () => {
  test('a card without an address goes on an implicit ccid controller 0, slot 0', () => {
    const d = domainToArgv(domainFromXml(xml("<smartcard mode='host'/>")).domain);
    const w = argvWords(d.argv);
    expect(w).toContain('{"driver":"usb-ccid","id":"ccid0","bus":"usb.0","port":"1"}');
    expect(w).toContain('{"driver":"ccid-card-emulated","backend":"nss-emulated","id":"smartcard0","bus":"ccid0.0"}');
  });
  test('host-certificates takes exactly three certificates; the NSS database defaults', () => {
    expect(() => domainFromXml(xml("<smartcard mode='host-certificates'><certificate>a</certificate></smartcard>"))).toThrow(/certificates/);
    const d = devices(xml("<smartcard mode='host-certificates'><certificate>a</certificate><certificate>b</certificate><certificate>c</certificate></smartcard>"));
    expect(d).toContain('{"driver":"ccid-card-emulated","backend":"certificates","cert1":"a","cert2":"b","cert3":"c","db":"/etc/pki/nssdb","id":"smartcard0","bus":"ccid0.0"}');
  });
  test('passthrough over tcp reads back', () => {
    const s = stable(xml("<smartcard mode='passthrough' type='tcp'><source mode='connect' host='127.0.0.1' service='2001'/><protocol type='raw'/></smartcard>"));
    expect(s.second).toEqual(s.first);
    expect(s.xml).toContain("<smartcard mode='passthrough' type='tcp'>");
  });
});

describe('USB ports', () => {
  test('an xhci controller has 4 root ports unless <controller ports> says otherwise', () => {
    const tablets = Array.from({ length: 5 }, () => "<input type='tablet' bus='usb'/>").join('');
    const four = devices(xml(`<controller type='usb' model='qemu-xhci'/>${tablets}`, 'q35'));
    expect(four.filter((d) => d.includes('usb-hub'))).toEqual(['{"driver":"usb-hub","id":"hub0","bus":"usb.0","port":"1"}']);
    const eight = devices(xml(`<controller type='usb' model='qemu-xhci' ports='8'/>${tablets}`, 'q35'));
    expect(eight.some((d) => d.includes('usb-hub'))).toBe(false);
    expect(eight).toContain('{"driver":"usb-tablet","id":"input4","bus":"usb.0","port":"5"}');
  });
  test('an XML hub takes a port first and its ports count', () => {
    const d = devices(xml("<hub type='usb'/><input type='tablet' bus='usb'/><input type='tablet' bus='usb'/><input type='tablet' bus='usb'/>"));
    expect(d).toContain('{"driver":"usb-hub","id":"hub0","bus":"usb.0","port":"1"}');
    expect(d).toContain('{"driver":"usb-tablet","id":"input1","bus":"usb.0","port":"1.1"}');
    expect(d.filter((x) => x.includes('usb-hub'))).toHaveLength(1);
  });
  test('a bus is named after its controller\'s user alias', () => {
    const d = devices(xml("<controller type='usb' index='0' model='piix3-uhci'><alias name='ua-u'/></controller><hostdev mode='subsystem' type='usb'><source><address bus='1' device='2'/></source></hostdev>"));
    expect(d).toContain('{"driver":"usb-host","hostdevice":"/dev/bus/usb/001/002","id":"hostdev0","bus":"ua-u.0","port":"1"}');
  });
});
