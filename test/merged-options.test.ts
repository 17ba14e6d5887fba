// from-native keeps the keys of -machine, -spice and -smp that have no XML home as a second such
// option in <qemu:commandline> (QEMU merges repeated ones), -overcommit's with the domain's
// mem-lock (QEMU 7.2 reads each -overcommit whole), and reads -cpu's cache, migratable, Hyper-V,
// KVM, PMU and TSC flags back into the elements libvirt 9.0 prints them from.
import { domainToArgv } from '../src/emit/to-argv.js';
import { argvWords, printArgvLine } from '../src/emit/argv.js';
import { domainFromArgvText } from '../src/ir/from-argv.js';
import { domainToXml } from '../src/ir/to-xml.js';

const read = (line: string) => domainFromArgvText(`/usr/bin/qemu-system-x86_64 ${line}`, 'x');
const messages = (line: string) => read(line).diagnostics.items.map((d) => d.message);
/** The words to-native prints for what from-native read. */
const again = (line: string) => argvWords(domainToArgv(read(line).domain).argv);

const LINE =
  '-name guest=g1 -machine q35,accel=kvm,kernel_irqchip=on,smm=off,suppress-vmdesc=on,vmport=off -overcommit mem-lock=on,cpu-pm=on -m 1024 ' +
  '-smp 4,maxcpus=8,sockets=2,cores=4,threads=1,clusters=1 -spice port=5930,disable-ticketing=on,x-made-up=1';

test('keys without an XML home are kept as second options, nothing is dropped', () => {
  const { domain } = read(LINE);
  expect(domain.qemuCommandline?.args).toEqual([
    '-overcommit', 'mem-lock=on,cpu-pm=on',
    '-machine', 'suppress-vmdesc=on',
    // (clusters=1 is QEMU's default, which libvirt 10 prints: nothing to keep)
    '-spice', 'x-made-up=1',
  ]);
  const m = messages(LINE);
  expect(m.filter((x) => x.includes('was dropped'))).toEqual([]);
  expect(m).toContain("-machine property 'suppress-vmdesc' has no domain XML equivalent: kept verbatim in <qemu:commandline>");
  expect(m).toContain("-spice property 'x-made-up' has no domain XML equivalent: kept verbatim in <qemu:commandline>");
  // what has an XML home is mapped, not kept
  const xml = domainToXml(domain);
  expect(xml).toContain("<smm state='off'/>");
  expect(xml).toContain("<vmport state='off'/>");
  expect(xml).toContain("<ioapic driver='kvm'/>");
  expect(xml).toContain('<locked/>');
  expect(xml).toContain("<graphics type='spice' port='5930' autoport='no'/>");
});

test("to-native prints the kept options after libvirt's own, which QEMU merges with them", () => {
  const words = again(LINE);
  const at = (opt: string, value: string) => words.findIndex((w, i) => w === opt && words[i + 1] === value);
  const first = (opt: string) => words.indexOf(opt);
  expect(words[first('-machine') + 1]).toMatch(/^pc-q35-7\.2,/);
  expect(at('-machine', 'suppress-vmdesc=on')).toBeGreaterThan(first('-machine'));
  expect(at('-spice', 'x-made-up=1')).toBeGreaterThan(first('-spice'));
  // NB: the later -overcommit wins whole in QEMU 7.2: it repeats libvirt's mem-lock
  expect(words[first('-overcommit') + 1]).toBe('mem-lock=on');
  expect(at('-overcommit', 'mem-lock=on,cpu-pm=on')).toBeGreaterThan(first('-overcommit'));
});

test("a value to-native prints the same is not kept; -M is kept as -machine", () => {
  const line = '-M pc,usb=off,dump-guest-core=off,mem-merge=on,smm=auto,kernel_irqchip=off -m 512';
  expect(read(line).domain.qemuCommandline?.args).toEqual(['-machine', 'kernel_irqchip=off']);
  // (dump-guest-core=on is <memory dumpCore='on'>, graphics=off <bios useserial='yes'>: mapped, not kept)
  expect(read('-machine pc,dump-guest-core=on,graphics=off -m 512').domain.qemuCommandline).toBeUndefined();
});

test('-overcommit: only the last counts; cpu-pm=off is the default; without mem-lock the kept one unlocks', () => {
  expect(read('-overcommit mem-lock=on -overcommit mem-lock=off,cpu-pm=off -m 512').domain.qemuCommandline).toBeUndefined();
  expect(read('-overcommit mem-lock=on -overcommit mem-lock=off -m 512').domain.memoryBacking?.locked).toBeUndefined();
  expect(read('-overcommit cpu-pm=on -m 512').domain.qemuCommandline?.args).toEqual(['-overcommit', 'mem-lock=off,cpu-pm=on']);
});

test('-cpu cache, migratable and check read back as libvirt 9.0 prints them (oracle: virsh domxml-to-native)', () => {
  const cpu = (flags: string) => read(`-machine pc,accel=tcg -m 512 -cpu ${flags}`).domain.cpu;
  expect(cpu('max,migratable=off,host-cache-info=on,l3-cache=off')).toMatchObject({ mode: 'maximum', migratable: false, cache: { mode: 'passthrough' } });
  expect(cpu('max,migratable=on,host-cache-info=off,l3-cache=off')).toMatchObject({ mode: 'maximum', migratable: true, cache: { mode: 'disable' } });
  expect(cpu('max,l3-cache=on,host-cache-info=off')).toMatchObject({ cache: { level: 3, mode: 'emulate' } });
  expect(cpu('Skylake-Client,l3-cache=on')).toMatchObject({ model: 'Skylake-Client', cache: { level: 3, mode: 'emulate' } });
  expect(cpu('Skylake-Client,l3-cache=off')).toMatchObject({ cache: { mode: 'disable' } });
  // NB: host-cache-info=on passes every cache leaf through: l3-cache= beside it changes nothing
  expect(cpu('host,l3-cache=on,host-cache-info=on,migratable=no,enforce')).toMatchObject({ mode: 'host-passthrough', check: 'full', migratable: false, cache: { mode: 'passthrough' } });
  // QEMU's default alone says nothing
  expect(cpu('max,host-cache-info=off')?.cache).toBeUndefined();
});

test('-cpu Hyper-V, KVM, PMU and TSC flags read back into <features> and <clock>, and print the same again', () => {
  const flags =
    'max,migratable=off,tsc-frequency=2500000000,hv-passthrough=on,hv-vpindex=on,hv-synic=on,hv-stimer=on,hv-stimer-direct=on,' +
    'kvm=off,kvm-hint-dedicated=on,kvm-poll-control=on,kvm-pv-ipi=off,pmu=off,host-cache-info=on,l3-cache=off';
  const line = `-machine pc,accel=tcg -m 512 -cpu ${flags}`;
  expect(messages(line)).toEqual([]);
  const xml = domainToXml(read(line).domain);
  expect(xml).toContain("<hyperv mode='passthrough'>");
  expect(xml).toMatch(/<stimer state='on'>\s*<direct state='on'\/>\s*<\/stimer>/);
  expect(xml).toMatch(/<kvm>\s*<hidden state='on'\/>\s*<hint-dedicated state='on'\/>\s*<poll-control state='on'\/>\s*<pv-ipi state='off'\/>\s*<\/kvm>/);
  expect(xml).toContain("<pmu state='off'/>");
  expect(xml).toContain("<timer name='tsc' frequency='2500000000'/>");
  // the same -cpu as libvirt 9.0 prints for that XML (oracle)
  const words = again(line);
  expect(words[words.indexOf('-cpu') + 1]).toBe(flags);
});

test('what to-native prints for the kept options reads back the same: QEMU merges them, and so does from-native', () => {
  const first = read(LINE).domain;
  const second = domainFromArgvText(printArgvLine(domainToArgv(first).argv), 'y');
  expect(second.diagnostics.items.map((d) => d.message).filter((m) => m.includes('was dropped'))).toEqual([]);
  // (libvirt's define-time defaults fill in the rest)
  expect(second.domain.qemuCommandline).toEqual(first.qemuCommandline);
  expect(second.domain.devices.graphics).toHaveLength(1);
});

test('repeated -spice and -smp options are one display and one topology, as QEMU merges them', () => {
  const { domain } = read('-m 512 -spice port=5930 -spice disable-ticketing=on,tls-channel=main -smp 4 -smp maxcpus=8');
  expect(domain.devices.graphics).toHaveLength(1);
  expect(domain.devices.graphics[0]).toMatchObject({ type: 'spice', port: 5930 });
  expect(domain.vcpu).toMatchObject({ count: 8, current: 4 });
  expect(domain.qemuCommandline).toBeUndefined();
  // a listening restriction no <graphics> says is kept
  expect(read('-m 512 -spice port=5930,ipv4=on').domain.qemuCommandline?.args).toEqual(['-spice', 'ipv4=on']);
});
