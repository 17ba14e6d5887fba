// <filesystem>, <rng>, <tpm> and <vsock>: XML round trip, argv both ways, version and runnable
// variants the golden cases do not cover.
import { argvWords, printArgvLine } from '../src/emit/argv.js';
import { domainToArgv } from '../src/emit/to-argv.js';
import { domainFromArgvText } from '../src/ir/from-argv.js';
import { domainFromXml } from '../src/ir/from-xml.js';
import { domainToXml } from '../src/ir/to-xml.js';

const xml = (devices: string, machine = 'pc') =>
  `<domain type='qemu'><name>g</name><memory>131072</memory>
    <os><type arch='x86_64' machine='${machine}'>hvm</type></os>
    <devices><emulator>/usr/bin/qemu-system-x86_64</emulator><memballoon model='none'/>${devices}</devices></domain>`;

const emit = (text: string, opts: Parameters<typeof domainToArgv>[1] = {}) => {
  const { argv, diagnostics } = domainToArgv(domainFromXml(text).domain, opts);
  return { argv, words: argvWords({ ...argv, env: [] }), warnings: diagnostics.items.map((d) => d.code) };
};
const values = (w: string[], opt: string) => w.flatMap((x, i) => (x === opt ? [w[i + 1]!] : []));
/** The devices part of the XML libvirt-style output, one element per line. */
const devicesXml = (text: string) => /<devices>[\s\S]*<\/devices>/.exec(domainToXml(domainFromXml(text).domain))![0];

describe('XML round trip', () => {
  test.each([
    ["<filesystem type='mount' accessmode='mapped' model='virtio-transitional' multidevs='warn' fmode='0600' dmode='0700'>\n" +
      "      <driver type='path' wrpolicy='immediate' iommu='on' ats='off' packed='on' page_per_vq='on'/>\n" +
      "      <source dir='/a'/>\n      <target dir='t'/>\n      <readonly/>\n    </filesystem>"],
    ["<filesystem type='mount'>\n      <driver type='virtiofs' queue='1024'/>\n" +
      "      <binary path='/usr/libexec/virtiofsd' xattr='on'>\n        <cache mode='always'/>\n        <sandbox mode='chroot'/>\n" +
      "        <lock posix='off' flock='off'/>\n        <thread_pool size='16'/>\n      </binary>\n" +
      "      <source dir='/path'/>\n      <target dir='tag'/>\n      <boot order='1'/>\n    </filesystem>"],
    ["<tpm model='tpm-crb'>\n      <backend type='emulator' version='2.0' persistent_state='yes'>\n" +
      "        <encryption secret='b4a117f1-8af2-44a4-91b8-7f0d2d4d68a3'/>\n        <active_pcr_banks>\n          <sha256/>\n          <sha512/>\n" +
      "        </active_pcr_banks>\n      </backend>\n    </tpm>"],
    ["<tpm model='tpm-tis'>\n      <backend type='external'>\n        <source type='unix' mode='connect' path='/tmp/s'/>\n      </backend>\n    </tpm>"],
    ["<rng model='virtio'>\n      <rate bytes='123' period='1234'/>\n      <backend model='egd' type='tcp'>\n" +
      "        <source mode='connect' host='h' service='1'/>\n        <protocol type='raw'/>\n      </backend>\n" +
      "      <driver iommu='on'/>\n      <alias name='ua-r'/>\n    </rng>"],
    ["<vsock model='virtio'>\n      <cid auto='no' address='4'/>\n      <driver packed='on'/>\n    </vsock>"],
  ])('%s', (element) => {
    expect(devicesXml(xml(element))).toContain(element);
  });

  test('fmode is octal: 644 is written 0644', () => {
    expect(devicesXml(xml("<filesystem accessmode='mapped' fmode='644'><source dir='/a'/><target dir='t'/></filesystem>"))).toContain("fmode='0644'");
  });
});

describe('to-native', () => {
  test('QEMU before 4.0: a transitional model is the plain device offering both interfaces', () => {
    const w = emit(xml("<rng model='virtio-transitional'><backend model='random'/></rng>"), { qemuVersion: '3.1' }).words;
    expect(values(w, '-device').find((d) => d.includes('virtio-rng-pci'))).toBe('virtio-rng-pci,disable-legacy=off,disable-modern=off,rng=objrng0,id=rng0,bus=pci.0,addr=0x2');
    expect(values(w, '-object')).toContain('rng-random,id=objrng0,filename=/dev/random');
  });

  test('runnable: the host TPM by path, no fd sets', () => {
    const w = emit(xml("<tpm model='tpm-tis'><backend type='passthrough'><device path='/dev/tpm1'/></backend></tpm>"), { runnable: true }).words;
    expect(values(w, '-tpmdev')).toEqual(['passthrough,id=tpm-tpm0,path=/dev/tpm1']);
    expect(values(w, '-add-fd')).toEqual([]);
  });

  test("vsock <cid auto='yes'>: 0 as libvirt prints it before start; runnable picks 3 with a warning", () => {
    const auto = xml("<vsock><cid auto='yes'/></vsock>");
    expect(values(emit(auto).words, '-device').find((d) => d.includes('vhost-vsock'))).toContain('"guest-cid":0');
    const runnable = emit(auto, { runnable: true });
    expect(values(runnable.words, '-device').find((d) => d.includes('vhost-vsock'))).toBe('{"driver":"vhost-vsock-pci","id":"vsock0","guest-cid":3,"bus":"pci.0","addr":"0x2"}');
    expect(runnable.warnings).toContain('RunnableSubstitute');
  });

  test('virtiofs without a socket: virtiofsd listens in the domain state directory', () => {
    const w = emit(xml("<filesystem><driver type='virtiofs'/><source dir='/p'/><target dir='t'/></filesystem>"), { stateDir: '/run/d' }).words;
    expect(values(w, '-chardev')).toContain('socket,id=chr-vu-fs0,path=/run/d/fs0-fs.sock');
  });

  test('9p is PCIe on q35 (a root port), like other virtio devices', () => {
    const w = emit(xml("<filesystem><source dir='/p'/><target dir='t'/></filesystem>", 'q35')).words;
    expect(values(w, '-device').find((d) => d.includes('virtio-9p-pci'))).toMatch(/"bus":"pci\.\d+","addr":"0x0"/);
  });
});

describe('from-native', () => {
  const back = (devices: string, machine = 'pc') => {
    const { argv } = emit(xml(devices, machine));
    return domainToXml(domainFromArgvText(printArgvLine(argv)).domain);
  };

  test('a socket in the swtpm directory is the emulator libvirt runs; another is external', () => {
    expect(back("<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>")).toMatch(/<tpm model='tpm-crb'>\s*<backend type='emulator'\/>/);
    expect(back("<tpm><backend type='external'><source type='unix' mode='connect' path='/s'/></backend></tpm>")).toContain("<source type='unix' mode='connect' path='/s'/>");
  });

  test('squash is security_model=none; handle has no security model', () => {
    const x = back("<filesystem accessmode='squash'><source dir='/a'/><target dir='a'/></filesystem><filesystem><driver type='handle'/><source dir='/b'/><target dir='b'/></filesystem>");
    expect(x).toContain("<filesystem type='mount' accessmode='squash'>");
    expect(x).toContain("<driver type='handle'/>");
  });

  test('a hand-written script: -virtfs, a bare rng object, vsock and a host TPM by path', () => {
    const script = 'qemu-system-x86_64 -m 512 -virtfs local,path=/srv/x,mount_tag=host0,security_model=mapped-xattr,readonly=on,id=host0 ' +
      '-object rng-random,filename=/dev/urandom,id=rng0 -device virtio-rng-pci,rng=rng0 -device vhost-vsock-pci,guest-cid=3 ' +
      '-tpmdev passthrough,id=tpm0,path=/dev/tpm0 -device tpm-tis,tpmdev=tpm0';
    const { domain, diagnostics } = domainFromArgvText(script, 'script', { minimal: true });
    expect(diagnostics.items.map((d) => d.code)).toEqual(['EmulatorPath']);
    expect(domain.devices.filesystems).toEqual([expect.objectContaining({ accessmode: 'mapped', source: { dir: '/srv/x' }, target: 'host0', readonly: true })]);
    expect(domain.devices.rngs).toEqual([expect.objectContaining({ model: 'virtio', backend: { model: 'random', device: '/dev/urandom' } })]);
    expect(domain.devices.vsock).toEqual(expect.objectContaining({ autoCid: false, cid: 3 }));
    expect(domain.devices.tpms).toEqual([expect.objectContaining({ model: 'tpm-tis', backend: { type: 'passthrough', device: '/dev/tpm0' } })]);
  });

  test('rng: the default period is not written back; builtin and random read back', () => {
    const x = back("<rng model='virtio'><rate bytes='10'/><backend model='builtin'/></rng><rng model='virtio-non-transitional'><backend model='random'>/dev/hwrng</backend></rng>");
    expect(x).toContain("<rate bytes='10'/>");
    expect(x).toContain("<backend model='builtin'/>");
    expect(x).toContain("<rng model='virtio-non-transitional'>\n      <backend model='random'>/dev/hwrng</backend>");
  });
});
