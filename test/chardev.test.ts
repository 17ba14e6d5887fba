// Character devices: XML <-> IR, libvirt's console/serial defaults, -chardev/-device and legacy
// -serial/-parallel both ways.
import { argvWords } from '../src/emit/argv.js';
import { domainToArgv } from '../src/emit/to-argv.js';
import { parseLegacyChardev } from '../src/families/chardev.js';
import { applyDefaults } from '../src/ir/defaults.js';
import { domainFromArgvText } from '../src/ir/from-argv.js';
import { domainFromXml } from '../src/ir/from-xml.js';
import { domainToXml } from '../src/ir/to-xml.js';

const domain = (devices: string) =>
  domainFromXml(`<domain type='qemu'><name>g</name><memory>131072</memory>
    <os><type arch='x86_64' machine='pc'>hvm</type></os>
    <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>${devices}</devices></domain>`).domain;

/** The -chardev/-device/-add-fd/-netdev/-serial/-parallel words of a command line. */
const chardevArgs = (devices: string, opts: Parameters<typeof domainToArgv>[1] = {}) => {
  const words = argvWords(domainToArgv(domain(devices), opts).argv);
  const out: string[] = [];
  words.forEach((w, i) => {
    const next = words[i + 1] ?? '';
    if (['-add-fd', '-serial', '-parallel', '-netdev'].includes(w)) out.push(`${w} ${next}`);
    if (w === '-chardev' && !next.includes('charmonitor')) out.push(`${w} ${next}`);
    if (w === '-device' && /serial|parallel|console|debugcon/.test(next) && !next.includes('virtio-serial-pci')) out.push(`${w} ${next}`);
  });
  return out;
};

describe('legacy chardev strings', () => {
  test.each([
    ['pty', { type: 'pty' }],
    ['vc:800x600', { type: 'vc' }],
    ['file:/tmp/a', { type: 'file', path: '/tmp/a' }],
    ['/dev/ttyS2', { type: 'dev', path: '/dev/ttyS2' }],
    ['tcp:127.0.0.1:9999', { type: 'tcp', mode: 'connect', host: '127.0.0.1', service: '9999', protocol: 'raw' }],
    ['telnet::4555,server,nowait', { type: 'tcp', mode: 'bind', service: '4555', protocol: 'telnet' }],
    ['udp:127.0.0.1:9998@127.0.0.1:9999', { type: 'udp', host: '127.0.0.1', service: '9998', bindHost: '127.0.0.1', bindService: '9999' }],
    ['udp::9999@:0', { type: 'udp', service: '9999' }],
    ['unix:/tmp/s,server,nowait', { type: 'unix', mode: 'bind', path: '/tmp/s' }],
    ['mon:stdio', { type: 'stdio' }],
  ])('%s', (text, source) => expect(parseLegacyChardev(text)).toEqual(source));

  test('unknown backends are not guessed', () => expect(parseLegacyChardev('braille')).toBeUndefined());
});

describe('XML', () => {
  test('sources, protocol, log and target round-trip in libvirt order', () => {
    const xml = domainToXml(
      domain(`<serial type='tcp'><source mode='connect' host='h' service='1' tls='yes'><reconnect enabled='yes' timeout='5'/></source>
        <log file='/tmp/log' append='on'/><target type='isa-serial' port='0'><model name='isa-serial'/></target></serial>
        <serial type='udp'><source mode='connect' host='a' service='2'/><source mode='bind' host='b' service='3'/></serial>
        <channel type='tcp'><source mode='bind' host='0.0.0.0' service='10'/><protocol type='telnet'/><target type='guestfwd' address='10.0.2.1' port='4600'/></channel>
        <channel type='qemu-vdagent'><source><clipboard copypaste='no'/><mouse mode='server'/></source><target type='virtio' name='com.redhat.spice.0'/></channel>`),
    );
    expect(xml).toContain(
      `<serial type='tcp'>\n      <source mode='connect' host='h' service='1' tls='yes'>\n        <reconnect enabled='yes' timeout='5'/>\n      </source>\n      <protocol type='raw'/>\n      <log file='/tmp/log' append='on'/>\n      <target type='isa-serial' port='0'>`,
    );
    expect(xml).toContain(`<source mode='bind' host='b' service='3'/>\n      <source mode='connect' host='a' service='2'/>`);
    expect(xml).toContain(`<target type='guestfwd' address='10.0.2.1' port='4600'/>`);
    expect(xml).toContain(`<source>\n        <clipboard copypaste='no'/>\n        <mouse mode='server'/>\n      </source>`);
  });
});

describe('defaults', () => {
  test('no console mirrors a USB or PCI serial card (libvirt 9.0 define adds none)', () => {
    for (const t of ['usb-serial', 'pci-serial']) expect(applyDefaults(domain(`<serial type='pty'><target type='${t}'/></serial>`)).devices.consoles).toEqual([]);
    expect(applyDefaults(domain(`<serial type='pty'><target type='isa-serial'/></serial>`)).devices.consoles).toHaveLength(1);
  });
  test('console 0 mirrors serial 0; ports follow the highest one given', () => {
    const d = applyDefaults(domain(`<serial type='dev'><source path='/dev/ttyS2'/></serial><serial type='file'><source path='/tmp/x'/><target port='0'/></serial>`));
    expect(d.devices.serials.map((s) => [s.targetType, s.targetPort, s.targetModel])).toEqual([
      ['isa-serial', 1, 'isa-serial'],
      ['isa-serial', 0, 'isa-serial'],
    ]);
    expect(d.devices.consoles).toHaveLength(1);
    expect(d.devices.consoles[0]).toMatchObject({ source: { type: 'dev', path: '/dev/ttyS2' }, targetType: 'serial', targetPort: 1 });
  });

  test('a serial console without serials becomes serial 0', () => {
    const d = applyDefaults(domain(`<console type='pty'><target port='0'/></console>`));
    expect(d.devices.serials.map((s) => [s.source.type, s.targetType, s.targetPort])).toEqual([['pty', 'isa-serial', 0]]);
  });

  test('virtio channels get ports from 1, skipping those taken', () => {
    const d = applyDefaults(
      domain(`<channel type='pty'><target type='virtio' name='a'/><address type='virtio-serial' controller='0' bus='0' port='1'/></channel>
        <channel type='pty'><target type='virtio' name='b'/></channel>`),
    );
    expect(d.devices.channels.map((c) => c.address)).toEqual([
      { type: 'virtio-serial', controller: 0, bus: 0, port: 1 },
      { type: 'virtio-serial', controller: 0, bus: 0, port: 2 },
    ]);
    expect(d.devices.controllers.filter((c) => c.type === 'virtio-serial').map((c) => c.index)).toEqual([0]);
  });
});

describe('IR -> argv', () => {
  test('libvirt passes files as fd sets and listening sockets as fds', () => {
    expect(chardevArgs(`<serial type='file'><source path='/tmp/a,b'/></serial><channel type='unix'><source mode='bind'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>`)).toEqual([
      '-add-fd set=0,fd=100,opaque=serial0-source',
      '-chardev file,id=charserial0,path=/dev/fdset/0,append=on',
      '-device {"driver":"isa-serial","chardev":"charserial0","id":"serial0","index":0}',
      '-chardev socket,id=charchannel0,fd=101,server=on,wait=off',
      '-device {"driver":"virtserialport","bus":"virtio-serial0.0","nr":1,"chardev":"charchannel0","id":"channel0","name":"org.qemu.guest_agent.0"}',
    ]);
  });

  test('runnable: paths, with the agent socket under the channel directory', () => {
    expect(
      chardevArgs(`<serial type='file'><source path='/tmp/a,b'/></serial><channel type='unix'><source mode='bind'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>`, {
        runnable: true,
        stateDir: '/var/lib/libvirt/qemu/domain--1-g',
      }),
    ).toEqual([
      '-chardev file,id=charserial0,path=/tmp/a,,b',
      '-device {"driver":"isa-serial","chardev":"charserial0","id":"serial0","index":0}',
      '-chardev socket,id=charchannel0,path=/var/lib/libvirt/qemu/channel/target/domain--1-g/org.qemu.guest_agent.0,server=on,wait=off',
      '-device {"driver":"virtserialport","bus":"virtio-serial0.0","nr":1,"chardev":"charchannel0","id":"channel0","name":"org.qemu.guest_agent.0"}',
    ]);
  });

  test('parallel ports, guestfwd channels and virtio consoles', () => {
    expect(
      chardevArgs(`<parallel type='dev'><source path='/dev/parport0'/></parallel>
        <console type='pty'><target type='virtio'/></console>
        <channel type='pipe'><source path='/tmp/p'/><target type='guestfwd' address='10.0.2.1' port='4600'/></channel>`),
    ).toEqual([
      '-chardev parallel,id=charparallel0,path=/dev/parport0',
      '-device {"driver":"isa-parallel","chardev":"charparallel0","id":"parallel0"}',
      '-chardev pipe,id=charchannel0,path=/tmp/p',
      '-netdev {"type":"user","guestfwd":[{"str":"tcp:10.0.2.1:4600-chardev:charchannel0"}],"id":"channel0"}',
      '-chardev pty,id=charconsole0',
      '-device {"driver":"virtconsole","chardev":"charconsole0","id":"console0"}',
    ]);
  });

  test('QEMU 0.12: -serial and -parallel strings', () => {
    expect(
      chardevArgs(`<serial type='tcp'><source mode='bind' host='127.0.0.1' service='9999'/><protocol type='telnet'/></serial>
        <serial type='unix'><source mode='connect' path='/tmp/s'/></serial><parallel type='file'><source path='/tmp/p'/></parallel>`, { qemuVersion: '0.12' }),
    ).toEqual(['-serial telnet:127.0.0.1:9999,server,nowait', '-serial unix:/tmp/s', '-parallel file:/tmp/p']);
  });
});

describe('argv -> IR', () => {
  test('-chardev/-device pairs; libvirt monitor dropped', () => {
    const { domain: d } = domainFromArgvText(
      `qemu-system-x86_64 -chardev socket,id=charmonitor,path=/m,server=on,wait=off -mon chardev=charmonitor,id=monitor,mode=control
       -chardev udp,id=charserial0,host=127.0.0.1,port=2222,localaddr=127.0.0.1,localport=1111
       -device '{"driver":"isa-serial","chardev":"charserial0","id":"serial0","index":0}'
       -chardev spicevmc,id=charchannel0,name=vdagent
       -device virtserialport,bus=virtio-serial0.0,nr=3,chardev=charchannel0,id=channel0,name=com.redhat.spice.0
       -chardev socket,id=charchannel1,path=/tmp/fwd
       -netdev '{"type":"user","guestfwd":[{"str":"tcp:10.0.2.1:4600-chardev:charchannel1"}],"id":"channel1"}'`,
      undefined,
      { minimal: true },
    );
    expect(d.devices.serials).toMatchObject([{ source: { type: 'udp', host: '127.0.0.1', service: '2222', bindHost: '127.0.0.1', bindService: '1111' }, targetType: 'isa-serial', targetPort: 0 }]);
    expect(d.devices.channels).toMatchObject([
      { source: { type: 'spicevmc' }, targetType: 'virtio', targetName: 'com.redhat.spice.0', address: { type: 'virtio-serial', controller: 0, bus: 0, port: 3 } },
      { source: { type: 'unix', mode: 'connect', path: '/tmp/fwd' }, targetType: 'guestfwd', targetAddress: '10.0.2.1', targetPort: 4600 },
    ]);
    expect(d.qemuCommandline).toBeUndefined();
  });

  test('legacy -serial/-parallel/-monitor', () => {
    const { domain: d } = domainFromArgvText('qemu -monitor unix:/tmp/m,server,nowait -serial file:/tmp/s -serial none -parallel /dev/parport0', undefined, { minimal: true });
    expect(d.devices.serials.map((s) => s.source)).toEqual([{ type: 'file', path: '/tmp/s' }]);
    expect(d.devices.parallels.map((s) => s.source)).toEqual([{ type: 'dev', path: '/dev/parport0' }]);
    expect(d.qemuCommandline).toBeUndefined();
  });

  test("a monitor on the terminal is virsh's under libvirt (left out, with a warning); a telnet one is kept; a manager's socket or pty is not", () => {
    const read = (args: string) => domainFromArgvText(`qemu ${args}`, undefined, { minimal: true }).domain.qemuCommandline?.args;
    const r = domainFromArgvText('qemu -monitor stdio', undefined, { minimal: true });
    expect(r.domain.qemuCommandline).toBeUndefined();
    expect(r.diagnostics.items.map((d) => d.code)).toEqual(['EmulatorPath', 'ReplacedByLibvirt']);
    expect(read('-monitor telnet:127.0.0.1:4444,server,nowait')).toEqual(['-monitor', 'telnet:127.0.0.1:4444,server,nowait']);
    expect(read('-monitor pty -monitor control,unix:/var/lib/libvirt/qemu/g.monitor,server,nowait')).toBeUndefined();
  });
});
