// The memory family: <memoryBacking>, <numatune>, NUMA cell memory and <memory> devices, both ways.
import { argvWords } from '../src/emit/argv.js';
import { domainToArgv } from '../src/emit/to-argv.js';
import { formatIdSet, parseIdSet } from '../src/families/memory.js';
import { domainFromArgvText } from '../src/ir/from-argv.js';
import { domainFromXml } from '../src/ir/from-xml.js';
import { domainToXml } from '../src/ir/to-xml.js';
import { parseQemuConf } from '../src/qemu/config.js';

const HUGE_CONF = parseQemuConf('hugetlbfs_mount = ["/dev/hugepages2M", "/dev/hugepages1G"]\n', 'qemu.conf');

const xml = (o: { machine?: string; head?: string; cells?: string; devices?: string; max?: string }) =>
  `<domain type='kvm'><name>g</name>${o.max ?? ''}<memory unit='KiB'>2097152</memory>${o.head ?? ''}<vcpu>2</vcpu>
    <os><type arch='x86_64' machine='${o.machine ?? 'pc'}'>hvm</type></os>
    ${o.cells ? `<cpu><numa>${o.cells}</numa></cpu>` : ''}
    <devices><emulator>/usr/bin/qemu-system-x86_64</emulator><memballoon model='none'/>${o.devices ?? ''}</devices></domain>`;

const TWO_CELLS = "<cell id='0' cpus='0' memory='1048576' unit='KiB'/><cell id='1' cpus='1' memory='1048576' unit='KiB'/>";

const words = (text: string, opts: Parameters<typeof domainToArgv>[1] = {}) => argvWords({ ...domainToArgv(domainFromXml(text).domain, opts).argv, env: [] });
/** The value after each occurrence of `opt`. */
const values = (w: string[], opt: string) => w.flatMap((x, i) => (x === opt ? [w[i + 1]!] : []));

describe('node sets', () => {
  test('ranges, lists and exclusions read as libvirt reads them', () => {
    expect(parseIdSet('0-3,^2,7')).toEqual([0, 1, 3, 7]);
    expect(formatIdSet([5, 0, 1, 2, 7, 8])).toBe('0-2,5,7-8');
  });
});

describe('NUMA cells to-native', () => {
  test('plain cells on a machine type up to 5.0 take -numa node,mem= (no backends)', () => {
    const w = words(xml({ machine: 'pc-i440fx-4.2', cells: TWO_CELLS }));
    expect(values(w, '-numa')).toEqual(['node,nodeid=0,cpus=0,mem=1024', 'node,nodeid=1,cpus=1,mem=1024']);
    expect(values(w, '-object').some((o) => o.includes('memory-backend'))).toBe(false);
  });
  test('the same cells on a current machine type need memdev= backends', () => {
    const w = words(xml({ cells: TWO_CELLS }));
    expect(values(w, '-numa')).toEqual(['node,nodeid=0,cpus=0,memdev=ram-node0', 'node,nodeid=1,cpus=1,memdev=ram-node1']);
    expect(values(w, '-object')).toContain('{"qom-type":"memory-backend-ram","id":"ram-node0","size":1073741824}');
  });
  test('allocation immediate without backends is -mem-prealloc', () => {
    const w = words(xml({ machine: 'pc-i440fx-4.2', cells: TWO_CELLS, head: "<memoryBacking><allocation mode='immediate'/></memoryBacking>" }));
    expect(w).toContain('-mem-prealloc');
  });
  test('huge pages per node, bound RAM preallocated from a thread-context (QEMU 7.2+)', () => {
    const head = "<memoryBacking><hugepages><page size='1048576' unit='KiB' nodeset='1'/><page size='2048' unit='KiB'/></hugepages></memoryBacking><numatune><memory mode='strict' nodeset='0-1'/></numatune>";
    const w = words(xml({ cells: TWO_CELLS, head }), { config: HUGE_CONF });
    const objs = values(w, '-object');
    expect(objs).toContain('{"qom-type":"thread-context","id":"tc-ram-node1","node-affinity":[0,1]}');
    expect(objs).toContain(
      '{"qom-type":"memory-backend-file","id":"ram-node1","mem-path":"/dev/hugepages1G/libvirt/qemu/-1-g","prealloc":true,"size":1073741824,"host-nodes":[0,1],"policy":"bind","prealloc-context":"tc-ram-node1"}',
    );
    expect(objs.some((o) => o.includes('"id":"ram-node0"') && o.includes('/dev/hugepages2M/'))).toBe(true);
    // QEMU 7.1 has no thread-context
    const old = values(words(xml({ cells: TWO_CELLS, head }), { config: HUGE_CONF, qemuVersion: '7.1' }), '-object');
    expect(old.some((o) => o.includes('thread-context'))).toBe(false);
  });
  test('QEMU before 6.0 (QemuOpts -object): host-nodes as ranges, read back whole', () => {
    const head = "<numatune><memnode cellid='0' mode='strict' nodeset='0-1,3'/></numatune>";
    const w = words(xml({ cells: TWO_CELLS, head }), { qemuVersion: '4.2' });
    const obj = values(w, '-object').find((o) => o.includes('id=ram-node0'));
    expect(obj).toBe('memory-backend-ram,id=ram-node0,size=1073741824,host-nodes=0-1,host-nodes=3,policy=bind');
    const back = domainFromArgvText(`/usr/bin/qemu-system-x86_64 -machine pc-i440fx-4.2 -m 1024 -object ${obj} -numa node,nodeid=0,cpus=0-1,memdev=ram-node0`).domain;
    // one cell: its binding is the domain's
    expect(back.numatune).toEqual({ memory: { mode: 'strict', nodeset: '0-1,3' }, memnodes: [] });
  });
  test('distances follow the nodes, the whole table once one is not a default (libvirt 9.0)', () => {
    const cell0 = (v: number) => `<cell id='0' cpus='0' memory='1' unit='GiB'><distances><sibling id='0' value='10'/><sibling id='1' value='${v}'/></distances></cell><cell id='1' cpus='1' memory='1' unit='GiB'/>`;
    // the reverse distance and node 1's own are filled in: all defaults, nothing to print
    expect(values(words(xml({ cells: cell0(20) })), '-numa').slice(2)).toEqual([]);
    expect(values(words(xml({ cells: cell0(21) })), '-numa').slice(2)).toEqual(['dist,src=0,dst=0,val=10', 'dist,src=0,dst=1,val=21', 'dist,src=1,dst=0,val=21', 'dist,src=1,dst=1,val=10']);
  });
});

describe('memory devices', () => {
  const max = "<maxMemory slots='4' unit='KiB'>8388608</maxMemory>";
  test('dimms get the first free slot and are named after it; sizes align to 2 MiB', () => {
    const devices = "<memory model='dimm'><target><size unit='KiB'>524287</size><node>0</node></target><address type='dimm' slot='1'/></memory><memory model='dimm'><target><size unit='KiB'>524288</size><node>1</node></target></memory>";
    const w = words(xml({ cells: TWO_CELLS, devices, max }));
    expect(values(w, '-device')).toEqual([
      expect.stringContaining('piix3-usb-uhci'),
      '{"driver":"pc-dimm","node":0,"memdev":"memdimm1","id":"dimm1","slot":1}',
      '{"driver":"pc-dimm","node":1,"memdev":"memdimm0","id":"dimm0","slot":0}',
    ]);
    expect(values(w, '-object')).toContain('{"qom-type":"memory-backend-ram","id":"memdimm1","size":536870912}');
    expect(values(w, '-m')).toEqual(['size=2097152k,slots=4,maxmem=8388608k']);
  });
  test('nvdimm: machine nvdimm=on, file backend, read-only as unarmed, pmem without prealloc', () => {
    const devices = "<memory model='nvdimm'><source><path>/tmp/nv</path><pmem/></source><target><size unit='MiB'>512</size><node>0</node><readonly/></target></memory>";
    const w = words(xml({ cells: TWO_CELLS, devices, max }));
    expect(values(w, '-machine')[0]).toMatch(/,nvdimm=on$/);
    expect(values(w, '-object')).toContain('{"qom-type":"memory-backend-file","id":"memnvdimm0","mem-path":"/tmp/nv","size":536870912,"pmem":true}');
    expect(values(w, '-device')).toContain('{"driver":"nvdimm","node":0,"unarmed":true,"memdev":"memnvdimm0","id":"nvdimm0","slot":0}');
  });
  test('virtio-mem takes a PCI slot and reads back', () => {
    const devices = "<memory model='virtio-mem'><target><size unit='GiB'>1</size><node>0</node><block unit='KiB'>2048</block><requested unit='MiB'>512</requested></target></memory>";
    const w = words(xml({ cells: TWO_CELLS, devices, max }));
    expect(values(w, '-device')).toContain('{"driver":"virtio-mem-pci","node":0,"block-size":2097152,"requested-size":536870912,"memdev":"memvirtiomem0","id":"virtiomem0","bus":"pci.0","addr":"0x2"}');
    const back = domainFromArgvText(['/usr/bin/qemu-system-x86_64', ...w].map((x) => `'${x.replace(/'/g, "'\\''")}'`).join(' ')).domain;
    expect(back.devices.memories).toEqual([
      expect.objectContaining({ model: 'virtio-mem', target: { size: 1048576, node: 0, block: 2048, requested: 524288 }, address: expect.objectContaining({ type: 'pci', slot: 2 }) }),
    ]);
  });
});

describe('XML round trip', () => {
  test('memoryBacking, numatune, cell memory and memory devices survive XML -> IR -> XML', () => {
    const head =
      "<memoryBacking><hugepages><page size='2048' unit='KiB' nodeset='0'/></hugepages><nosharepages/><locked/><source type='memfd'/><access mode='shared'/><allocation mode='immediate' threads='2'/><discard/></memoryBacking>";
    const text = xml({
      max: "<maxMemory slots='2' unit='KiB'>4194304</maxMemory>",
      head: `${head}`,
      cells: "<cell id='0' cpus='0-1' memory='2097152' unit='KiB' memAccess='private' discard='yes'/>",
      devices: "<memory model='dimm' access='shared' discard='no'><source><nodemask>0</nodemask><pagesize unit='KiB'>2048</pagesize></source><target><size unit='KiB'>524288</size><node>0</node></target><address type='dimm' slot='0' base='0x100000000'/></memory>",
    }).replace('<vcpu>2</vcpu>', "<vcpu>2</vcpu><numatune><memory mode='interleave' nodeset='0'/><memnode cellid='0' mode='preferred' nodeset='0'/></numatune>");
    const once = domainToXml(domainFromXml(text).domain);
    expect(domainToXml(domainFromXml(once).domain)).toBe(once);
    for (const part of ["<page size='2048' unit='KiB' nodeset='0'/>", '<nosharepages/>', "<allocation mode='immediate' threads='2'/>", "<memnode cellid='0' mode='preferred' nodeset='0'/>", "memAccess='private' discard='yes'", "<address type='dimm' slot='0' base='0x100000000'/>", '<pagesize unit=\'KiB\'>2048</pagesize>']) {
      expect(once).toContain(part);
    }
  });
});

describe('from-native', () => {
  const argv = (s: string) => domainFromArgvText(`/usr/bin/qemu-system-x86_64 -machine pc-i440fx-4.2 ${s}`).domain;
  test('-numa node,mem= cells and -mem-prealloc', () => {
    const d = argv('-m 2048 -smp 2 -mem-prealloc -numa node,nodeid=0,cpus=0,mem=1024 -numa node,nodeid=1,cpus=1,mem=1024');
    expect(d.cpu?.numa?.map((c) => [c.id, c.cpus, c.memory])).toEqual([[0, '0', 1048576], [1, '1', 1048576]]);
    expect(d.memoryBacking?.allocation).toEqual({ mode: 'immediate' });
  });
  test('per-node backends: huge pages, the common binding as <memory>, the odd one a <memnode>', () => {
    const be = (n: number, page: string, nodes: string) =>
      `-object '{"qom-type":"memory-backend-file","id":"ram-node${n}","mem-path":"/dev/hugepages${page}/libvirt/qemu/-1-g","share":true,"prealloc":true,"size":1073741824,"host-nodes":${nodes},"policy":"bind"}' -numa node,nodeid=${n},cpus=${n},memdev=ram-node${n}`;
    const d = argv(`-m 3072 -smp 3 ${be(0, '1G', '[0,1]')} ${be(1, '2M', '[0,1]')} ${be(2, '1G', '[1]')}`);
    expect(d.memoryBacking).toEqual({ hugepages: [{ size: 1048576, nodeset: '0,2' }, { size: 2048, nodeset: '1' }], access: 'shared' });
    expect(d.numatune).toEqual({ memory: { mode: 'strict', nodeset: '0-1' }, memnodes: [{ cellid: 2, mode: 'strict', nodeset: '1' }] });
    expect(d.cpu?.numa?.every((c) => c.memAccess === undefined)).toBe(true);
  });
  test('-overcommit mem-lock=on and -machine mem-merge=off', () => {
    const d = domainFromArgvText('/usr/bin/qemu-system-x86_64 -machine pc,mem-merge=off -m 512 -overcommit mem-lock=on').domain;
    expect(d.memoryBacking).toEqual({ nosharepages: true, locked: true });
  });
});
