// from-native of what libvirt implies rather than states: the machine's own USB controller, a
// command line without one, floppy and LUN boot order, the paravirtual -cpu flags of <features>,
// and the placeholder usage of login secrets the command line cannot name.
import { argvWords } from '../src/emit/argv.js';
import { domainToArgv } from '../src/emit/to-argv.js';
import { domainFromArgvText } from '../src/ir/from-argv.js';
import { domainFromXml } from '../src/ir/from-xml.js';
import { domainToXml } from '../src/ir/to-xml.js';

const QEMU = '/usr/bin/qemu-system-x86_64 -name guest=g -m 128';
const read = (args: string) => {
  const { domain, diagnostics } = domainFromArgvText(`${QEMU} ${args}`);
  return { domain, xml: domainToXml(domain), warnings: diagnostics.items.map((d) => d.code) };
};
const usb = (args: string) => read(args).domain.devices.controllers.filter((c) => c.type === 'usb');
const PIIX3 = `-device '{"driver":"piix3-usb-uhci","id":"usb","bus":"pci.0","addr":"0x1.0x2"}'`;
const xml = (devices: string, machine = 'pc', os = '', features = '') =>
  `<domain type='qemu'><name>g</name><memory>131072</memory>
    <os><type arch='x86_64' machine='${machine}'>hvm</type>${os}</os>${features}
    <devices><emulator>/usr/bin/qemu-system-x86_64</emulator><memballoon model='none'/>${devices}</devices></domain>`;
/** The command line of a domain, less the emulator (QEMU stands for it). */
const argv = (text: string) => argvWords({ ...domainToArgv(domainFromXml(text).domain).argv, env: [] }).slice(1).map((w) => `'${w}'`).join(' ');
const usbDevices = (line: string) => line.split(' ').filter((w) => /usb|uhci|xhci/.test(w));

describe('USB controller', () => {
  test("i440fx's default controller (piix3-uhci at 1.2, id usb) is read without a model", () => {
    expect(usb(`-machine pc,usb=off ${PIIX3}`)).toEqual([expect.not.objectContaining({ model: expect.anything() })]);
    expect(read(`-machine pc,usb=off ${PIIX3}`).xml).toContain("<controller type='usb' index='0'>");
  });
  test('the same driver elsewhere, or with options, keeps its model', () => {
    const moved = `-device '{"driver":"piix3-usb-uhci","id":"usb","bus":"pci.0","addr":"0x5"}'`;
    expect(usb(`-machine pc,usb=off ${moved}`)).toEqual([expect.objectContaining({ model: 'piix3-uhci' })]);
    expect(usb(`-machine pc,usb=off -device '{"driver":"ich9-usb-ehci1","id":"usb","bus":"pci.0","addr":"0x1.0x2"}'`)).toEqual([expect.objectContaining({ model: 'ich9-ehci1' })]);
  });
  test("q35's default qemu-xhci keeps its model (libvirt defines it with one)", () => {
    expect(usb(`-machine q35,usb=off -device '{"driver":"qemu-xhci","id":"usb","bus":"pci.1","addr":"0x0"}'`)).toEqual([expect.objectContaining({ model: 'qemu-xhci' })]);
  });
  test("no USB controller on the command line is model='none', with or without usb=off", () => {
    expect(usb('-machine pc,usb=off -nodefaults')).toEqual([expect.objectContaining({ index: 0, model: 'none' })]);
    expect(usb('-machine q35')).toEqual([expect.objectContaining({ model: 'none' })]);
    expect(usb('-hda /d.img')).toEqual([expect.objectContaining({ model: 'none' })]);
  });
  test('-usb is the machine default without a model; a -device replaces it', () => {
    expect(usb('-usb')).toEqual([expect.not.objectContaining({ model: expect.anything() })]);
    expect(usb(`-usb -device '{"driver":"usb-ehci","id":"usb","bus":"pci.0","addr":"0x4"}'`)).toEqual([expect.objectContaining({ model: 'ehci' })]);
  });
  test('a round trip gives the same command line for each reading', () => {
    for (const devices of ["<controller type='usb' index='0'/>", "<controller type='usb' index='0' model='none'/>", "<controller type='usb' index='0' model='piix3-uhci'/>"]) {
      const once = argv(xml(devices));
      expect(usbDevices(argv(domainToXml(domainFromArgvText(`${QEMU} ${once}`).domain)))).toEqual(usbDevices(once));
    }
  });
});

describe('boot order', () => {
  test("the floppy controller's bootindexA (-global on i440fx, isa-fdc on q35) is <boot dev='fd'/>", () => {
    const pc = read('-fda /f.img -global isa-fdc.bootindexA=1');
    expect(pc.domain.os.boot).toEqual(['fd']);
    expect(pc.warnings).not.toContain('UnclaimedOption');
    const q35 = read(`-machine q35 -blockdev '{"driver":"file","filename":"/f.img","node-name":"s"}' -blockdev '{"node-name":"f","driver":"raw","file":"s"}' -device '{"driver":"isa-fdc","bootindexA":1}' -device '{"driver":"floppy","unit":0,"drive":"f","id":"fdc0-0-0"}'`);
    expect(q35.domain.os.boot).toEqual(['fd']);
    expect(q35.domain.qemuCommandline).toBeUndefined();
  });
  test('a floppy boot order survives a round trip', () => {
    for (const machine of ['pc', 'q35']) {
      const once = argv(xml("<disk type='file' device='floppy'><source file='/f.img'/><target dev='fda' bus='fdc'/></disk><disk type='file' device='disk'><source file='/d.img'/><target dev='vda' bus='virtio'/></disk>", machine, "<boot dev='fd'/><boot dev='hd'/>"));
      const back = domainFromArgvText(`${QEMU} ${once}`).domain;
      expect(back.os.boot).toEqual(['fd', 'hd']);
    }
  });
  test("a LUN boots as the hard disk: <boot dev='hd'/>", () => {
    const once = argv(xml("<disk type='block' device='lun'><source dev='/dev/sdx'/><target dev='vda' bus='virtio'/></disk>"));
    expect(domainFromArgvText(`${QEMU} ${once}`).domain.os.boot).toEqual(['hd']);
  });
});

describe('-cpu flags of <features>', () => {
  test("kvm-pv-eoi is <apic eoi/>, kvm-pv-unhalt <pvspinlock/> (either spelling); no <cpu> is left for qemu64", () => {
    for (const [eoi, unhalt] of [['kvm-pv-eoi=on', 'kvm-pv-unhalt=off'], ['+kvm_pv_eoi', '-kvm_pv_unhalt']]) {
      const r = read(`-cpu qemu64,${eoi},${unhalt}`);
      expect(r.xml).toContain("<apic eoi='on'/>");
      expect(r.xml).toContain("<pvspinlock state='off'/>");
      expect(r.domain.cpu).toBeUndefined();
    }
  });
});

describe('login secrets', () => {
  test('a -drive URI names the login: the <secret> gets a placeholder usage, with a warning', () => {
    const r = read("-drive 'file=iscsi://me@h.example:3260/iqn.2000-01.com.example%3At/1,format=raw,if=virtio'");
    expect(r.xml).toContain("<secret type='iscsi' usage='domxml-vda-secret'/>");
    expect(r.warnings).toContain('SecretUsagePlaceholder');
  });
  test('an rbd id= login too; a URI without a user has no <auth>', () => {
    expect(read("-drive 'file=rbd:pool/img:id=admin:auth_supported=cephx\\;none:mon_host=m1,format=raw,if=virtio'").xml).toContain("<secret type='ceph' usage='domxml-vda-secret'/>");
    const anon = read("-drive 'file=iscsi://h.example:3260/iqn.2000-01.com.example%3At/1,format=raw,if=virtio'");
    expect(anon.xml).not.toContain('<auth');
    expect(anon.warnings).not.toContain('SecretUsagePlaceholder');
  });
});
