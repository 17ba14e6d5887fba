// <shmem> (ivshmem) both ways: libvirt 9.0's rules and output (checked against its virsh), the
// legacy -device ivshmem of QEMU before 4.0, and command lines read back.
import { argvWords } from '../src/emit/argv.js';
import { domainToArgv } from '../src/emit/to-argv.js';
import { domainFromArgvText } from '../src/ir/from-argv.js';
import { domainFromXml } from '../src/ir/from-xml.js';
import { domainToXml } from '../src/ir/to-xml.js';
import { validateDomainXml } from '../src/validate/index.js';
import { diagnosticOf } from './support/errors.js';

const xml = (shmems: string) =>
  `<domain type='qemu'><name>g</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid><memory unit='KiB'>1048576</memory><vcpu>1</vcpu>
    <os><type arch='x86_64' machine='pc'>hvm</type></os>
    <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>${shmems}<memballoon model='none'/></devices></domain>`;

/** The options of the shared memory devices (their objects, devices and server chardevs), in order. */
const tail = (shmems: string, qemuVersion?: string) => {
  const w = argvWords({ ...domainToArgv(domainFromXml(xml(shmems)).domain, qemuVersion ? { qemuVersion } : {}).argv, env: [] });
  return w.flatMap((x, i) => (x.startsWith('-') && /shm/.test(w[i + 1] ?? '') ? [x, w[i + 1]!] : []));
};
const errorOf = (f: () => unknown): string => {
  const d = diagnosticOf(f);
  return `${d.code}: ${d.message}`;
};

describe('to-native (QEMU 7.2, as libvirt 9.0 prints it)', () => {
  test('ivshmem-plain: a shared file in /dev/shm, 4 MiB unless sized; master role', () => {
    expect(tail("<shmem name='a'><model type='ivshmem-plain'/></shmem><shmem name='b' role='master'><model type='ivshmem-plain'/><size unit='M'>128</size><address type='pci' domain='0x0000' bus='0x00' slot='0x0a' function='0x0'/></shmem>")).toEqual([
      '-object', '{"qom-type":"memory-backend-file","id":"shmmem-shmem0","mem-path":"/dev/shm/a","size":4194304,"share":true}',
      '-device', '{"driver":"ivshmem-plain","id":"shmem0","memdev":"shmmem-shmem0","bus":"pci.0","addr":"0x2"}',
      '-object', '{"qom-type":"memory-backend-file","id":"shmmem-shmem1","mem-path":"/dev/shm/b","size":134217728,"share":true}',
      '-device', '{"driver":"ivshmem-plain","id":"shmem1","memdev":"shmmem-shmem1","master":"on","bus":"pci.0","addr":"0xa"}',
    ]);
  });
  test('ivshmem-doorbell: the server chardev follows its device; ioeventfd on unless off; default socket', () => {
    expect(tail("<shmem name='s' role='peer'><model type='ivshmem-doorbell'/><server/></shmem><shmem name='t'><model type='ivshmem-doorbell'/><server path='/run/shm-t.sock'/><msi vectors='4' ioeventfd='off'/><alias name='ua-t'/></shmem>")).toEqual([
      '-device', '{"driver":"ivshmem-doorbell","id":"shmem0","chardev":"charshmem0","ioeventfd":true,"bus":"pci.0","addr":"0x2"}',
      '-chardev', 'socket,id=charshmem0,path=/var/lib/libvirt/shmem-s-sock',
      '-device', '{"driver":"ivshmem-doorbell","id":"ua-t","chardev":"charua-t","vectors":4,"ioeventfd":false,"bus":"pci.0","addr":"0x3"}',
      '-chardev', 'socket,id=charua-t,path=/run/shm-t.sock',
    ]);
  });
  test("without a model it is the legacy ivshmem, which QEMU 7.2 has not: refused as libvirt does", () => {
    expect(errorOf(() => tail("<shmem name='a'/>"))).toBe(
      "ShmemInvalid: <shmem name='a'>: the legacy ivshmem device (its model when <model> is absent) is gone since QEMU 4.0: give <model type='ivshmem-plain'/>, or 'ivshmem-doorbell' with a <server>",
    );
  });
});

describe("libvirt's rules: validate and to-native refuse the same", () => {
  const cases: Array<[string, string]> = [
    ["<shmem name='a'><model type='ivshmem-plain'/><size unit='K'>512</size></shmem>", 'at least 1 MiB'],
    ["<shmem name='a'><model type='ivshmem-plain'/><size unit='M'>3</size></shmem>", 'power of two'],
    ["<shmem name='a'><model type='ivshmem-plain'/><msi vectors='2'/></shmem>", '<msi> is only supported with a <server>'],
    ["<shmem name='a'><model type='ivshmem-doorbell'/></shmem>", "'ivshmem-doorbell' is supported only with a <server>"],
    ["<shmem name='a'><model type='ivshmem-plain'/><server path='/tmp/x'/></shmem>", "'ivshmem-plain' is supported only without a <server>"],
    ["<shmem name='a'><model type='ivshmem-doorbell'/><server path='/tmp/x'/><size unit='M'>8</size></shmem>", 'does not take a <size>'],
    ["<shmem name='a/b'><model type='ivshmem-plain'/></shmem>", "cannot include a '/'"],
    ["<shmem name='a'><model type='ivshmem-plain'/><address type='usb' bus='0' port='1'/></shmem>", "only 'pci' addresses"],
  ];
  test.each(cases)('%s', (shmem, reason) => {
    expect(errorOf(() => tail(shmem))).toContain(reason);
    const v = validateDomainXml(xml(shmem));
    expect(v.valid).toBe(false);
    expect(v.diagnostics.find((d) => d.code === 'ShmemInvalid')?.message).toContain(reason);
  });
  test('a valid shmem is no finding', () => {
    expect(validateDomainXml(xml("<shmem name='a'><model type='ivshmem-plain'/><size unit='M'>2</size></shmem>")).diagnostics).toEqual([]);
  });
});

describe('older QEMU', () => {
  test('2.6 to 6.1: the same devices in QemuOpts form', () => {
    expect(tail("<shmem name='a'><model type='ivshmem-plain'/></shmem>", '3.1')).toEqual([
      '-object', 'memory-backend-file,id=shmmem-shmem0,mem-path=/dev/shm/a,size=4194304,share=on',
      '-device', 'ivshmem-plain,id=shmem0,memdev=shmmem-shmem0,bus=pci.0,addr=0x2',
    ]);
  });
  test("before 4.0 the legacy ivshmem (libvirt 5.x's form); before 2.6 only that one", () => {
    expect(tail("<shmem name='a'><size unit='M'>8</size></shmem><shmem name='b'><model type='ivshmem'/><server path='/tmp/b'/><msi vectors='2'/></shmem>", '2.5')).toEqual([
      '-device', 'ivshmem,id=shmem0,size=8m,shm=a,bus=pci.0,addr=0x2',
      '-device', 'ivshmem,id=shmem1,chardev=charshmem1,msi=on,vectors=2,bus=pci.0,addr=0x3',
      '-chardev', 'socket,id=charshmem1,path=/tmp/b',
    ]);
    // ivshmem-plain is younger (2.6): left out with a warning
    const r = domainToArgv(domainFromXml(xml("<shmem name='a'><model type='ivshmem-plain'/></shmem>")).domain, { qemuVersion: '2.5' });
    expect(argvWords({ ...r.argv, env: [] }).some((w) => w.includes('shm'))).toBe(false);
    expect(r.diagnostics.items.map((d) => d.message)).toContain("<shmem name='a'> (ivshmem-plain) cannot be expressed for QEMU 2.5: left out");
  });
});

describe('from-native', () => {
  const read = (args: string) => domainFromArgvText(`/usr/bin/qemu-system-x86_64 -machine pc ${args}`);
  const shmemsOf = (args: string) => {
    const lines = domainToXml(read(args).domain).split('\n').map((l) => l.trim());
    return lines.slice(lines.findIndex((l) => l.startsWith('<shmem')), lines.lastIndexOf('</shmem>') + 1).filter((l) => !l.startsWith('<address'));
  };
  test('a /dev/shm memory backend, JSON or QemuOpts, is <shmem name>', () => {
    expect(shmemsOf('-object memory-backend-file,id=m,share=on,mem-path=/dev/shm/looking-glass,size=32M -device ivshmem-plain,memdev=m,master=on')).toEqual([
      "<shmem name='looking-glass' role='master'>", "<model type='ivshmem-plain'/>", "<size unit='M'>32</size>", '</shmem>',
    ]);
  });
  test("a server socket at libvirt's default path names the shmem; another path is kept", () => {
    expect(shmemsOf('-device ivshmem-doorbell,id=shmem0,chardev=c,vectors=4,ioeventfd=on -chardev socket,id=c,path=/var/lib/libvirt/shmem-bus-sock')).toEqual([
      "<shmem name='bus'>", "<model type='ivshmem-doorbell'/>", '<server/>', "<msi vectors='4' ioeventfd='on'/>", '</shmem>',
    ]);
  });
  test('the legacy -device ivshmem', () => {
    expect(shmemsOf('-device ivshmem,shm=old,size=16')).toEqual(["<shmem name='old'>", "<model type='ivshmem'/>", "<size unit='M'>16</size>", '</shmem>']);
  });
  test('memory libvirt cannot describe (not shared, not in /dev/shm) stays on the command line', () => {
    const r = read('-object memory-backend-file,id=m,share=on,mem-path=/tmp/x,size=4M -device ivshmem-plain,memdev=m');
    expect(r.domain.devices.shmems).toEqual([]);
    expect(r.domain.qemuCommandline?.args).toEqual(['-object', 'memory-backend-file,id=m,share=on,mem-path=/tmp/x,size=4M', '-device', 'ivshmem-plain,memdev=m']);
  });
});
