// Character devices: <serial>, <parallel>, <console>, <channel>, and libvirt's own monitor.
// argv: -chardev + -device/-netdev guestfwd (modern), -serial/-parallel/-monitor strings (legacy).
import { basename, dirname } from 'node:path';
import type { ArgvReader, DeviceOption } from '../ir/argv-reader.js';
import { optProps, optText } from '../ir/argv-reader.js';
import type { Address, Chardev, ChardevReconnect, ChardevSource, Devices, Domain } from '../ir/domain.js';
import type { ParsedOption } from '../lexer/argv-parser.js';
import { has } from '../qemu/caps.js';
import { propBool, propNum, propStr, props, type Props, type PropValue } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { child, children, el, type XmlElement } from '../xml/tree.js';
import { boolAttr, checkEnum, enumAttr, intAttr, onOff, yesNo } from '../xml/values.js';
import { acpiIndexFromProps, pciAddressFromProps, pciPlacementWithAcpi, readAcpiIndexXml, readAddressXml, writeAcpiXml, writeAddressXml } from './address.js';
import { usbBusName, usbPortOf } from './input.js';
import { buildSecretObject, claimSecretObject } from './secret.js';
import { DEFAULT_CONF } from '../qemu/config.js';

const KNOWN = new Set(['source', 'protocol', 'log', 'target', 'alias', 'acpi', 'address']);
const TYPES = ['null', 'vc', 'pty', 'dev', 'file', 'pipe', 'stdio', 'udp', 'tcp', 'unix', 'spicevmc', 'spiceport', 'nmdm', 'qemu-vdagent', 'dbus'] as const;
const PROTOCOLS = ['raw', 'telnet', 'telnets', 'tls'] as const;

export type ChardevKind = 'serial' | 'parallel' | 'console' | 'channel';

/** <serial target type> -> the QEMU device libvirt picks when <model> is absent. */
const SERIAL_MODELS: Readonly<Record<string, string>> = {
  'isa-serial': 'isa-serial',
  'usb-serial': 'usb-serial',
  'pci-serial': 'pci-serial',
  'isa-debug': 'isa-debugcon',
  'spapr-vio-serial': 'spapr-vty',
  'sclp-serial': 'sclpconsole',
};

/** virtio channels that QEMU's spice/vdagent backends serve take this port name by default. */
const SPICE_AGENT_PORT = 'com.redhat.spice.0';

// --- XML -----------------------------------------------------------------------------------

export function readChardevXml(e: XmlElement): Chardev {
  // NB: libvirt reads a missing type as pty
  const type = checkEnum(e, 'chardev type', e.attrs.type ?? 'pty', TYPES);
  const target = child(e, 'target');
  const model = target && child(target, 'model');
  const log = child(e, 'log');
  const alias = child(e, 'alias');
  const address = child(e, 'address');
  return {
    source: readSource(e, type),
    ...(log?.attrs.file !== undefined ? { log: { file: log.attrs.file, ...optional('append', boolAttr(log, 'append')) } } : {}),
    ...(target?.attrs.type ? { targetType: target.attrs.type } : {}),
    ...(target?.attrs.address !== undefined ? { targetAddress: target.attrs.address } : {}),
    ...optional('targetPort', target ? intAttr(target, 'port') : undefined),
    ...(target?.attrs.name !== undefined ? { targetName: target.attrs.name } : {}),
    ...(model?.attrs.name ? { targetModel: model.attrs.name } : {}),
    ...(alias?.attrs.name ? { alias: alias.attrs.name } : {}),
    ...readAcpiIndexXml(e),
    ...(address ? { address: readAddressXml(address) } : {}),
    extra: e.children.filter((c) => !KNOWN.has(c.name)),
    $span: e.span,
  };
}

function optional<K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
}

function readReconnect(src: XmlElement | undefined): ChardevReconnect | undefined {
  const r = src && child(src, 'reconnect');
  if (!r) return undefined;
  return { enabled: boolAttr(r, 'enabled') ?? false, ...optional('timeout', intAttr(r, 'timeout')) };
}

/** The source of any element with chardev-style type/<source>/<protocol> (also redirdev, smartcard, rng backend). */
export function readChardevSourceXml(e: XmlElement): ChardevSource {
  return readSource(e, checkEnum(e, 'chardev type', e.attrs.type ?? 'pty', TYPES));
}

function readSource(e: XmlElement, type: (typeof TYPES)[number]): ChardevSource {
  const sources = children(e, 'source');
  const src = sources[0];
  const attr = (k: string) => src?.attrs[k];
  const mode = (s: XmlElement | undefined) => (s?.attrs.mode === 'bind' ? 'bind' : 'connect');
  switch (type) {
    case 'file':
      return { type, path: attr('path') ?? '', ...optional('append', src ? boolAttr(src, 'append') : undefined) };
    case 'dev':
    case 'pipe':
      return { type, path: attr('path') ?? '' };
    case 'tcp': {
      const protocol = child(e, 'protocol');
      return {
        type,
        mode: mode(src),
        ...optional('host', attr('host')),
        ...optional('service', attr('service')),
        ...optional('tls', src ? boolAttr(src, 'tls') : undefined),
        ...optional('reconnect', readReconnect(src)),
        ...optional('protocol', protocol ? enumAttr(protocol, 'type', PROTOCOLS) : undefined),
      };
    }
    case 'udp': {
      // NB: udp has up to two <source>s: mode='bind' is the local end, mode='connect' the peer
      const bind = sources.find((s) => s.attrs.mode === 'bind');
      const peer = sources.find((s) => s.attrs.mode !== 'bind');
      return {
        type,
        ...optional('host', peer?.attrs.host),
        ...optional('service', peer?.attrs.service),
        ...optional('bindHost', bind?.attrs.host),
        ...optional('bindService', bind?.attrs.service),
      };
    }
    case 'unix':
      return { type, mode: mode(src), ...optional('path', attr('path')), ...optional('reconnect', readReconnect(src)) };
    case 'spiceport':
    case 'dbus':
      return { type, channel: attr('channel') ?? '' };
    case 'qemu-vdagent': {
      const clip = src && child(src, 'clipboard');
      const mouse = src && child(src, 'mouse');
      return {
        type,
        ...optional('clipboard', clip ? boolAttr(clip, 'copypaste') : undefined),
        ...optional('mouse', mouse ? enumAttr(mouse, 'mode', ['client', 'server'] as const) : undefined),
      };
    }
    case 'nmdm':
      return { type, master: attr('master') ?? '', slave: attr('slave') ?? '' };
    case 'pty':
    // NB: a pty's <source path> is the live /dev/pts/N, which libvirt drops from inactive XML
    case 'null':
    case 'vc':
    case 'stdio':
    case 'spicevmc':
      return { type };
  }
}

function writeReconnect(r: ChardevReconnect | undefined): XmlElement | undefined {
  return r && el('reconnect', { enabled: yesNo(r.enabled), timeout: r.timeout });
}

/** The <source> element(s) of a chardev source, in libvirt's order (a tcp <protocol> is separate). */
export function writeChardevSourceXml(s: ChardevSource): Array<XmlElement | undefined> {
  switch (s.type) {
    case 'file':
      return [el('source', { path: s.path, append: onOff(s.append) })];
    case 'dev':
    case 'pipe':
      return [el('source', { path: s.path })];
    case 'tcp':
      return [el('source', { mode: s.mode, host: s.host, service: s.service, tls: yesNo(s.tls) }, writeReconnect(s.reconnect))];
    case 'udp':
      return [
        s.bindHost !== undefined || s.bindService !== undefined ? el('source', { mode: 'bind', host: s.bindHost, service: s.bindService }) : undefined,
        s.host !== undefined || s.service !== undefined ? el('source', { mode: 'connect', host: s.host, service: s.service }) : undefined,
      ];
    case 'unix':
      // NB: an agent socket without a path gets one under the channel directory at start-up;
      // inactive XML then has no <source> at all
      return [s.path !== undefined || s.reconnect ? el('source', { mode: s.mode, path: s.path }, writeReconnect(s.reconnect)) : undefined];
    case 'spiceport':
    case 'dbus':
      return [el('source', { channel: s.channel })];
    case 'qemu-vdagent':
      return [
        s.clipboard !== undefined || s.mouse !== undefined
          ? el('source', {}, s.clipboard !== undefined && el('clipboard', { copypaste: yesNo(s.clipboard) }), s.mouse !== undefined && el('mouse', { mode: s.mouse }))
          : undefined,
      ];
    case 'nmdm':
      return [el('source', { master: s.master, slave: s.slave })];
    case 'null':
    case 'vc':
    case 'pty':
    case 'stdio':
    case 'spicevmc':
      return [];
  }
}

/** NB: libvirt's order: source(s), protocol, log, target, alias, address. */
export function writeChardevXml(kind: ChardevKind, c: Chardev): XmlElement {
  const s = c.source;
  const hasTarget = c.targetType !== undefined || c.targetAddress !== undefined || c.targetPort !== undefined || c.targetName !== undefined || c.targetModel !== undefined;
  return el(
    kind,
    { type: s.type },
    writeChardevSourceXml(s),
    // NB: libvirt always writes a tcp source's protocol, raw when none was given
    s.type === 'tcp' && el('protocol', { type: s.protocol ?? 'raw' }),
    c.log && el('log', { file: c.log.file, append: onOff(c.log.append) }),
    hasTarget &&
      el(
        'target',
        { type: c.targetType, address: c.targetAddress, port: c.targetPort, name: c.targetName },
        c.targetModel !== undefined && el('model', { name: c.targetModel }),
      ),
    c.extra,
    c.alias !== undefined && el('alias', { name: c.alias }),
    writeAcpiXml(c.acpiIndex),
    writeAddressXml(c.address),
  );
}

// --- define-time defaults (libvirt's post-parse) -----------------------------------------------

type ChardevDevices = Pick<Devices, 'serials' | 'parallels' | 'consoles' | 'channels'>;

/** Fills target ports by libvirt's rule: one past the highest port already in the list. */
function withPorts(list: readonly Chardev[]): Chardev[] {
  const out: Chardev[] = [];
  for (const c of list) {
    const max = Math.max(-1, ...list.map((x) => x.targetPort ?? -1), ...out.map((x) => x.targetPort ?? -1));
    out.push(c.targetPort !== undefined ? c : { ...c, targetPort: max + 1 });
  }
  return out;
}

/**
 * libvirt's chardev post-parse: target ports, serial target types and models (x86: isa-serial),
 * the console/serial compatibility pair (console[0] of type serial mirrors serial[0]), and
 * virtio-serial addresses for virtio channels (port 0 of each controller is for consoles).
 */
export function chardevDefaults(dev: ChardevDevices, x86: boolean, armVirt = false): ChardevDevices {
  const consoleType = (c: Chardev) => c.targetType ?? (x86 || armVirt ? 'serial' : undefined);
  let consoles = withPorts(dev.consoles.map((c) => ({ ...c, ...optional('targetType', consoleType(c)) })));
  const first = consoles[0];
  const firstIsSerial = first?.targetType === 'serial';
  // NB: a serial-type first console without any <serial> is serial 0 as well
  let serials: readonly Chardev[] = dev.serials;
  if (firstIsSerial && !serials.length) {
    const { targetType: _t, targetPort: _p, ...rest } = first!;
    serials = [{ ...rest, targetPort: 0 }];
  }
  serials = withPorts(
    serials.map((s) => {
      // NB: Arm's virt machine has one serial port of its own, the PL011 (a system-serial)
      const targetType = s.targetType ?? (x86 ? 'isa-serial' : armVirt ? 'system-serial' : undefined);
      const model = s.targetModel ?? (targetType === 'system-serial' && armVirt ? 'pl011' : targetType ? SERIAL_MODELS[targetType] : undefined);
      return { ...s, ...optional('targetType', targetType), ...optional('targetModel', model) };
    }),
  );
  const s0 = serials[0];
  // NB: libvirt mirrors the first serial port as the console only for a port on the platform's
  // own UART (an ISA or system serial): not for a USB or PCI serial card (checked with define)
  if (s0 && s0.targetType !== 'usb-serial' && s0.targetType !== 'pci-serial') {
    // NB: the console mirrors the port, not the serial device's own ACPI index
    const { targetModel: _m, acpiIndex: _a, ...mirror } = s0;
    const stub: Chardev = { ...mirror, targetType: 'serial', targetPort: s0.targetPort ?? 0 };
    consoles = firstIsSerial ? [stub, ...consoles.slice(1)] : [stub, ...consoles];
  }
  return { serials, parallels: withPorts(dev.parallels), consoles, channels: withVirtioSerialPorts(dev.channels, consoles) };
}

function withVirtioSerialPorts(channels: readonly Chardev[], consoles: readonly Chardev[]): Chardev[] {
  const used = new Set<string>();
  for (const c of [...channels, ...consoles]) {
    const a = c.address;
    if (a?.type === 'virtio-serial' && a.port !== undefined) used.add(`${a.controller}:${a.bus}:${a.port}`);
  }
  return channels.map((c) => {
    if (c.targetType !== 'virtio') return c;
    const a = c.address;
    if (a && (a.type !== 'virtio-serial' || a.port !== undefined)) return c;
    const controller = a?.controller ?? 0;
    const bus = a?.bus ?? 0;
    let port = 1;
    while (used.has(`${controller}:${bus}:${port}`)) port++;
    used.add(`${controller}:${bus}:${port}`);
    return { ...c, address: { type: 'virtio-serial', controller, bus, port } };
  });
}

// --- IR -> argv ------------------------------------------------------------------------------

/** Per-command-line numbering of passed descriptors and fd sets. */
interface FdState {
  nextFd: number;
  nextSet: number;
}
const fdStates = new WeakMap<EmitContext, FdState>();
function fdState(ctx: EmitContext): FdState {
  let s = fdStates.get(ctx);
  // NB: libvirt hands QEMU descriptors it opened itself, so the numbers are arbitrary; these
  // start above the ranges the NIC family uses for tap (3…) and vhost (44…) descriptors
  if (!s) fdStates.set(ctx, (s = { nextFd: 100, nextSet: 0 }));
  return s;
}

/** A descriptor libvirt opened and hands QEMU (a vhost device, a listening socket): its number. */
export function passedFd(ctx: EmitContext): number {
  return fdState(ctx).nextFd++;
}

/** A file QEMU should write to: libvirt opens it (so it is created with libvirt's ownership and
 * labels) and passes it as an fd set; QEMU then always appends. */
export function passFile(ctx: EmitContext, opaque: string): string {
  const st = fdState(ctx);
  const set = st.nextSet++;
  ctx.out.keyval('-add-fd', props({ set, fd: st.nextFd++, opaque }));
  return `/dev/fdset/${set}`;
}

/**
 * Claims the -add-fd options of an fd set path (/dev/fdset/N, see passFile); true when the path
 * is one. The descriptor is libvirt's to open (the caller reports it); the set's opaque name is
 * libvirt's "ALIAS-ROLE" for it, news (warned) only when it is some other name.
 */
export function claimFdSet(r: ArgvReader, path: string | undefined, opaque: string): boolean {
  const set = /^\/dev\/fdset\/(\d+)$/.exec(path ?? '');
  if (!set) return false;
  for (const o of r.unclaimed()) {
    if (o.name !== '-add-fd' || propStr(optProps(o), 'set') !== set[1]) continue;
    r.claim(o);
    r.settle(o, 'fd');
    r.expect(o, 'opaque', opaque);
  }
  return true;
}

/**
 * Settles what libvirt derives for a -chardev from the domain (buildChardev): a listening socket
 * never waits for its client (wait=off); a spicevmc channel is named for its device (vdagent,
 * usbredir, smartcard) and qemu-vdagent is vdagent. Other values have no XML home: warned.
 */
export function settleChardev(r: ArgvReader, ch: ParsedOption, spicevmcName = 'vdagent'): void {
  const p = optProps(ch);
  const backend = propStr(p, 'backend');
  if (propBool(p, 'server')) r.expect(ch, 'wait', false);
  if (backend === 'spicevmc') r.expect(ch, 'name', spicevmcName);
  else if (backend === 'qemu-vdagent') r.expect(ch, 'name', 'vdagent');
}

/**
 * Settles a tls-creds-x509 object libvirt builds from qemu.conf (the caller claims it and its
 * key's secret): the endpoint follows from the domain; the certificate directory and whether a
 * server verifies its clients are the host's `${setting}_tls_x509_*` settings, named in a warning
 * when they are not libvirt's defaults (a client always verifies its server).
 */
export function settleTlsCreds(r: ArgvReader, o: ParsedOption, endpoint: 'server' | 'client', setting: string): void {
  const p = optProps(o);
  r.expect(o, 'endpoint', endpoint);
  const dir = propStr(p, 'dir');
  if (dir !== undefined && dir !== DEFAULT_CONF.defaultTlsX509CertDir) {
    r.diag.warn('HostConfig', { option: '-object', what: `the TLS certificate directory ${dir}`, setting: `${setting}_tls_x509_cert_dir` }, o.span);
  }
  const verify = propBool(p, 'verify-peer');
  if (verify !== undefined && verify !== (endpoint === 'client')) {
    r.diag.warn('HostConfig', { option: '-object', what: `verify-peer=${verify}`, setting: `${setting}_tls_x509_verify` }, o.span);
  }
}

/** Where libvirt puts a virtio channel's socket when the XML names none. */
function channelSocketPath(ctx: EmitContext, name: string): string {
  const state = ctx.paths.stateDir;
  return `${dirname(state)}/channel/target/${basename(state)}/${name}`;
}

function reconnectProp(r: ChardevReconnect | undefined): number | undefined {
  return r ? (r.enabled ? r.timeout ?? 0 : 0) : undefined;
}

/**
 * Emits what a -chardev needs before it (fd sets, TLS objects) and the -chardev itself, with id
 * "char" + devId; returns that id, or undefined when QEMU has no such backend. Other families
 * with a chardev source (redirdev, smartcard, rng) use it too, with their spicevmc channel name.
 */
export function buildChardev(ctx: EmitContext, c: Pick<Chardev, 'source' | 'log' | 'targetName' | 'extra' | '$span'>, devId: string, spicevmcName = 'vdagent'): string | undefined {
  const id = `char${devId}`;
  for (const e of c.extra) ctx.diag.warn('XmlUnsupportedElement', { element: e.name, detail: `of ${devId}` }, e.span);
  const s = c.source;
  let backend: Record<string, PropValue | undefined>;
  switch (s.type) {
    case 'null':
    case 'vc':
    case 'pty':
    case 'stdio':
      backend = { backend: s.type, id };
      break;
    case 'dev':
      // NB: host serial and parallel ports are different QEMU backends
      backend = { backend: devId.startsWith('parallel') ? 'parallel' : 'serial', id, path: s.path };
      break;
    case 'file': {
      if (ctx.runnable) backend = { backend: 'file', id, path: s.path, append: onOff(s.append) };
      else backend = { backend: 'file', id, path: passFile(ctx, `${devId}-source`), append: 'on' };
      break;
    }
    case 'pipe':
      backend = { backend: 'pipe', id, path: s.path };
      break;
    case 'udp':
      backend = { backend: 'udp', id, host: s.host ?? '', port: s.service, localaddr: s.bindHost ?? '', localport: s.bindService ?? '0' };
      break;
    case 'tcp': {
      const listen = s.mode === 'bind';
      const tls = s.tls ?? ctx.conf.chardevTls;
      let creds: string | undefined;
      if (tls) {
        creds = `obj${id}_tls0`;
        const secretUuid = ctx.conf.chardevTlsX509SecretUuid;
        if (secretUuid !== undefined) buildSecretObject(ctx, `${id}-secret0`, { usageType: 'tls', uuid: secretUuid }, `the TLS key passphrase of ${id}`, c.$span);
        ctx.out.object('-object', props({
          'qom-type': 'tls-creds-x509',
          id: creds,
          dir: ctx.conf.chardevTlsX509CertDir,
          endpoint: listen ? 'server' : 'client',
          // NB: a TLS client always verifies the server; a server verifies clients per qemu.conf
          'verify-peer': listen ? ctx.conf.chardevTlsX509Verify : true,
          passwordid: ctx.conf.chardevTlsX509SecretUuid !== undefined ? `${id}-secret0` : undefined,
        }));
      }
      backend = {
        backend: 'socket', id, host: s.host, port: s.service,
        telnet: s.protocol === 'telnet' ? 'on' : undefined,
        server: listen ? 'on' : undefined, wait: listen ? 'off' : undefined,
        reconnect: reconnectProp(s.reconnect), 'tls-creds': creds,
      };
      break;
    }
    case 'unix': {
      const auto = s.path === undefined && c.targetName !== undefined ? channelSocketPath(ctx, c.targetName) : undefined;
      // NB: a socket whose path libvirt makes up is one libvirt listens on, whatever the mode says
      // (virsh domxml-to-native prints such a guest-agent channel with server=on,wait=off)
      const listen = s.mode === 'bind' || auto !== undefined;
      const path = s.path ?? auto;
      // NB: libvirt creates a listening socket itself and passes QEMU the descriptor
      const where = listen && !ctx.runnable ? { fd: String(fdState(ctx).nextFd++) } : { path };
      backend = { backend: 'socket', id, ...where, server: listen ? 'on' : undefined, wait: listen ? 'off' : undefined, reconnect: reconnectProp(s.reconnect) };
      break;
    }
    case 'spicevmc':
      backend = { backend: 'spicevmc', id, name: spicevmcName };
      break;
    case 'spiceport':
    case 'dbus':
      backend = { backend: s.type, id, name: s.channel };
      break;
    case 'qemu-vdagent':
      backend = { backend: 'qemu-vdagent', id, name: 'vdagent', clipboard: onOff(s.clipboard), mouse: s.mouse === undefined ? undefined : s.mouse === 'client' ? 'on' : 'off' };
      break;
    case 'nmdm':
      ctx.diag.warn('UnsupportedForTarget', { what: `${devId} of type nmdm`, target: 'QEMU' }, c.$span);
      return undefined;
  }
  if (c.log) {
    const logfile = ctx.runnable ? c.log.file : passFile(ctx, `${devId}-log`);
    backend = { ...backend, logfile, logappend: ctx.runnable ? onOff(c.log.append) : 'on' };
  }
  ctx.out.keyval('-chardev', props(backend));
  return id;
}

/** bus/addr (and acpi-index), USB bus/port and ISA iobase/irq, as libvirt adds them after driver/chardev/id. */
function addressProps(dom: Domain, a: Address | undefined, acpiIndex?: number): Record<string, PropValue | undefined> {
  switch (a?.type) {
    case 'pci':
      // the root bus is pcie.0 on q35; user aliases name buses too
      return pciPlacementWithAcpi(dom, { address: a, ...(acpiIndex !== undefined ? { acpiIndex } : {}) });
    case 'usb':
      return { bus: usbBusName(dom, a.bus), port: a.port };
    case 'isa':
      return { iobase: a.iobase, irq: a.irq };
    default:
      return {};
  }
}

function virtioSerialProps(a: Address | undefined): Record<string, PropValue | undefined> {
  if (a?.type !== 'virtio-serial') return {};
  return { bus: `virtio-serial${a.controller}.${a.bus}`, nr: a.port };
}

/** libvirt's legacy -serial/-parallel spelling of a source (QEMU 0.x, no -chardev). */
function legacyChardevText(s: ChardevSource): string | undefined {
  switch (s.type) {
    case 'null':
    case 'vc':
    case 'pty':
    case 'stdio':
      return s.type;
    case 'file':
      return `file:${s.path}`;
    case 'pipe':
      return `pipe:${s.path}`;
    case 'dev':
      return s.path;
    case 'udp':
      return `udp:${s.host ?? ''}:${s.service ?? ''}@${s.bindHost ?? ''}:${s.bindService ?? '0'}`;
    case 'tcp':
      return `${s.protocol === 'telnet' ? 'telnet' : 'tcp'}:${s.host ?? ''}:${s.service ?? ''}${s.mode === 'bind' ? ',server,nowait' : ''}`;
    case 'unix':
      return s.path === undefined ? undefined : `unix:${s.path}${s.mode === 'bind' ? ',server,nowait' : ''}`;
    default:
      return undefined;
  }
}

function emitLegacy(ctx: EmitContext, opt: '-serial' | '-parallel', c: Chardev): void {
  const target = 'QEMU without -chardev';
  const text = legacyChardevText(c.source);
  if (text === undefined) return ctx.diag.warn('UnsupportedForTarget', { what: `a ${c.source.type} ${opt.slice(1)} port`, target }, c.$span);
  if (c.log) ctx.diag.warn('UnsupportedForTarget', { what: `<log file='${c.log.file}'>`, target }, c.$span);
  if (c.source.type === 'tcp' && (c.source.tls ?? ctx.conf.chardevTls)) ctx.diag.warn('UnsupportedForTarget', { what: 'TLS on a tcp chardev', target }, c.$span);
  ctx.out.raw(opt, text);
}

/** libvirt's QMP monitor: a unix socket in the domain's state directory. */
export function buildMonitor(ctx: EmitContext): void {
  if (!has(ctx.caps, 'chardev')) {
    ctx.out.raw('-monitor', 'pty');
    return;
  }
  ctx.out.keyval('-chardev', props({ backend: 'socket', id: 'charmonitor', path: ctx.paths.monitorSocket, server: 'on', wait: 'off' }));
  ctx.out.keyval('-mon', props({ chardev: 'charmonitor', id: 'monitor', mode: 'control' }));
}

export function buildSerials(ctx: EmitContext): void {
  const serials = ctx.dom.devices.serials;
  // NB: without -nodefaults QEMU adds a serial port of its own; "-serial none" stops it.
  if (!serials.length && !has(ctx.caps, 'nodefaults')) ctx.out.raw('-serial', 'none');
  serials.forEach((s, i) => {
    if (!has(ctx.caps, 'chardev')) {
      // NB: -serial is the board's next 16550 UART: another kind of serial device needs -device
      const kind = s.targetModel ?? s.targetType;
      if (s.targetType !== 'system-serial' && kind && kind !== 'isa-serial') {
        ctx.diag.warn('UnsupportedForTarget', { what: `<serial> target '${kind}'`, target: 'QEMU without -device (-serial is an ISA UART)' }, s.$span);
        return;
      }
      return emitLegacy(ctx, '-serial', s);
    }
    const id = s.alias ?? `serial${i}`;
    const chardev = buildChardev(ctx, s, id);
    if (!chardev) return;
    // NB: a board's own serial port (the PL011 of Arm's virt machine) is no -device: QEMU
    // connects the first -serial to it (qemuChrIsPlatformDevice)
    if (s.targetType === 'system-serial') {
      ctx.out.raw('-serial', `chardev:${chardev}`);
      return;
    }
    const driver = s.targetModel ?? SERIAL_MODELS[s.targetType ?? 'isa-serial'] ?? 'isa-serial';
    // NB: a usb-serial without an address takes the next free USB port, shared with other USB devices
    const usb = driver === 'usb-serial' && !s.address ? usbPortOf(ctx.dom, s) : undefined;
    ctx.out.object('-device', props({
      driver,
      chardev,
      id,
      ...addressProps(ctx.dom, usb ? { type: 'usb', ...usb } : s.address, s.acpiIndex),
      index: driver === 'isa-serial' ? s.targetPort : undefined,
    }));
  });
}

export function buildParallels(ctx: EmitContext): void {
  const parallels = ctx.dom.devices.parallels;
  if (!parallels.length && !has(ctx.caps, 'nodefaults')) ctx.out.raw('-parallel', 'none');
  parallels.forEach((p, i) => {
    if (!has(ctx.caps, 'chardev')) return emitLegacy(ctx, '-parallel', p);
    const id = p.alias ?? `parallel${i}`;
    const chardev = buildChardev(ctx, p, id);
    if (chardev) ctx.out.object('-device', props({ driver: 'isa-parallel', chardev, id, ...addressProps(ctx.dom, p.address) }));
  });
}

export function buildChannels(ctx: EmitContext): void {
  ctx.dom.devices.channels.forEach((c, i) => {
    const id = c.alias ?? `channel${i}`;
    if (!has(ctx.caps, 'chardev')) {
      ctx.diag.warn('UnsupportedForTarget', { what: `channel ${id}`, target: 'QEMU without -chardev' }, c.$span);
      return;
    }
    if (c.targetType === 'guestfwd') {
      const chardev = buildChardev(ctx, c, id);
      if (!chardev) return;
      // NB: QEMU's user network forwards guest connections to addr:port into the chardev
      const fwd = `tcp:${c.targetAddress ?? ''}:${c.targetPort ?? ''}-chardev:${chardev}`;
      if (has(ctx.caps, 'netdev.json')) ctx.out.object('-netdev', props({ type: 'user', guestfwd: [{ str: fwd }], id }));
      else ctx.out.keyval('-netdev', props({ type: 'user', guestfwd: fwd, id }));
    } else if (c.targetType === 'virtio') {
      const chardev = buildChardev(ctx, c, id);
      if (!chardev) return;
      const spice = c.source.type === 'spicevmc' || c.source.type === 'qemu-vdagent';
      ctx.out.object('-device', props({
        driver: 'virtserialport',
        ...virtioSerialProps(c.address),
        chardev,
        id,
        name: c.targetName ?? (spice ? SPICE_AGENT_PORT : undefined),
      }));
    } else {
      ctx.diag.warn('UnsupportedForTarget', { what: `channel ${id} with target type ${c.targetType ?? '(none)'}`, target: 'QEMU' }, c.$span);
    }
  });
}

export function buildConsoles(ctx: EmitContext): void {
  ctx.dom.devices.consoles.forEach((c, i) => {
    // NB: a serial-type console is serial 0 seen from <console>: -serial/-device already made it
    if (c.targetType === 'serial' || c.targetType === undefined) return;
    const id = c.alias ?? `console${i}`;
    if (c.targetType !== 'virtio' || !has(ctx.caps, 'chardev')) {
      ctx.diag.warn('UnsupportedForTarget', { what: `console ${id} with target type ${c.targetType}`, target: has(ctx.caps, 'chardev') ? 'x86 QEMU' : 'QEMU without -chardev' }, c.$span);
      return;
    }
    const chardev = buildChardev(ctx, c, id);
    if (chardev) ctx.out.object('-device', props({ driver: 'virtconsole', ...virtioSerialProps(c.address), chardev, id }));
  });
}

// --- argv -> IR ------------------------------------------------------------------------------

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

/** A -chardev's backend as a source (and its log file), or undefined for backends XML cannot say. */
export function sourceFromChardev(p: Props): { source: ChardevSource; log?: Chardev['log'] } | undefined {
  const backend = propStr(p, 'backend') ?? '';
  const str = (k: string) => nonEmpty(propStr(p, k));
  const source = ((): ChardevSource | undefined => {
    switch (backend) {
      case 'null':
      case 'vc':
      case 'pty':
      case 'stdio':
      case 'spicevmc':
        return { type: backend };
      case 'file':
        return { type: 'file', path: str('path') ?? '', ...optional('append', propBool(p, 'append')) };
      case 'serial':
      case 'tty':
      case 'parallel':
      case 'parport':
        return { type: 'dev', path: str('path') ?? '' };
      case 'pipe':
        return { type: 'pipe', path: str('path') ?? '' };
      case 'udp':
        return {
          type: 'udp',
          ...optional('host', str('host')),
          ...optional('service', str('port')),
          ...optional('bindHost', str('localaddr')),
          // NB: local port 0 means "any", which XML says by leaving the bind service out
          ...optional('bindService', str('localport') === '0' ? undefined : str('localport')),
        };
      case 'socket': {
        const mode = propBool(p, 'server') ? 'bind' : 'connect';
        const rc = propNum(p, 'reconnect');
        const reconnect = rc === undefined ? undefined : { enabled: rc > 0, ...(rc > 0 ? { timeout: rc } : {}) };
        if (str('path') !== undefined || str('fd') !== undefined) {
          // NB: fd= is a listening socket libvirt opened; its path is not on the command line
          return { type: 'unix', mode, ...optional('path', str('path')), ...optional('reconnect', reconnect) };
        }
        return {
          type: 'tcp',
          mode,
          ...optional('host', str('host')),
          ...optional('service', str('port')),
          ...(str('tls-creds') !== undefined ? { tls: true } : {}),
          ...optional('reconnect', reconnect),
          protocol: propBool(p, 'telnet') ? 'telnet' : 'raw',
        };
      }
      case 'spiceport':
      case 'dbus':
        return { type: backend, channel: str('name') ?? '' };
      case 'qemu-vdagent': {
        const mouse = propBool(p, 'mouse');
        const mode: 'client' | 'server' | undefined = mouse === undefined ? undefined : mouse ? 'client' : 'server';
        return { type: 'qemu-vdagent', ...optional('clipboard', propBool(p, 'clipboard')), ...optional('mouse', mode) };
      }
      default:
        return undefined;
    }
  })();
  if (!source) return undefined;
  const logfile = str('logfile');
  return { source, ...(logfile !== undefined ? { log: { file: logfile, ...optional('append', propBool(p, 'logappend')) } } : {}) };
}

/** QEMU's legacy chardev strings (-serial, -parallel, -monitor values). */
export function parseLegacyChardev(text: string): ChardevSource | undefined {
  const t = text.startsWith('mon:') ? text.slice(4) : text;
  const colon = t.indexOf(':');
  const kind = colon < 0 ? t : t.slice(0, colon);
  const rest = colon < 0 ? '' : t.slice(colon + 1);
  if (t.startsWith('/')) return { type: 'dev', path: t };
  switch (kind) {
    case 'null':
    case 'pty':
    case 'stdio':
      return rest === '' ? { type: kind } : undefined;
    case 'vc':
      return { type: 'vc' };
    case 'file':
    case 'pipe':
      return { type: kind, path: rest };
    case 'tcp':
    case 'telnet': {
      const [addr = '', ...opts] = rest.split(',');
      const i = addr.lastIndexOf(':');
      if (i < 0) return undefined;
      const server = opts.some((o) => o === 'server' || o === 'server=on');
      return {
        type: 'tcp',
        mode: server ? 'bind' : 'connect',
        ...optional('host', nonEmpty(addr.slice(0, i))),
        ...optional('service', nonEmpty(addr.slice(i + 1))),
        protocol: kind === 'telnet' ? 'telnet' : 'raw',
      };
    }
    case 'udp': {
      // udp:[remote_host]:remote_port[@[src_ip]:src_port]
      const [remote = '', local] = rest.split('@');
      const ri = remote.lastIndexOf(':');
      const li = local === undefined ? -1 : local.lastIndexOf(':');
      const bindService = li < 0 ? undefined : nonEmpty(local!.slice(li + 1));
      return {
        type: 'udp',
        ...optional('host', nonEmpty(ri < 0 ? undefined : remote.slice(0, ri))),
        ...optional('service', nonEmpty(ri < 0 ? remote : remote.slice(ri + 1))),
        ...optional('bindHost', li < 0 ? undefined : nonEmpty(local!.slice(0, li))),
        ...optional('bindService', bindService === '0' ? undefined : bindService),
      };
    }
    case 'unix': {
      const [path = '', ...opts] = rest.split(',');
      const server = opts.some((o) => o === 'server' || o === 'server=on');
      return { type: 'unix', mode: server ? 'bind' : 'connect', path };
    }
    default:
      return undefined;
  }
}

const SERIAL_DRIVERS: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(SERIAL_MODELS).map(([t, m]) => [m, t]));
const CHARDEV_DEVICES = new Set([...Object.keys(SERIAL_DRIVERS), 'isa-parallel', 'virtconsole', 'virtserialport']);

function addressFromDevice(p: Props, driver: string): Address | undefined {
  const bus = propStr(p, 'bus') ?? '';
  const vs = /^virtio-serial(\d+)\.(\d+)$/.exec(bus);
  if (vs) return { type: 'virtio-serial', controller: Number(vs[1]), bus: Number(vs[2]), ...optional('port', propNum(p, 'nr')) };
  const usb = /^usb\.(\d+)$/.exec(bus);
  if (usb) return { type: 'usb', bus: Number(usb[1]), ...optional('port', propStr(p, 'port')) };
  const pci = pciAddressFromProps(p);
  if (pci) return pci;
  if (driver.startsWith('isa-')) {
    const iobase = propNum(p, 'iobase');
    const irq = propNum(p, 'irq');
    if (iobase !== undefined || irq !== undefined) return { type: 'isa', ...optional('iobase', iobase), ...optional('irq', irq) };
  }
  return undefined;
}

/** Device ids libvirt makes up are not kept; user aliases (ua-…) are. */
function userAlias(id: string | undefined): { alias?: string } {
  return id?.startsWith('ua-') ? { alias: id } : {};
}

export function readChardevsArgv(r: ArgvReader): void {
  const d = r.draft.devices;
  const chardevs = new Map<string, ParsedOption>();
  for (const o of r.unclaimed()) {
    if (o.name === '-chardev') {
      const id = propStr(optProps(o), 'id');
      if (id !== undefined) chardevs.set(id, o);
    }
  }
  // libvirt's own QMP monitor (and any other -mon/-monitor) is management plumbing, not guest
  // configuration: it has no XML and is dropped together with its chardev
  for (const o of r.take('-mon')) {
    const ref = propStr(optProps(o), 'chardev');
    const ch = ref === undefined ? undefined : chardevs.get(ref);
    r.settle(o);
    if (ch) {
      r.claim(ch);
      r.settle(ch);
    }
  }
  // NB: a -monitor on a server socket or a pty is a manager's (libvirt's before -chardev). One on
  // the terminal (stdio, vc) is a person's HMP prompt, which under libvirt is virsh's: dropped,
  // saying so. Any other (telnet, tcp) is an endpoint a script may use: kept on the command line.
  for (const o of r.take('-monitor')) {
    const t = optText(o);
    if (t === 'stdio' || t === 'vc' || t.startsWith('vc:')) r.diag.warn('ReplacedByLibvirt', { what: `-monitor ${t}`, instead: "libvirt owns the guest's monitor: virsh qemu-monitor-command --hmp NAME 'info status' reaches it" }, o.span);
    else if (!(t === 'pty' || t === 'none' || /^(control,)?unix:.*,server(=on)?,(nowait|wait=off)$/.test(t))) r.unclaim(o);
  }

  /** Reads a -chardev and claims what libvirt set up for it: fd sets and TLS credentials. */
  const useChardev = (ch: ParsedOption | undefined): ReturnType<typeof sourceFromChardev> => {
    if (!ch || r.isClaimed(ch)) return undefined;
    const p = optProps(ch);
    const src = sourceFromChardev(p);
    if (!src) return undefined;
    r.claim(ch);
    settleChardev(r, ch);
    // NB: libvirt names the fd sets of a chardev's files after the device: ALIAS-source, ALIAS-log
    const devId = (propStr(p, 'id') ?? '').replace(/^char/, '');
    for (const [key, role] of [['path', 'source'], ['logfile', 'log']] as const) {
      const path = propStr(p, key);
      if (claimFdSet(r, path, `${devId}-${role}`)) r.diag.warn('PassedDescriptor', { option: '-chardev', what: `${key}=${path}` }, ch.span);
    }
    if (propStr(p, 'fd') !== undefined) r.diag.warn('PassedDescriptor', { option: '-chardev', what: `the listening socket fd=${propStr(p, 'fd')}` }, ch.span);
    // NB: the TLS credentials object comes from qemu.conf (chardev_tls_x509_*), not the XML
    const creds = propStr(p, 'tls-creds');
    const objects = r.unclaimed().filter((o) => o.name === '-object');
    const credsObj = objects.find((o) => propStr(optProps(o), 'id') === creds);
    if (credsObj) {
      r.claim(credsObj);
      settleTlsCreds(r, credsObj, propBool(p, 'server') ? 'server' : 'client', 'chardev');
      claimSecretObject(r, propStr(optProps(credsObj), 'passwordid'));
    }
    return src;
  };

  const fromChardev = (dev: DeviceOption): Omit<Chardev, 'extra'> | undefined => {
    const ref = propStr(dev.props, 'chardev');
    const src = useChardev(ref === undefined ? undefined : chardevs.get(ref));
    if (!src) return undefined;
    r.claim(dev.opt);
    const address = addressFromDevice(dev.props, dev.driver);
    return { ...src, ...userAlias(propStr(dev.props, 'id')), ...(address?.type === 'pci' ? acpiIndexFromProps(dev.props) : {}), ...(address ? { address } : {}), $span: dev.opt.span };
  };

  // modern: -chardev + -device, in command-line order
  for (const dev of r.devices((drv) => CHARDEV_DEVICES.has(drv))) {
    const base = fromChardev(dev);
    if (!base) continue;
    if (dev.driver === 'isa-parallel') d.parallels.push({ ...base, extra: [] });
    else if (dev.driver === 'virtconsole') d.consoles.push({ ...base, targetType: 'virtio', extra: [] });
    else if (dev.driver === 'virtserialport') {
      d.channels.push({ ...base, targetType: 'virtio', ...optional('targetName', propStr(dev.props, 'name')), extra: [] });
    } else {
      const index = propNum(dev.props, 'index');
      d.serials.push({ ...base, targetType: SERIAL_DRIVERS[dev.driver]!, targetModel: dev.driver, ...optional('targetPort', index), extra: [] });
    }
  }

  // guestfwd channels: a user-mode -netdev that forwards tcp:ADDR:PORT to a chardev
  for (const o of r.unclaimed()) {
    if (o.name !== '-netdev') continue;
    const p = optProps(o);
    const fwds = p.guestfwd;
    const texts = Array.isArray(fwds) ? fwds.map((f) => (f && typeof f === 'object' && !Array.isArray(f) ? propStr(f as Props, 'str') : undefined)) : [propStr(p, 'guestfwd') ?? propStr(p, 'guestfwd.0.str')];
    const m = texts.length === 1 && texts[0] ? /^tcp:([^:]*):(\d+)-chardev:(.+)$/.exec(texts[0]) : null;
    if (propStr(p, 'type') !== 'user' || !m) continue;
    if (Object.keys(p).some((k) => !['type', 'id', 'guestfwd'].includes(k.split('.')[0]!))) continue;
    const src = useChardev(chardevs.get(m[3]!));
    if (!src) continue;
    r.claim(o);
    d.channels.push({ ...src, targetType: 'guestfwd', targetAddress: m[1]!, targetPort: Number(m[2]), extra: [], $span: o.span });
  }

  // legacy: -serial/-parallel strings
  for (const o of r.take('-serial', '-parallel')) {
    const text = optText(o);
    if (text === 'none') continue;
    // NB: "chardev:ID" puts a -chardev on the board's own port (libvirt's form for non-PC boards)
    const src = text.startsWith('chardev:') ? useChardev(chardevs.get(text.slice('chardev:'.length))) : { source: parseLegacyChardev(text) };
    if (!src?.source) {
      r.unclaim(o);
      continue;
    }
    (o.name === '-serial' ? d.serials : d.parallels).push({ ...src, source: src.source, extra: [], $span: o.span });
  }
}
