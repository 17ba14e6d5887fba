// Graphics, video, sound/audio and input families: libvirt 9.0's rules for default audio
// backends, listen addresses, ports, video defaults and USB ports, checked against virsh output.
import { argvWords } from '../src/emit/argv.js';
import { domainToArgv } from '../src/emit/to-argv.js';
import { domainFromArgvText } from '../src/ir/from-argv.js';
import { domainFromXml } from '../src/ir/from-xml.js';
import { domainToXml } from '../src/ir/to-xml.js';
import { DEFAULT_CONF, type QemuConf } from '../src/qemu/config.js';

const domain = (devices: string) =>
  domainFromXml(`<domain type='qemu'><name>g</name><memory>131072</memory>
    <os><type arch='x86_64' machine='pc'>hvm</type></os>
    <devices><emulator>/usr/bin/qemu-system-x86_64</emulator><memballoon model='none'/>${devices}</devices></domain>`).domain;

const OPTS = /^-(vnc|spice|display|audiodev|k|soundhw|full-screen|vga|usbdevice|object)$/;
const DEVICES = /vga|qxl|virtio-gpu|bochs|ramfb|sound|hda|AC97|ES1370|sb16|usb-audio|tablet|usb-mouse|usb-kbd|virtio-(mouse|keyboard|input)|usb-hub/;

/** The display, sound and input words of a command line, and its environment. */
const run = (devices: string, opts: Parameters<typeof domainToArgv>[1] = {}) => {
  const { argv } = domainToArgv(domain(devices), opts);
  const words = argvWords({ ...argv, env: [] });
  const out: string[] = [];
  words.forEach((w, i) => {
    const next = words[i + 1] ?? '';
    if (OPTS.test(w) && !next.includes('masterKey0') && !next.includes('memory-backend')) out.push(/^-(full-screen)$/.test(w) ? w : `${w} ${next}`);
    if (w === '-device' && DEVICES.test(next)) out.push(`${w} ${next}`);
  });
  return { out, env: Object.fromEntries(argv.env) };
};

const conf = (c: Partial<QemuConf>): QemuConf => ({ ...DEFAULT_CONF, ...c });

describe('default audio backend (libvirt 9.0)', () => {
  test('no graphics: none', () => {
    expect(run('').out).toEqual(['-display none', '-audiodev {"id":"audio1","driver":"none"}']);
  });
  test('spice: spice', () => {
    expect(run("<graphics type='spice'/>").out.slice(0, 2)).toEqual(['-audiodev {"id":"audio1","driver":"spice"}', '-spice port=0,disable-ticketing=on,seamless-migration=on']);
  });
  test('vnc with host audio takes QEMU_AUDIO_DRV from libvirt\'s environment', () => {
    const r = run("<graphics type='vnc'/>", { config: conf({ vncAllowHostAudio: true }), hostEnv: { QEMU_AUDIO_DRV: 'pa' } });
    expect(r.out.slice(0, 2)).toEqual(['-audiodev {"id":"audio1","driver":"pa"}', '-vnc 127.0.0.1:0,audiodev=audio1']);
  });
  test('sdl passes SDL_AUDIODRIVER on to QEMU', () => {
    const r = run("<graphics type='sdl'/>", { hostEnv: { QEMU_AUDIO_DRV: 'sdl', SDL_AUDIODRIVER: 'esd' } });
    expect(r.env.SDL_AUDIODRIVER).toBe('esd');
    expect(r.out).toContain('-audiodev {"id":"audio1","driver":"sdl"}');
  });
  test('egl-headless alone gets no backend', () => {
    expect(run("<graphics type='egl-headless'><gl rendernode='/dev/dri/r'/></graphics>").out.filter((w) => w.startsWith('-audiodev'))).toEqual([]);
  });
});

describe('graphics', () => {
  test('vnc: port, keymap, share policy, password', () => {
    expect(run("<graphics type='vnc' port='5905' autoport='no' keymap='de' passwd='x' sharePolicy='force-shared'/><video><model type='vga'/></video>").out).toEqual([
      '-audiodev {"id":"audio1","driver":"none"}',
      '-vnc 127.0.0.1:5,share=force-shared,password=on,audiodev=audio1',
      '-k de',
      '-device {"driver":"VGA","id":"video0","vgamem_mb":16,"bus":"pci.0","addr":"0x2"}',
    ]);
  });
  test('vnc_auto_unix_socket turns an address-less listen into a socket', () => {
    const r = run("<graphics type='vnc'/>", { config: conf({ vncAutoUnixSocket: true }), stateDir: '/run/d' });
    expect(r.out).toContain('-vnc vnc=unix:/run/d/vnc.sock,audiodev=audio1');
  });
  test('spice autoport with TLS: ports from the range start, channels in libvirt order', () => {
    const r = run("<graphics type='spice' autoport='yes'><channel name='inputs' mode='insecure'/><channel name='main' mode='secure'/></graphics>", {
      config: conf({ spiceTls: true, spiceTlsX509CertDir: '/pki', spicePassword: 'p' }),
    });
    expect(r.out).toContain('-spice port=5901,tls-port=5902,addr=127.0.0.1,x509-dir=/pki,tls-channel=main,plaintext-channel=inputs,seamless-migration=on');
  });
  test('spice: a TLS port needs spice_tls', () => {
    expect(() => run("<graphics type='spice' port='5900' tlsPort='5901' autoport='no'/>")).toThrow(/spice_tls/);
  });
  test('sdl: X display in the environment, -full-screen, -display sdl', () => {
    const r = run("<graphics type='sdl' display=':0' xauth='/x' fullscreen='yes'><gl enable='yes'/></graphics>");
    expect(r.env).toMatchObject({ DISPLAY: ':0', XAUTHORITY: '/x' });
    expect(r.out).toEqual(expect.arrayContaining(['-full-screen', '-display sdl,gl=on']));
  });
});

describe('video', () => {
  test('graphics without video get cirrus; qxl gets its default sizes', () => {
    expect(run("<graphics type='vnc'/>").out).toContain('-device {"driver":"cirrus-vga","id":"video0","bus":"pci.0","addr":"0x2"}');
    expect(run("<video><model type='qxl'/></video><video><model type='virtio'/></video>").out.filter((w) => w.startsWith('-device'))).toEqual([
      '-device {"driver":"qxl-vga","id":"video0","max_outputs":1,"ram_size":67108864,"vram_size":67108864,"vram64_size_mb":0,"vgamem_mb":16,"bus":"pci.0","addr":"0x2"}',
      '-device {"driver":"virtio-gpu-pci","id":"video1","max_outputs":1,"bus":"pci.0","addr":"0x3"}',
    ]);
  });
  test('a secondary card must be qxl or virtio', () => {
    expect(() => run("<video><model type='vga'/></video><video><model type='cirrus'/></video>")).toThrow(/secondary/);
  });
  test('legacy QEMU: -vga', () => {
    expect(run("<graphics type='vnc' port='5901' autoport='no'/><video><model type='vga'/></video>", { qemuVersion: '0.12' }).out).toEqual(['-vnc 127.0.0.1:1', '-vga std']);
  });
});

describe('sound', () => {
  test('HDA codecs, PC speaker, ISA and USB cards, a hub when the root ports run out', () => {
    const r = run(
      "<sound model='sb16'/><sound model='usb'/><sound model='ich9'><codec type='micro'/></sound><sound model='pcspk'/>" +
        "<input type='tablet' bus='usb'/><input type='keyboard' bus='usb'/>",
    );
    expect(r.out).toEqual([
      '-display none',
      '-device {"driver":"usb-hub","id":"hub0","bus":"usb.0","port":"1"}',
      '-device {"driver":"usb-tablet","id":"input0","bus":"usb.0","port":"2"}',
      '-device {"driver":"usb-kbd","id":"input1","bus":"usb.0","port":"1.1"}',
      '-audiodev {"id":"audio1","driver":"none"}',
      '-device {"driver":"sb16","id":"sound0","audiodev":"audio1"}',
      '-device {"driver":"usb-audio","id":"sound1","audiodev":"audio1","bus":"usb.0","port":"1.2"}',
      '-device {"driver":"ich9-intel-hda","id":"sound2","bus":"pci.0","addr":"0x2"}',
      '-device {"driver":"hda-micro","id":"sound2-codec0","bus":"sound2.0","cad":0,"audiodev":"audio1"}',
      '-soundhw pcspk',
    ]);
  });
  test('<audio> settings become -audiodev in/out', () => {
    expect(run(`<audio id='1' type='oss' tryMMap='yes' dspPolicy='3'><input fixedSettings='yes' voices='1' dev='/dev/dsp0' tryPoll='no'><settings frequency='44100'/></input></audio>`).out).toContain(
      '-audiodev {"id":"audio1","driver":"oss","try-mmap":true,"dsp-policy":3,"in":{"fixed-settings":true,"voices":1,"frequency":44100,"dev":"/dev/dsp0","try-poll":false}}',
    );
  });
});

describe('argv -> XML', () => {
  const xml = (args: string) => domainToXml(domainFromArgvText(`/usr/bin/qemu-system-x86_64 ${args}`).domain);
  test('-vnc, -k and -vga', () => {
    const x = xml("-vnc '[::]:59630,share=allow-exclusive' -k de -vga cirrus");
    expect(x).toContain(`<graphics type='vnc' port='65530' autoport='no' listen='::' keymap='de' sharePolicy='allow-exclusive'>`);
    expect(x).toContain(`<model type='cirrus' vram='16384' heads='1' primary='yes'/>`);
  });
  test('no card: -vga none, or -nodefaults without one, beside graphics is <model type=none/>', () => {
    const none = `<video>\n      <model type='none'/>\n    </video>`;
    expect(xml('-vga none -spice port=5930')).toContain(none);
    expect(xml('-nodefaults -vnc :1')).toContain(none);
    // without graphics there is no <video> at all; without -nodefaults QEMU adds its default card
    expect(xml('-vga none')).not.toContain('<video>');
    expect(xml('-vnc :1')).toContain(`<model type='cirrus'`);
    // a card given as a device wins over -vga none
    expect(xml('-vga none -vnc :1 -device virtio-vga')).toContain(`<model type='virtio'`);
  });
  test('-soundhw and -audiodev', () => {
    const x = xml(`-soundhw es1370,hda -audiodev '{"id":"audio1","driver":"pa","server":"s"}'`);
    expect(x).toContain(`<sound model='es1370'>`);
    expect(x).toContain(`<sound model='ich6'>`);
    expect(x).toContain(`<audio id='1' type='pulseaudio' serverName='s'/>`);
  });
  test("-audiodev pipewire (QEMU 8.1, after libvirt 9.0) is read as the pulseaudio back end it also serves; virtio-sound-pci stays on the command line", () => {
    const r = domainFromArgvText('/usr/bin/qemu-system-x86_64 -audiodev pipewire,id=snd0,out.name=sink,out.latency=20000 -device ich9-intel-hda -device hda-output,audiodev=snd0 -device virtio-sound-pci,audiodev=snd0');
    const x = domainToXml(r.domain);
    expect(x).toContain(`<audio id='1' type='pulseaudio'>\n      <output name='sink' latency='20000'/>`);
    expect(x).not.toContain('pipewire');
    expect(r.domain.qemuCommandline?.args).toEqual(['-device', 'virtio-sound-pci,audiodev=snd0']);
    expect(r.diagnostics.items.map((d) => d.code)).toContain('NewerThanLibvirt');
  });
  test('-machine pcspk-audiodev= (QEMU 7.1) is the PC speaker, as -soundhw pcspk', () => {
    const r = domainFromArgvText('/usr/bin/qemu-system-x86_64 -machine pc,pcspk-audiodev=snd0 -audiodev pa,id=snd0 -vnc :0');
    expect(r.domain.devices.sounds).toEqual([expect.objectContaining({ model: 'pcspk', audioId: 1 })]);
    expect(r.domain.qemuCommandline).toBeUndefined();
  });
  test('-object input-linux is an evdev input', () => {
    expect(xml(`-object '{"qom-type":"input-linux","id":"input0","evdev":"/dev/input/e1","repeat":true,"grab_all":true}'`)).toContain(
      `<source dev='/dev/input/e1' grab='all' repeat='on'/>`,
    );
  });
});
