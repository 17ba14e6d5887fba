// <cpu> migratable, <cache> and check, and -cpu flags as hand-written command lines use them
// (quickemu's `host,kvm=on,+hypervisor,l3-cache=on,migratable=no,topoext`, Proxmox's `enforce`).
// The -cpu strings expected here are libvirt 9.0's (virsh domxml-to-native, QEMU 7.2).
import { argvWords, printArgvLine } from '../src/emit/argv.js';
import { domainToArgv } from '../src/emit/to-argv.js';
import { domainFromArgvText } from '../src/ir/from-argv.js';
import { domainFromXml } from '../src/ir/from-xml.js';
import { domainToXml } from '../src/ir/to-xml.js';

const domain = (cpu: string, extra = '') =>
  domainFromXml(`<domain type='qemu'><name>c</name><memory>131072</memory><os><type arch='x86_64' machine='pc'>hvm</type></os>${extra}
    <cpu ${cpu}</cpu><devices><memballoon model='none'/></devices></domain>`).domain;
const cpuArg = (d: ReturnType<typeof domain>) => {
  const ws = argvWords({ ...domainToArgv(d, { qemuVersion: '7.2' }).argv, env: [] });
  return ws[ws.indexOf('-cpu') + 1];
};
const fromNative = (cpu: string) => {
  const r = domainFromArgvText(`/usr/bin/qemu-system-x86_64 -enable-kvm -cpu ${cpu}`, 'x');
  return { xml: domainToXml(r.domain), warnings: r.diagnostics.items.map((x) => x.message) };
};

describe('to-native (as virsh prints it)', () => {
  test('migratable after the model, the cache properties after every other flag', () => {
    const d = domain(
      "mode='maximum' migratable='off'><cache level='3' mode='emulate'/><feature policy='require' name='topoext'/>",
      "<features><acpi/><kvm><hidden state='on'/></kvm></features><clock offset='utc'><timer name='kvmclock' present='no'/></clock>",
    );
    expect(cpuArg(d)).toBe('max,migratable=off,topoext=on,kvmclock=off,kvm=off,l3-cache=on,host-cache-info=off');
  });

  test("the host's cache, and no cache at all", () => {
    expect(cpuArg(domain("mode='maximum' migratable='on'><cache mode='passthrough'/>"))).toBe('max,migratable=on,host-cache-info=on,l3-cache=off');
    expect(cpuArg(domain("mode='custom' match='exact' check='full'><model>Skylake-Client</model><cache mode='disable'/><feature policy='disable' name='vmx'/>"))).toBe(
      'Skylake-Client,vmx=off,l3-cache=off',
    );
  });
});

describe('from-native', () => {
  test("quickemu's -cpu: bare names are features, kvm=on is the default, migratable and l3-cache are attributes", () => {
    const { xml, warnings } = fromNative('host,kvm=on,+hypervisor,+invtsc,l3-cache=on,migratable=no,topoext');
    expect(xml).toMatch(
      /<cpu mode='host-passthrough' migratable='off'>\s*<cache level='3' mode='emulate'\/>\s*<feature policy='require' name='hypervisor'\/>\s*<feature policy='require' name='invtsc'\/>\s*<feature policy='require' name='topoext'\/>\s*<\/cpu>/,
    );
    expect(xml).not.toContain('<kvm>');
    expect(warnings).toEqual([]);
  });

  test("enforce is check='full'", () => {
    const { xml, warnings } = fromNative('kvm64,enforce,+lahf_lm');
    expect(xml).toMatch(/<cpu mode='custom' match='exact' check='full'>\s*<model>kvm64<\/model>\s*<feature policy='require' name='lahf_lm'\/>/);
    expect(warnings).toEqual([]);
  });

  test('round trip: what to-native prints reads back as the same <cpu>', () => {
    const d = domain("mode='maximum' migratable='on'><cache mode='passthrough'/><feature policy='disable' name='vmx'/>");
    const back = domainFromArgvText(printArgvLine(domainToArgv(d, { qemuVersion: '7.2' }).argv), 'x').domain.cpu;
    expect(back).toMatchObject({ mode: 'maximum', migratable: true, cache: { mode: 'passthrough' }, features: [{ policy: 'disable', name: 'vmx' }] });
  });
});

describe('from-native: QEMU CPU properties that are not features', () => {
  test('check and vmware-cpuid-freq are on by default: nothing; vendor= has no 9.0 element: warned', () => {
    const { xml, warnings } = fromNative('Penryn,kvm=on,vendor=GenuineIntel,+invtsc,vmware-cpuid-freq=on,+ssse3,check');
    expect(xml).toContain("<feature policy='require' name='invtsc'/>\n    <feature policy='require' name='ssse3'/>\n  </cpu>");
    expect(xml).not.toMatch(/name='(check|vmware-cpuid-freq|vendor)'/);
    expect(warnings).toEqual(["-cpu: property 'vendor=GenuineIntel' is not mapped and was dropped"]);
  });
});

describe('from-native: -smp completed as QEMU completes it', () => {
  const smp = (args: string) => {
    const d = domainFromArgvText(`/usr/bin/qemu-system-x86_64 ${args}`, 'x').domain;
    return { vcpu: [d.vcpu.count, d.vcpu.current], topology: d.cpu?.topology };
  };
  test('threads left out are what the CPU count leaves (OSX-KVM: -smp 4,cores=2,sockets=1)', () => {
    expect(smp('-smp 4,cores=2,sockets=1')).toEqual({ vcpu: [4, undefined], topology: { sockets: 1, cores: 2, threads: 2 } });
  });
  test('cores first since QEMU 6.2, sockets first for older machine types', () => {
    expect(smp('-smp 8,sockets=2')).toEqual({ vcpu: [8, undefined], topology: { sockets: 2, cores: 4, threads: 1 } });
    expect(smp('-M pc-i440fx-5.2 -smp 8,threads=2')).toEqual({ vcpu: [8, undefined], topology: { sockets: 4, cores: 1, threads: 2 } });
    expect(smp('-M pc-i440fx-7.2 -smp 8,threads=2')).toEqual({ vcpu: [8, undefined], topology: { sockets: 1, cores: 4, threads: 2 } });
  });
  test('maxcpus, clusters=1 (libvirt 10 prints it) and a CPU count alone', () => {
    // (dies=1 stated is written, as libvirt 9.0 stores it; a line without dies has none)
    expect(smp('-smp 4,maxcpus=8,sockets=2,dies=1,clusters=1,cores=2,threads=2')).toEqual({ vcpu: [8, 4], topology: { sockets: 2, dies: 1, cores: 2, threads: 2 } });
    expect(smp('-smp 4')).toEqual({ vcpu: [4, undefined], topology: undefined });
    // libvirt 9.0 has no clusters: their cores are counted as cores
    expect(smp('-smp 8,sockets=1,clusters=2,cores=2,threads=2')).toEqual({ vcpu: [8, undefined], topology: { sockets: 1, cores: 4, threads: 2 } });
  });
  test('a topology QEMU refuses is refused, saying what QEMU makes of it', () => {
    expect(() => smp('-smp 2,sockets=2,cores=2')).toThrow(/2 sockets × 1 dies × 2 cores × 0 threads, which is not 2 CPUs/);
  });
});
