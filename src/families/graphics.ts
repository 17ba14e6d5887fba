// <graphics>: vnc, sdl, spice, egl-headless, dbus. argv: -display none / -nographic when there is
// none, -vnc, -spice, -display sdl|egl-headless|dbus (legacy -sdl), -k, env DISPLAY/XAUTHORITY.
import type { ArgvReader } from '../ir/argv-reader.js';
import { optProps, optText } from '../ir/argv-reader.js';
import { SPICE_CHANNELS, type Graphics, type GraphicsGl, type GraphicsListen, type SpiceChannelName, type SpiceMode } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import { buildSecretObject, claimSecretObject } from './secret.js';
import { settleTlsCreds } from './chardev.js';
import { propBool, propNum, propStr, props, splitQemuOpts, type Props } from '../qemu/props.js';
import { domainShortName, type EmitContext } from '../emit/context.js';
import { fail, type Span } from '../errors.js';
import { child, children, el, type XmlElement } from '../xml/tree.js';
import { boolAttr, checkEnum, enumAttr, intAttr, reqAttr, yesNo } from '../xml/values.js';
import { audioIdString } from './sound.js';

const TYPES = ['vnc', 'sdl', 'spice', 'egl-headless', 'dbus', 'rdp', 'desktop'] as const;
const LISTEN_TYPES = ['address', 'network', 'socket', 'none'] as const;
const MODES = ['secure', 'insecure', 'any'] as const;
const CONNECTED = ['keep', 'disconnect', 'fail'] as const;
const SHARE_POLICIES = ['allow-exclusive', 'force-shared', 'ignore'] as const;
const VNC_KNOWN = new Set(['listen', 'audio']);
const SPICE_KNOWN = new Set(['listen', 'channel', 'image', 'jpeg', 'zlib', 'playback', 'streaming', 'clipboard', 'mouse', 'filetransfer', 'gl']);

/** The <listen> children, or the legacy listen=/socket= attributes when there are none. */
function readListens(e: XmlElement): GraphicsListen[] {
  const ls = children(e, 'listen').map((l): GraphicsListen => {
    const type = checkEnum(l, 'listen type', reqAttr(l, 'type'), LISTEN_TYPES);
    return {
      type,
      ...(l.attrs.address !== undefined ? { address: l.attrs.address } : {}),
      ...(l.attrs.network !== undefined ? { network: l.attrs.network } : {}),
      ...(l.attrs.socket !== undefined ? { socket: l.attrs.socket } : {}),
    };
  });
  if (ls.length) return ls;
  if (e.attrs.socket !== undefined) return [{ type: 'socket', socket: e.attrs.socket }];
  if (e.attrs.listen !== undefined) return [{ type: 'address', address: e.attrs.listen }];
  return [];
}

function readGl(e: XmlElement | undefined): GraphicsGl | undefined {
  if (!e) return undefined;
  const enable = boolAttr(e, 'enable');
  return { ...(enable !== undefined ? { enable } : {}), ...(e.attrs.rendernode !== undefined ? { rendernode: e.attrs.rendernode } : {}) };
}

function readAuth(e: XmlElement) {
  const connected = enumAttr(e, 'connected', CONNECTED);
  return {
    ...(e.attrs.passwd !== undefined ? { passwd: e.attrs.passwd } : {}),
    ...(e.attrs.passwdValidTo !== undefined ? { passwdValidTo: e.attrs.passwdValidTo } : {}),
    ...(connected ? { connected } : {}),
  };
}

const opt = <K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } => (v === undefined ? {} : ({ [k]: v } as { [P in K]: V }));

export function readGraphicsXml(e: XmlElement): Graphics {
  const type = checkEnum(e, 'graphics type', reqAttr(e, 'type'), TYPES);
  switch (type) {
    case 'vnc': {
      const audio = child(e, 'audio');
      return {
        type,
        ...opt('port', intAttr(e, 'port')),
        ...opt('autoport', boolAttr(e, 'autoport')),
        ...opt('websocket', intAttr(e, 'websocket')),
        ...opt('keymap', e.attrs.keymap),
        ...opt('sharePolicy', enumAttr(e, 'sharePolicy', SHARE_POLICIES)),
        ...opt('powerControl', boolAttr(e, 'powerControl')),
        ...readAuth(e),
        listens: readListens(e),
        ...opt('audioId', audio ? intAttr(audio, 'id') : undefined),
        extra: e.children.filter((c) => !VNC_KNOWN.has(c.name)),
        $span: e.span,
      };
    }
    case 'sdl':
      return {
        type,
        ...opt('display', e.attrs.display),
        ...opt('xauth', e.attrs.xauth),
        ...opt('fullscreen', boolAttr(e, 'fullscreen')),
        ...opt('gl', readGl(child(e, 'gl'))),
        extra: e.children.filter((c) => c.name !== 'gl'),
        $span: e.span,
      };
    case 'spice': {
      const channels = children(e, 'channel').map((c) => ({
        name: checkEnum(c, 'spice channel name', reqAttr(c, 'name'), SPICE_CHANNELS),
        mode: checkEnum(c, 'spice channel mode', reqAttr(c, 'mode'), MODES),
      }));
      // NB: libvirt keeps one mode per channel and writes them in its channel order
      channels.sort((a, b) => SPICE_CHANNELS.indexOf(a.name) - SPICE_CHANNELS.indexOf(b.name));
      const sub = (name: string, attr: string) => child(e, name)?.attrs[attr];
      const subBool = (name: string, attr: string) => {
        const c = child(e, name);
        return c ? boolAttr(c, attr) : undefined;
      };
      const playback = sub('playback', 'compression');
      return {
        type,
        ...opt('port', intAttr(e, 'port')),
        ...opt('tlsPort', intAttr(e, 'tlsPort')),
        ...opt('autoport', boolAttr(e, 'autoport')),
        ...opt('keymap', e.attrs.keymap),
        ...opt('defaultMode', enumAttr(e, 'defaultMode', MODES)),
        ...readAuth(e),
        listens: readListens(e),
        channels,
        ...opt('image', sub('image', 'compression')),
        ...opt('jpeg', sub('jpeg', 'compression')),
        ...opt('zlib', sub('zlib', 'compression')),
        ...opt('playback', playback === undefined ? undefined : playback === 'on'),
        ...opt('streaming', sub('streaming', 'mode')),
        ...opt('copypaste', subBool('clipboard', 'copypaste')),
        ...opt('mouse', child(e, 'mouse') ? checkEnum(child(e, 'mouse')!, 'spice mouse mode', reqAttr(child(e, 'mouse')!, 'mode'), ['server', 'client'] as const) : undefined),
        ...opt('filetransfer', subBool('filetransfer', 'enable')),
        ...opt('gl', readGl(child(e, 'gl'))),
        extra: e.children.filter((c) => !SPICE_KNOWN.has(c.name)),
        $span: e.span,
      };
    }
    case 'egl-headless':
      return { type, ...opt('gl', readGl(child(e, 'gl'))), extra: e.children.filter((c) => c.name !== 'gl'), $span: e.span };
    default: {
      const { type: _t, ...attrs } = e.attrs;
      return { type, attrs, extra: e.children, $span: e.span };
    }
  }
}

function writeListens(ls: readonly GraphicsListen[]): XmlElement[] {
  return ls.map((l) => el('listen', { type: l.type, address: l.address, network: l.network, socket: l.socket }));
}

function writeGl(gl: GraphicsGl | undefined): XmlElement | undefined {
  return gl && el('gl', { enable: yesNo(gl.enable), rendernode: gl.rendernode });
}

export function writeGraphicsXml(g: Graphics): XmlElement {
  const first = (g.type === 'vnc' || g.type === 'spice') ? g.listens[0] : undefined;
  // NB: libvirt repeats the first listen address (or vnc socket) as an attribute, for old readers
  const listenAttr = first?.type === 'address' ? first.address : undefined;
  switch (g.type) {
    case 'vnc': {
      const socket = first?.type === 'socket' ? first.socket : undefined;
      return el(
        'graphics',
        {
          type: 'vnc', socket,
          port: socket ? undefined : g.port, autoport: socket ? undefined : yesNo(g.autoport), websocket: g.websocket, listen: listenAttr,
          keymap: g.keymap, sharePolicy: g.sharePolicy, powerControl: yesNo(g.powerControl),
          passwd: g.passwd, passwdValidTo: g.passwdValidTo, connected: g.connected,
        },
        writeListens(g.listens),
        g.audioId !== undefined && el('audio', { id: g.audioId }),
        g.extra,
      );
    }
    case 'sdl':
      return el('graphics', { type: 'sdl', display: g.display, xauth: g.xauth, fullscreen: yesNo(g.fullscreen) }, writeGl(g.gl), g.extra);
    case 'spice': {
      const c = (name: string, attr: string, v: string | undefined) => v !== undefined && el(name, { [attr]: v });
      return el(
        'graphics',
        {
          type: 'spice', port: g.port, tlsPort: g.tlsPort, autoport: yesNo(g.autoport), listen: listenAttr,
          keymap: g.keymap, defaultMode: g.defaultMode, passwd: g.passwd, passwdValidTo: g.passwdValidTo, connected: g.connected,
        },
        writeListens(g.listens),
        g.channels.map((ch) => el('channel', { name: ch.name, mode: ch.mode })),
        c('image', 'compression', g.image),
        c('jpeg', 'compression', g.jpeg),
        c('zlib', 'compression', g.zlib),
        c('playback', 'compression', g.playback === undefined ? undefined : g.playback ? 'on' : 'off'),
        c('streaming', 'mode', g.streaming),
        c('clipboard', 'copypaste', yesNo(g.copypaste)),
        c('mouse', 'mode', g.mouse),
        c('filetransfer', 'enable', yesNo(g.filetransfer)),
        writeGl(g.gl),
        g.extra,
      );
    }
    case 'egl-headless':
      return el('graphics', { type: 'egl-headless' }, writeGl(g.gl), g.extra);
    default:
      return el('graphics', { type: g.type, ...g.attrs }, g.extra);
  }
}

// --- IR -> argv -------------------------------------------------------------------------------

export function buildDisplay(ctx: EmitContext): void {
  if (ctx.dom.devices.graphics.length) return;
  if (has(ctx.caps, 'display-none')) ctx.out.keyval('-display', props({ type: 'none' }));
  else ctx.out.flag('-nographic');
}

/**
 * The listen libvirt uses when it starts the guest (qemuProcessGraphicsSetupListen): an address
 * listen without an address gets vnc_listen/spice_listen, or a socket in the domain directory
 * when vnc_auto_unix_socket/spice_auto_unix_socket is set. No listen at all means the qemu.conf
 * address for vnc; spice without ports has nothing to listen on.
 */
function effectiveListen(ctx: EmitContext, g: Extract<Graphics, { type: 'vnc' | 'spice' }>): GraphicsListen {
  const vnc = g.type === 'vnc';
  // NB: spice without ports or autoport has nothing to listen on, whatever its <listen> says
  if (!vnc && !g.autoport && (g.port ?? 0) <= 0 && (g.tlsPort ?? 0) <= 0 && g.listens[0]?.type !== 'socket') return { type: 'none' };
  const first = g.listens[0] ?? { type: 'address' as const };
  if (first.type === 'network') {
    ctx.diag.warn('UnsupportedForTarget', { what: `<listen type='network' network='${first.network ?? ''}'>`, target: 'a command line without the network driver (listening on the qemu.conf address)' }, g.$span);
    return { type: 'address', address: vnc ? ctx.conf.vncListen : ctx.conf.spiceListen };
  }
  // NB: a socket listen without a path gets one in the domain directory, as libvirt makes it
  if (first.type === 'socket' && !first.socket) return { type: 'socket', socket: `${ctx.paths.stateDir}/${vnc ? 'vnc' : 'spice'}.sock` };
  if (first.type !== 'address' || first.address !== undefined) return first;
  const autoSocket = vnc ? ctx.conf.vncAutoUnixSocket : ctx.conf.spiceAutoUnixSocket;
  // NB: the automatic socket replaces only a listen that neither names an address nor came from listen=
  if (autoSocket) return { type: 'socket', socket: `${ctx.paths.stateDir}/${vnc ? 'vnc' : 'spice'}.sock` };
  return { type: 'address', address: vnc ? ctx.conf.vncListen : ctx.conf.spiceListen };
}

/** autoport: libvirt reads a missing or -1 port as "pick one"; without a live port allocator it
 * takes the first of the range (5900 for vnc, 5901/5902 for spice), as virsh domxml-to-native does. */
function vncPort(g: Extract<Graphics, { type: 'vnc' }>): number {
  const auto = g.autoport ?? (g.port === undefined || g.port === -1);
  return auto || g.port === undefined || g.port < 0 ? 5900 : g.port;
}

function buildVnc(ctx: EmitContext, g: Extract<Graphics, { type: 'vnc' }>): void {
  const listen = effectiveListen(ctx, g);
  const parts: string[] = [];
  if (listen.type === 'socket') parts.push(`vnc=unix:${esc(listen.socket ?? '')}`);
  else if (listen.type === 'none') parts.push('none');
  else {
    const port = vncPort(g);
    if (port < 5900 || port > 65535) return fail('UnsupportedDevice', { what: `vnc port ${port} (must be in range [5900,65535])` }, g.$span);
    const addr = listen.address ?? '';
    parts.push(`${addr.includes(':') ? `[${addr}]` : esc(addr)}:${port - 5900}`);
    if (g.websocket) parts.push(`websocket=${g.websocket}`);
  }
  if (g.sharePolicy) parts.push(`share=${g.sharePolicy}`);
  if (g.passwd !== undefined || ctx.conf.vncPassword !== undefined) parts.push('password=on');
  if (ctx.conf.vncTls) {
    const id = `vnc-tls-creds${ctx.dom.devices.graphics.indexOf(g)}`;
    // the key's password: a secret object (encrypted with the master key) before the credentials
    const secret = ctx.conf.raw.get('vnc_tls_x509_secret_uuid') ?? ctx.conf.raw.get('default_tls_x509_secret_uuid');
    if (secret !== undefined) buildSecretObject(ctx, `${id}-secret0`, { usageType: 'tls', uuid: String(secret) }, 'the VNC TLS key password', g.$span);
    ctx.out.object('-object', props({
      'qom-type': 'tls-creds-x509', id, dir: ctx.conf.vncTlsX509CertDir ?? ctx.conf.defaultTlsX509CertDir,
      endpoint: 'server', 'verify-peer': ctx.conf.vncTlsX509Verify,
      passwordid: secret !== undefined ? `${id}-secret0` : undefined,
    }));
    parts.push(`tls-creds=${id}`);
  }
  if (ctx.conf.vncSasl) parts.push('sasl=on');
  if (g.powerControl !== undefined) parts.push(`power-control=${g.powerControl ? 'on' : 'off'}`);
  // QEMU without -audiodev plays VNC audio through QEMU_AUDIO_DRV
  const audio = has(ctx.caps, 'audiodev') ? audioIdString(ctx, g.audioId ?? 0) : undefined;
  if (audio) parts.push(`audiodev=${audio}`);
  else if (has(ctx.caps, 'audiodev')) ctx.diag.warn('UnsupportedForTarget', { what: 'vnc audio', target: 'a guest without an <audio> backend' }, g.$span);
  ctx.out.raw('-vnc', parts.join(','));
  if (g.keymap) ctx.out.raw('-k', g.keymap);
}

const esc = (s: string) => s.replace(/,/g, ',,');

/** Where libvirt's system instance keeps the per-guest D-Bus daemons' sockets. */
const DBUS_RUN_DIR = '/run/libvirt/qemu/dbus';

function spicePorts(ctx: EmitContext, g: Extract<Graphics, { type: 'spice' }>): { port: number; tlsPort: number } {
  let port = g.port ?? 0;
  let tlsPort = g.tlsPort ?? 0;
  const auto = g.autoport ?? (port === -1 || tlsPort === -1);
  // NB: like qemuProcessSPICEAllocatePorts: the channel modes decide which ports autoport needs
  if (auto) {
    let needPort = false;
    let needTls = false;
    const need = (m: SpiceMode | undefined) => {
      if (m === 'secure') needTls = true;
      else if (m === 'insecure') needPort = true;
      else {
        if (ctx.conf.spiceTls) needTls = true;
        needPort = true;
      }
    };
    for (const ch of g.channels) need(ch.mode);
    need(g.defaultMode);
    if (needPort || port === -1) port = 5901;
    if (needTls || tlsPort === -1) tlsPort = 5902;
  }
  if (tlsPort > 0 && !ctx.conf.spiceTls) return fail('UnsupportedDevice', { what: 'a spice TLS port with spice_tls disabled in qemu.conf' }, g.$span);
  return { port, tlsPort };
}

function buildSpice(ctx: EmitContext, g: Extract<Graphics, { type: 'spice' }>): void {
  const listen = effectiveListen(ctx, g);
  const parts: string[] = [];
  let secure = false;
  let insecure = false;
  if (listen.type === 'socket') {
    parts.push('unix', `addr=${esc(listen.socket ?? '')}`);
    insecure = true;
  } else if (listen.type === 'none') {
    // QEMU wants a port or tls-port when nothing else is given: a dummy port=0
    parts.push('port=0');
    insecure = true;
  } else {
    const { port, tlsPort } = spicePorts(ctx, g);
    if (port > 0) parts.push(`port=${port}`);
    if (tlsPort > 0) parts.push(`tls-port=${tlsPort}`);
    insecure = port > 0;
    secure = tlsPort > 0;
    if ((port > 0 || tlsPort > 0) && listen.address) parts.push(`addr=${esc(listen.address)}`);
  }
  if (ctx.conf.spiceSasl) parts.push('sasl=on');
  if (g.mouse) parts.push(`agent-mouse=${g.mouse === 'client' ? 'on' : 'off'}`);
  // the password itself goes through the monitor, never the command line
  if (g.passwd === undefined && ctx.conf.spicePassword === undefined) parts.push('disable-ticketing=on');
  if (secure) parts.push(`x509-dir=${esc(ctx.conf.spiceTlsX509CertDir ?? ctx.conf.defaultTlsX509CertDir)}`);
  const channelOpt = (name: string, mode: SpiceMode | undefined, what: string) => {
    if (mode === 'secure') {
      if (!secure) return fail('UnsupportedDevice', { what: `spice ${what} secure without a TLS port` }, g.$span);
      parts.push(`tls-channel=${name}`);
    } else if (mode === 'insecure') {
      if (!insecure) return fail('UnsupportedDevice', { what: `spice ${what} insecure without a plain port` }, g.$span);
      parts.push(`plaintext-channel=${name}`);
    }
  };
  channelOpt('default', g.defaultMode, 'defaultMode');
  for (const ch of g.channels) channelOpt(ch.name, ch.mode, `channel ${ch.name}`);
  if (g.image) parts.push(`image-compression=${g.image}`);
  if (g.jpeg) parts.push(`jpeg-wan-compression=${g.jpeg}`);
  if (g.zlib) parts.push(`zlib-glz-wan-compression=${g.zlib}`);
  if (g.playback !== undefined) parts.push(`playback-compression=${g.playback ? 'on' : 'off'}`);
  if (g.streaming) parts.push(`streaming-video=${g.streaming}`);
  if (g.copypaste === false) parts.push('disable-copy-paste=on');
  if (g.filetransfer === false) parts.push('disable-agent-file-xfer=on');
  if (g.gl?.enable) {
    parts.push('gl=on');
    const node = renderNode(ctx, g.gl, 'SPICE OpenGL', g.$span);
    if (node) parts.push(`rendernode=${esc(node)}`);
  }
  // libvirt always asks for seamless migration; QEMU falls back silently when the peer lacks it
  parts.push('seamless-migration=on');
  ctx.out.raw('-spice', parts.join(','));
  if (g.keymap) ctx.out.raw('-k', g.keymap);
}

function buildSdl(ctx: EmitContext, g: Extract<Graphics, { type: 'sdl' }>): void {
  if (g.fullscreen) ctx.out.flag('-full-screen');
  if (has(ctx.caps, 'display-none')) {
    ctx.out.keyval('-display', props({ type: 'sdl', gl: g.gl?.enable }));
  } else ctx.out.flag('-sdl');
}

/**
 * The DRM render node of an OpenGL display: the XML's, else the host's first one, which libvirt
 * picks when the domain starts (qemuProcessGraphicsSetupRenderNode). Without host facts
 * (--probe-host) there is none to name: QEMU then picks one itself, which is said in a warning.
 */
function renderNode(ctx: EmitContext, gl: GraphicsGl | undefined, what: string, span: Span | undefined): string | undefined {
  if (gl?.rendernode) return gl.rendernode;
  const host = ctx.host.renderNodes?.[0];
  if (!host) {
    ctx.diag.warn('UnsupportedForTarget', { what: `${what} without <gl rendernode>`, target: 'a command line built without --probe-host (QEMU picks the render node)' }, span);
  }
  return host;
}

function buildEglHeadless(ctx: EmitContext, g: Extract<Graphics, { type: 'egl-headless' }>): void {
  ctx.out.keyval('-display', props({ type: 'egl-headless', rendernode: renderNode(ctx, g.gl, 'egl-headless', g.$span) }));
}

export function buildGraphics(ctx: EmitContext): void {
  for (const g of ctx.dom.devices.graphics) {
    switch (g.type) {
      case 'vnc':
        buildVnc(ctx, g);
        break;
      case 'spice':
        buildSpice(ctx, g);
        break;
      case 'sdl':
        buildSdl(ctx, g);
        break;
      case 'egl-headless':
        buildEglHeadless(ctx, g);
        break;
      case 'dbus': {
        // NB: without p2p, libvirt starts a private bus for the guest and points QEMU at it
        const p2p = g.attrs.p2p === 'yes';
        const addr = g.attrs.address ?? (p2p ? undefined : `unix:path=${DBUS_RUN_DIR}/${domainShortName(-1, ctx.dom.name)}-dbus.sock`);
        ctx.out.keyval('-display', props({ type: 'dbus', p2p: p2p ? true : undefined, addr }));
        break;
      }
      default:
        ctx.diag.warn('UnsupportedForTarget', { what: `<graphics type='${g.type}'>`, target: 'QEMU' }, g.$span);
    }
  }
}

/** What the graphics add to QEMU's environment: the X display for sdl, the SASL config dir. */
export function graphicsEnv(ctx: EmitContext): Array<[string, string]> {
  const env: Array<[string, string]> = [];
  for (const g of ctx.dom.devices.graphics) {
    if (g.type === 'vnc' && ctx.conf.vncSasl && ctx.conf.vncSaslDir) env.push(['SASL_CONF_PATH', ctx.conf.vncSaslDir]);
    if (g.type === 'spice' && ctx.conf.spiceSasl && ctx.conf.spiceSaslDir) env.push(['SASL_CONF_PATH', ctx.conf.spiceSaslDir]);
    if (g.type === 'sdl') {
      if (g.xauth) env.push(['XAUTHORITY', g.xauth]);
      if (g.display) env.push(['DISPLAY', g.display]);
    }
  }
  return env;
}

// --- argv -> IR -------------------------------------------------------------------------------

/** QEMU's VNC display spec: [host]:display, [ipv6]:display, unix:path, none. */
function readVncDisplay(spec: string): { listen?: GraphicsListen; port?: number } | undefined {
  if (spec === 'none') return { listen: { type: 'none' } };
  if (spec.startsWith('unix:')) return { listen: { type: 'socket', socket: spec.slice(5) } };
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(spec);
  if (!m) return undefined;
  const host = m[1] ?? m[2] ?? '';
  return { ...(host ? { listen: { type: 'address', address: host } } : {}), port: 5900 + Number(m[3]) };
}

const VNC_MAPPED = new Set(['websocket', 'share', 'power-control']);
const VNC_CONF_ONLY = new Set(['sasl', 'tls', 'x509', 'x509verify', 'tls-creds', 'audiodev']);

function readVncArgv(r: ArgvReader, text: string, span: XmlElement['span'], keymap: string | undefined): Graphics | undefined {
  const parts = splitQemuOpts(text);
  const first = parts[0] ?? '';
  const disp = readVncDisplay(first.startsWith('vnc=') ? first.slice(4) : first);
  if (!disp) return undefined;
  const p: Record<string, string> = {};
  for (const kv of parts.slice(1)) {
    const eq = kv.indexOf('=');
    p[eq < 0 ? kv : kv.slice(0, eq)] = eq < 0 ? 'on' : kv.slice(eq + 1);
  }
  // security and audio settings come from qemu.conf and <audio>, not the <graphics> element
  // NB: a key of the tables is dealt with, here or by qemu.conf (VNC_CONF_ONLY): read, for the dropped-property check
  for (const k of Object.keys(p)) if (!VNC_MAPPED.has(k) && !VNC_CONF_ONLY.has(k)) r.diag.warn('IgnoredProperty', { option: '-vnc', property: k }, span);
  else void p[k];
  // the TLS credentials (and their key's password secret) are qemu.conf's vnc_tls settings
  const creds = p['tls-creds'] !== undefined ? r.cmd.options.find((o) => o.name === '-object' && propStr(optProps(o), 'id') === p['tls-creds']) : undefined;
  if (creds) {
    r.claim(creds);
    settleTlsCreds(r, creds, 'server', 'vnc');
    claimSecretObject(r, propStr(optProps(creds), 'passwordid'));
  }
  const listens = disp.listen ? [disp.listen] : [];
  const websocket = p.websocket !== undefined && /^\d+$/.test(p.websocket) ? Number(p.websocket) : undefined;
  const share = SHARE_POLICIES.find((x) => x === p.share);
  // the first backend is every device's default: only another one needs naming
  const audio = /^audio(\d+)$/.exec(p.audiodev ?? '');
  const audioId = audio && audio[1] !== '1' ? Number(audio[1]) : undefined;
  return {
    type: 'vnc',
    ...(disp.port !== undefined ? { port: disp.port, autoport: false } : {}),
    ...opt('websocket', websocket),
    ...opt('keymap', keymap),
    ...opt('sharePolicy', share),
    ...opt('powerControl', p['power-control'] === undefined ? undefined : p['power-control'] === 'on'),
    listens,
    ...opt('audioId', audioId),
    extra: [],
    ...(span ? { $span: span } : {}),
  };
}

function readSpiceArgv(pr: Props, span: XmlElement['span'], keymap: string | undefined, raw: string): Graphics {
  const channels: { name: SpiceChannelName; mode: SpiceMode }[] = [];
  let defaultMode: SpiceMode | undefined;
  // NB: tls-channel/plaintext-channel repeat; QemuOpts keeps every occurrence, so read the raw text
  for (const kv of splitQemuOpts(raw)) {
    const m = /^(tls|plaintext)-channel=(.*)$/.exec(kv);
    if (!m) continue;
    const mode: SpiceMode = m[1] === 'tls' ? 'secure' : 'insecure';
    if (m[2] === 'default') defaultMode = mode;
    else if ((SPICE_CHANNELS as readonly string[]).includes(m[2]!)) channels.push({ name: m[2] as SpiceChannelName, mode });
  }
  channels.sort((a, b) => SPICE_CHANNELS.indexOf(a.name) - SPICE_CHANNELS.indexOf(b.name));
  const known = new Set(['port', 'tls-port', 'addr', 'unix', 'disable-ticketing', 'tls-channel', 'plaintext-channel', 'image-compression', 'jpeg-wan-compression',
    'zlib-glz-wan-compression', 'playback-compression', 'streaming-video', 'disable-copy-paste', 'disable-agent-file-xfer', 'agent-mouse', 'gl', 'rendernode',
    'seamless-migration', 'x509-dir', 'sasl', 'password']);
  // NB: a key of the table is dealt with (seamless-migration and x509-dir are libvirt's own): read,
  // for the dropped-property check. QEMU merges repeated -spice options, so any other key (ipv4=,
  // ipv6=, which no <graphics> says) is left unread and kept as a second -spice in
  // <qemu:commandline> (keepUnreadProps)
  for (const k of Object.keys(pr)) if (known.has(k)) void pr[k];
  const unix = propBool(pr, 'unix') === true;
  const addr = propStr(pr, 'addr');
  const port = propNum(pr, 'port');
  const tlsPort = propNum(pr, 'tls-port');
  const listens: GraphicsListen[] = unix ? [{ type: 'socket', ...opt('socket', addr) }] : addr ? [{ type: 'address', address: addr }] : !port && !tlsPort ? [{ type: 'none' }] : [];
  const gl = propBool(pr, 'gl');
  const bool = (k: string) => propBool(pr, k);
  const mouse = bool('agent-mouse');
  return {
    type: 'spice',
    ...(port ? { port } : {}),
    ...(tlsPort ? { tlsPort } : {}),
    ...(port || tlsPort ? { autoport: false } : {}),
    ...opt('keymap', keymap),
    ...opt('defaultMode', defaultMode),
    ...(pr.password !== undefined ? { passwd: propStr(pr, 'password')! } : {}),
    listens,
    channels,
    ...opt('image', propStr(pr, 'image-compression')),
    ...opt('jpeg', propStr(pr, 'jpeg-wan-compression')),
    ...opt('zlib', propStr(pr, 'zlib-glz-wan-compression')),
    ...opt('playback', bool('playback-compression')),
    ...opt('streaming', propStr(pr, 'streaming-video')),
    ...opt('copypaste', bool('disable-copy-paste') === true ? false : undefined),
    ...opt('mouse', mouse === undefined ? undefined : mouse ? ('client' as const) : ('server' as const)),
    ...opt('filetransfer', bool('disable-agent-file-xfer') === true ? false : undefined),
    ...opt('gl', gl === undefined ? undefined : { enable: gl, ...opt('rendernode', propStr(pr, 'rendernode')) }),
    extra: [],
    ...(span ? { $span: span } : {}),
  };
}

export function readGraphicsArgv(r: ArgvReader): void {
  const out = r.draft.devices.graphics;
  const keymap = r.takeLast('-k');
  const km = keymap ? optText(keymap) : undefined;
  r.take('-nographic');
  const fullscreen = r.take('-full-screen').length > 0;
  const sdl = (span: XmlElement['span'], gl?: boolean): Graphics => ({
    type: 'sdl',
    ...opt('display', r.env('DISPLAY')),
    ...opt('xauth', r.env('XAUTHORITY')),
    ...(fullscreen ? { fullscreen: true } : {}),
    ...(gl !== undefined ? { gl: { enable: gl } } : {}),
    extra: [],
    ...(span ? { $span: span } : {}),
  });
  for (const o of r.take('-vnc')) {
    const g = readVncArgv(r, o.rawValue ?? optText(o), o.span, km);
    if (g) out.push(g);
    else r.unclaim(o);
  }
  // NB: QEMU merges repeated -spice options into one display (a key's last value counts; the
  // repeatable *-channel keys add up)
  const spices = r.cmd.options.filter((o) => o.name === '-spice' && !r.isClaimed(o));
  const spice = r.takeMerged('-spice');
  if (spice) out.push(readSpiceArgv(spice, spices[0]?.span, km, spices.map((o) => o.rawValue ?? '').join(',')));
  for (const o of r.take('-sdl')) out.push(sdl(o.span));
  for (const o of r.take('-display')) {
    const p = optProps(o);
    const type = propStr(p, 'type');
    if (type === 'none') continue;
    if (type === 'sdl') out.push(sdl(o.span, propBool(p, 'gl')));
    else if (type === 'egl-headless') out.push({ type: 'egl-headless', ...opt('gl', p.rendernode !== undefined ? { rendernode: propStr(p, 'rendernode')! } : undefined), extra: [], $span: o.span });
    else if (type === 'dbus') {
      const attrs: Record<string, string> = {};
      if (p.addr !== undefined) attrs.address = propStr(p, 'addr')!;
      if (propBool(p, 'p2p')) attrs.p2p = 'yes';
      out.push({ type: 'dbus', attrs, extra: [], $span: o.span });
    } else r.unclaim(o);
  }
  if (keymap && !out.some((g) => g.type === 'vnc' || g.type === 'spice')) r.unclaim(keymap);
}
