// NUMA HMAT (<cell><cache>, <interconnects>) and automatic NUMA placement, both ways.
import { argvWords, printArgvLine } from '../src/emit/argv.js';
import { domainToArgv } from '../src/emit/to-argv.js';
import { DomxmlError } from '../src/errors.js';
import { domainFromArgvText } from '../src/ir/from-argv.js';
import { domainFromXml } from '../src/ir/from-xml.js';
import { domainToXml } from '../src/ir/to-xml.js';
import { validateDomainXml } from '../src/validate/index.js';

const CACHE = "<cache level='1' associativity='direct' policy='writeback'><size value='10' unit='KiB'/><line value='8' unit='B'/></cache>";

const xml = (o: { cells?: string; links?: string; head?: string; vcpu?: string }) =>
  `<domain type='kvm'><name>g</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid><memory unit='KiB'>3145728</memory>${o.vcpu ?? '<vcpu>2</vcpu>'}${o.head ?? ''}
    <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
    <cpu><numa>${o.cells ?? ''}${o.links !== undefined ? `<interconnects>${o.links}</interconnects>` : ''}</numa></cpu>
    <devices><emulator>/usr/bin/qemu-system-x86_64</emulator><memballoon model='none'/></devices></domain>`;

/** Nodes 0 and 1 with a vCPU each, node 2 memory only (with a level-1 cache). */
const THREE = `<cell id='0' cpus='0' memory='1048576' unit='KiB'/><cell id='1' cpus='1' memory='1048576' unit='KiB'/><cell id='2' memory='1048576' unit='KiB'>${CACHE}</cell>`;

const compile = (text: string) => domainToArgv(domainFromXml(text).domain);
const words = (text: string) => argvWords({ ...compile(text).argv, env: [] });
const values = (w: string[], opt: string) => w.flatMap((x, i) => (x === opt ? [w[i + 1]!] : []));
const numa = (text: string) => values(words(text), '-numa');
const errorOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof DomxmlError) return `${e.diagnostic.code}: ${e.diagnostic.message}`;
    throw e;
  }
  return 'no error';
};

describe('HMAT to-native (checked against libvirt 9.0)', () => {
  test('hmat=on, initiators on the nodes, hmat-lb in document order, hmat-cache last', () => {
    const links = "<latency initiator='0' target='2' type='access' value='7'/><bandwidth initiator='1' target='2' cache='1' type='write' value='1' unit='GiB'/><latency initiator='1' target='2' type='read' value='5'/>";
    const w = words(xml({ cells: THREE, links }));
    expect(values(w, '-machine')[0]).toBe('pc-q35-7.2,usb=off,dump-guest-core=off,hmat=on');
    expect(values(w, '-numa')).toEqual([
      'node,nodeid=0,cpus=0,initiator=0,memdev=ram-node0',
      'node,nodeid=1,cpus=1,initiator=1,memdev=ram-node1',
      // the lowest latency to node 2 is node 1's
      'node,nodeid=2,initiator=1,memdev=ram-node2',
      'hmat-lb,initiator=0,target=2,hierarchy=memory,data-type=access-latency,latency=7',
      'hmat-lb,initiator=1,target=2,hierarchy=first-level,data-type=write-bandwidth,bandwidth=1048576K',
      'hmat-lb,initiator=1,target=2,hierarchy=memory,data-type=read-latency,latency=5',
      'hmat-cache,node-id=2,size=10K,level=1,associativity=direct,policy=write-back,line=8',
    ]);
  });

  test('a node without CPUs: the highest bandwidth without latencies, else the first node with CPUs', () => {
    const bw = "<bandwidth initiator='0' target='2' type='access' value='100' unit='KiB'/><bandwidth initiator='1' target='2' type='access' value='200' unit='KiB'/>";
    expect(numa(xml({ cells: THREE, links: bw }))[2]).toBe('node,nodeid=2,initiator=1,memdev=ram-node2');
    const firstCpus = "<cell id='0' memory='1048576' unit='KiB'/><cell id='1' cpus='0-1' memory='1048576' unit='KiB'/><cell id='2' memory='1048576' unit='KiB'>" + CACHE + '</cell>';
    expect(numa(xml({ cells: firstCpus })).slice(0, 3)).toEqual(['node,nodeid=0,initiator=1,memdev=ram-node0', 'node,nodeid=1,cpus=0-1,initiator=1,memdev=ram-node1', 'node,nodeid=2,initiator=1,memdev=ram-node2']);
  });

  test('cache associativity and policy in QEMU words; no HMAT data, no hmat=on or initiator=', () => {
    const cells = "<cell id='0' cpus='0-1' memory='1048576' unit='KiB'><cache level='3' associativity='full' policy='writethrough'><size value='2048' unit='KiB'/><line value='64' unit='B'/></cache></cell>";
    expect(numa(xml({ cells }))).toContain('hmat-cache,node-id=0,size=2048K,level=3,associativity=complex,policy=write-through,line=64');
    const plain = words(xml({ cells: "<cell id='0' cpus='0-1' memory='1048576' unit='KiB'/>" }));
    expect(values(plain, '-machine')[0]).not.toContain('hmat');
    expect(values(plain, '-numa')).toEqual(['node,nodeid=0,cpus=0-1,memdev=ram-node0']);
  });

  test("libvirt's validation: interconnects between nodes that exist, from nodes with CPUs, to caches that exist, once", () => {
    const run = (links: string, cells = THREE) => errorOf(() => compile(xml({ cells, links })));
    expect(run("<latency initiator='2' target='0' type='access' value='5'/>")).toMatch(/NumaInvalid: .*node 2 has no CPUs/);
    expect(run("<latency initiator='0' target='7' type='access' value='5'/>")).toMatch(/NumaInvalid: .*target 7/);
    expect(run("<latency initiator='0' target='2' cache='2' type='access' value='5'/>")).toMatch(/NumaInvalid: .*cache 2/);
    expect(run("<latency initiator='0' target='2' type='read' value='5'/><latency initiator='0' target='2' type='read' value='6'/>")).toMatch(/NumaInvalid: .*duplicate latency/);
    expect(run("<latency initiator='0' target='1' type='read' value='5'/><latency initiator='1' target='0' type='read' value='6'/>")).toMatch(/NumaInvalid: .*already defined/);
    expect(run('', `<cell id='0' cpus='0-1' memory='1048576' unit='KiB'>${CACHE}${CACHE}</cell>`)).toMatch(/NumaInvalid: .*level 1 already defined/);
    expect(run('', `<cell id='0' cpus='0-1' memory='1048576' unit='KiB'>${CACHE.replace("level='1'", "level='4'")}</cell>`)).toMatch(/NumaInvalid: .*level 4/);
  });

  test('QEMU before 5.0 has no HMAT: refused, not dropped', () => {
    expect(errorOf(() => domainToArgv(domainFromXml(xml({ cells: THREE })).domain, { qemuVersion: '4.2' }))).toMatch(/Unrepresentable: .*HMAT.*QEMU 4\.2/);
  });

  test('domxml validate reports the same rules', () => {
    const report = validateDomainXml(xml({ cells: THREE, links: "<latency initiator='2' target='0' type='access' value='5'/>" }));
    expect(report.diagnostics.map((f) => f.code)).toContain('NumaInvalid');
  });

  test("a cache size or line unit libvirt ignores is a validate finding (the value counts in KiB / bytes, as libvirt reads it)", () => {
    const cells = "<cell id='0' cpus='0-1' memory='1048576' unit='KiB'><cache level='1' associativity='none' policy='none'><size value='2' unit='MiB'/><line value='64' unit='B'/></cache></cell>";
    expect(validateDomainXml(xml({ cells })).diagnostics.map((f) => f.code)).toEqual(['NumaCacheUnitIgnored']);
    expect(numa(xml({ cells }))).toContain('hmat-cache,node-id=0,size=2K,level=1,associativity=none,policy=none,line=64');
  });
});

describe('HMAT XML', () => {
  test('caches and interconnects read and written in libvirt order (bandwidth in KiB)', () => {
    const links = "<latency initiator='0' target='2' cache='1' type='write' value='8'/><bandwidth initiator='1' target='2' type='read' value='2' unit='MiB'/>";
    const out = domainToXml(domainFromXml(xml({ cells: THREE, links })).domain);
    expect(out).toContain(
      "<cell id='2' memory='1048576' unit='KiB'>\n        <cache level='1' associativity='direct' policy='writeback'>\n          <size value='10' unit='KiB'/>\n          <line value='8' unit='B'/>\n        </cache>\n      </cell>\n      <interconnects>\n        <latency initiator='0' target='2' cache='1' type='write' value='8'/>\n        <bandwidth initiator='1' target='2' type='read' value='2048' unit='KiB'/>\n      </interconnects>",
    );
  });

  test('a cache needs its line size, as libvirt says', () => {
    const cells = "<cell id='0' cpus='0-1' memory='1048576' unit='KiB'><cache level='1' associativity='none' policy='none'><size value='10'/></cache></cell>";
    expect(errorOf(() => domainFromXml(xml({ cells })))).toMatch(/XmlMissingElement: missing <line> in <cache>/);
  });
});

describe('HMAT from-native', () => {
  test('-numa hmat-lb/hmat-cache and hmat=on read back to the same domain', () => {
    const links = "<latency initiator='0' target='2' type='access' value='7'/><latency initiator='1' target='2' type='read' value='5'/><bandwidth initiator='1' target='2' cache='1' type='write' value='1048576' unit='KiB'/>";
    const dom = domainFromXml(xml({ cells: THREE, links })).domain;
    const back = domainFromArgvText(printArgvLine(domainToArgv(dom).argv));
    expect(back.diagnostics.items.map((d) => d.message)).not.toContainEqual(expect.stringMatching(/hmat|initiator/));
    const strip = (o: unknown) => JSON.parse(JSON.stringify(o, (k, v) => (k === '$span' ? undefined : v)));
    expect(strip(back.domain.cpu?.numa)).toEqual(strip(dom.cpu?.numa));
    expect(strip(back.domain.cpu?.interconnects)).toEqual(strip(dom.cpu?.interconnects));
  });

  test('an initiator libvirt would not derive is reported, as is hmat=on without HMAT data', () => {
    const base = '/usr/bin/qemu-system-x86_64 -machine pc-q35-7.2,hmat=on -m 2048 -smp 2 -object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=1G';
    const derived = domainFromArgvText(`${base} -numa node,nodeid=0,cpus=0-1,initiator=0,memdev=m0 -numa node,nodeid=1,initiator=0,memdev=m1 -numa hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-latency,latency=5`);
    expect(derived.diagnostics.items.map((d) => d.code)).toEqual([]);
    const bad = domainFromArgvText(`${base} -numa node,nodeid=0,cpus=0,initiator=0,memdev=m0 -numa node,nodeid=1,cpus=1,initiator=0,memdev=m1 -numa hmat-cache,node-id=1,size=10K,level=1,associativity=direct,policy=write-back,line=8`);
    expect(bad.diagnostics.items.map((d) => d.code)).toEqual(['NumaInitiatorDerived']);
    const empty = domainFromArgvText(`${base} -numa node,nodeid=0,cpus=0-1,memdev=m0 -numa node,nodeid=1,memdev=m1`);
    expect(empty.diagnostics.items.map((d) => d.code)).toEqual(['IgnoredProperty']);
  });

  test('default distances are left to libvirt to fill in', () => {
    const base = '/usr/bin/qemu-system-x86_64 -machine pc-q35-7.2 -m 2048 -smp 2 -numa node,nodeid=0,cpus=0,mem=1024 -numa node,nodeid=1,cpus=1,mem=1024';
    const dist = (v: number) => `-numa dist,src=0,dst=0,val=10 -numa dist,src=0,dst=1,val=${v} -numa dist,src=1,dst=0,val=${v} -numa dist,src=1,dst=1,val=10`;
    const cells = (v: number, minimal: boolean) => domainFromArgvText(`${base} ${dist(v)}`, undefined, { minimal }).domain.cpu?.numa?.map((c) => c.distances);
    expect(cells(21, true)).toEqual([[{ id: 1, value: 21 }], [{ id: 0, value: 21 }]]);
    expect(cells(21, false)).toEqual([[{ id: 0, value: 10 }, { id: 1, value: 21 }], [{ id: 0, value: 21 }, { id: 1, value: 10 }]]);
    expect(cells(20, false)).toEqual([undefined, undefined]);
  });
});

describe('automatic NUMA placement', () => {
  test('<vcpu placement=auto> makes memory placement automatic; the binding is left out with a warning', () => {
    const r = compile(xml({ vcpu: "<vcpu placement='auto'>2</vcpu>", cells: "<cell id='0' cpus='0-1' memory='1048576' unit='KiB'/>" }));
    expect(r.diagnostics.items.map((d) => d.code)).toEqual(['NumadPlacement']);
    expect(printArgvLine(r.argv)).not.toContain('host-nodes');
  });

  test("define-time: placement spreads between <vcpu> and <numatune>, the mode defaults to strict", () => {
    const back = (head: string, vcpu = '<vcpu>2</vcpu>') => domainToXml(domainFromArgvText(printArgvLine(compile(xml({ head, vcpu, cells: "<cell id='0' cpus='0-1' memory='1048576' unit='KiB'/>" })).argv)).domain);
    const placed = domainFromXml(xml({ vcpu: "<vcpu placement='auto'>2</vcpu>", head: "<numatune><memory mode='interleave'/></numatune>" })).domain;
    expect(domainToArgv(placed).diagnostics.items.map((d) => d.message)).toEqual([expect.stringContaining('(mode interleave)')]);
    // the command line never says numad placed anything: nothing comes back
    expect(back("<numatune><memory placement='auto'/></numatune>")).not.toContain('numatune');
  });

  test('a static <numatune><memory> without nodeset is refused, as libvirt does', () => {
    expect(errorOf(() => compile(xml({ head: "<numatune><memory mode='interleave'/></numatune>", cells: "<cell id='0' cpus='0-1' memory='1048576' unit='KiB'/>" })))).toMatch(/NumaInvalid: .*needs a nodeset/);
  });

  test('<memnode> with automatic placement is refused, as libvirt does', () => {
    const head = "<numatune><memory placement='auto'/><memnode cellid='0' nodeset='0'/></numatune>";
    expect(errorOf(() => compile(xml({ head, cells: "<cell id='0' cpus='0-1' memory='1048576' unit='KiB'/>" })))).toMatch(/NumaInvalid: .*memnode/);
  });
});
