// QEMU drive filenames -> <disk> sources: local paths, the nbd:/rbd:/sheepdog: pseudo-URIs and
// the nbd/iscsi/gluster/http… URLs QEMU's block layer accepts (libvirt's former argv parser rules).
import { fail, type Span } from '../errors.js';
import type { DiskAuth, DiskSource } from '../ir/domain.js';
import { propNum, propStr, type Props } from '../qemu/props.js';

type NetSource = Extract<DiskSource, { type: 'network' }>;
type Host = NetSource['hosts'][number];

export interface DriveSource {
  readonly source: DiskSource;
  /** credentials written before <source> (iscsi URLs with a user) */
  readonly auth?: DiskAuth;
}

const URL_PROTOCOLS = ['http', 'https', 'ftp', 'ftps', 'tftp', 'ssh'] as const;

/**
 * The source a drive filename names. `cephArgs`: the environment has old-style CEPH_ARGS, whose
 * monitors belong to the first rbd disk, so an rbd: name is then taken as written.
 */
export function sourceFromFilename(path: string, span?: Span, cephArgs = false): DriveSource {
  if (path === '') return { source: { type: 'file' } };
  if (path.startsWith('/dev/')) return { source: { type: 'block', dev: path } };
  // NB: vvfat's fat: prefix names a directory (libvirt's type='dir'); floppy: only sizes the image for the drive
  if (path.startsWith('fat:')) return { source: { type: 'dir', dir: path.replace(/^fat:(floppy:)?/, '') } };
  if (path.startsWith('nbd:') || path.startsWith('nbd+')) return { source: nbdSource(path, span) };
  if (path.startsWith('rbd:')) return { source: cephArgs ? { type: 'network', protocol: 'rbd', name: path.slice(4), hosts: [] } : rbdSource(path.slice(4), span) };
  if (path.startsWith('gluster:') || path.startsWith('gluster+')) return urlSource(path, 'gluster', span);
  if (path.startsWith('iscsi:')) return iscsiSource(path, span);
  if (path.startsWith('sheepdog:')) return { source: sheepdogSource(path.slice('sheepdog:'.length), span) };
  const scheme = /^([a-z]+):\/\//.exec(path)?.[1];
  const proto = URL_PROTOCOLS.find((p) => p === scheme);
  if (proto) return urlSource(path, proto, span);
  return { source: { type: 'file', file: path } };
}

/**
 * A -drive's source given as file.* keys: gluster with several servers (file.driver=gluster,
 * file.volume, file.path, file.server.N.type=tcp|unix with host/port or socket), what libvirt
 * wrote where no URI could say it. Undefined for other drivers.
 */
export function sourceFromFileProps(p: Props): DriveSource | undefined {
  if (propStr(p, 'file.driver') !== 'gluster') return undefined;
  const hosts: Host[] = [];
  for (let i = 0; propStr(p, `file.server.${i}.type`) !== undefined; i++) {
    const k = `file.server.${i}`;
    if (propStr(p, `${k}.type`) === 'unix') hosts.push({ transport: 'unix', socket: propStr(p, `${k}.socket`) ?? '' });
    else {
      // NB: libvirt writes gluster's default port out; a host without one in the XML had it
      const port = propNum(p, `${k}.port`);
      hosts.push({ name: propStr(p, `${k}.host`) ?? '', ...(port !== undefined && port !== URI_DEFAULT_PORT.gluster ? { port } : {}) });
    }
  }
  return { source: { type: 'network', protocol: 'gluster', name: `${propStr(p, 'file.volume') ?? ''}/${(propStr(p, 'file.path') ?? '').replace(/^\//, '')}`, hosts } };
}

function bad(path: string, reason: string, span?: Span): never {
  return fail('BadOptionValue', { option: '-drive file', value: path, reason }, span);
}

/** nbd:HOST:PORT[:exportname=NAME], nbd:unix:PATH[:exportname=NAME] or an nbd[+unix]:// URL. */
function nbdSource(path: string, span?: Span): NetSource {
  if (path.includes('://')) return urlSource(path, 'nbd', span).source as NetSource;
  const rest = path.slice('nbd:'.length);
  let host: Host;
  let tail: string | undefined;
  if (rest.startsWith('unix:/')) {
    const sock = rest.slice('unix:'.length);
    const colon = sock.indexOf(':');
    host = { transport: 'unix', socket: colon < 0 ? sock : sock.slice(0, colon) };
    tail = colon < 0 ? undefined : sock.slice(colon + 1);
  } else {
    const colon = rest.indexOf(':');
    if (colon < 0) return bad(path, 'expected nbd:HOST:PORT', span);
    const name = rest.slice(0, colon);
    const after = rest.slice(colon + 1);
    const c2 = after.indexOf(':');
    const port = parsePort(c2 < 0 ? after : after.slice(0, c2), path, span);
    host = { name, port };
    tail = c2 < 0 ? undefined : after.slice(c2 + 1);
  }
  const exportName = tail?.startsWith('exportname=') ? tail.slice('exportname='.length) : undefined;
  return { type: 'network', protocol: 'nbd', ...(exportName !== undefined ? { name: exportName } : {}), hosts: [host] };
}

/**
 * rbd:POOL/IMAGE[@SNAP][:opt=val…] where mon_host lists monitors separated by '\;' (or '\,',
 * '\ '), each HOST[\:PORT]; id= is the cephx user and conf= a ceph.conf path.
 */
function rbdSource(rest: string, span?: Span): NetSource {
  const colon = rest.indexOf(':');
  let image = colon < 0 ? rest : rest.slice(0, colon);
  const options = colon < 0 ? '' : rest.slice(colon + 1);
  const hosts: Host[] = [];
  let config: string | undefined;
  let auth: DiskAuth | undefined;
  for (const opt of splitEscaped(options, ':')) {
    if (opt.startsWith('id=')) auth = { username: opt.slice(3), secretType: 'ceph' };
    else if (opt.startsWith('conf=')) config = opt.slice(5);
    else if (opt.startsWith('mon_host=')) {
      for (const h of splitMonitors(opt.slice('mon_host='.length))) hosts.push(rbdHost(h, rest, span));
    }
    // NB: libvirt writes the <source name> verbatim after rbd:, so options it does not generate
    // itself (rbd_cache=…) came from the name; auth_supported follows from the <auth>, key= is
    // the secret's value (which the <secret> placeholder stands for)
    else if (!/^(auth_supported|key)=/.test(opt)) image += `:${opt}`;
  }
  // NB: the @snapshot follows the whole name
  let snapshot: string | undefined;
  const at = image.indexOf('@');
  if (at >= 0) {
    snapshot = image.slice(at + 1);
    image = image.slice(0, at);
  }
  return {
    type: 'network', protocol: 'rbd', name: image, hosts,
    ...(snapshot !== undefined ? { snapshot } : {}),
    ...(config !== undefined ? { config } : {}),
    ...(auth ? { auth } : {}),
  };
}

/** Splits on `sep` where it is not escaped with a backslash (escapes are kept). */
function splitEscaped(text: string, sep: string): string[] {
  if (text === '') return [];
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) {
      cur += ch + text[++i]!;
    } else if (ch === sep) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** mon_host's list: monitors separated by an escaped ';', ',' or ' '. */
function splitMonitors(list: string): string[] {
  return list.split(/\\[;, ]/).filter((h) => h !== '');
}

/** HOST, HOST\:PORT or [IPV6]\:PORT */
function rbdHost(h: string, whole: string, span?: Span): Host {
  let name = h;
  let port: number | undefined;
  const v6 = /^\[([^\]]*)\](?:\\:(.*))?$/.exec(h);
  if (v6) {
    name = v6[1]!;
    if (v6[2] !== undefined) port = parsePort(v6[2], whole, span);
  } else {
    const i = h.indexOf('\\:');
    if (i >= 0) {
      name = h.slice(0, i);
      port = parsePort(h.slice(i + 2), whole, span);
    }
  }
  return { name: name.replace(/\\:/g, ':'), ...(port !== undefined ? { port } : {}) };
}

/** sheepdog:VDI or sheepdog:HOST:PORT:VDI */
function sheepdogSource(rest: string, span?: Span): NetSource {
  const colon = rest.indexOf(':');
  if (colon < 0) return { type: 'network', protocol: 'sheepdog', name: rest, hosts: [] };
  const after = rest.slice(colon + 1);
  const c2 = after.indexOf(':');
  if (c2 < 0) return bad(`sheepdog:${rest}`, 'expected sheepdog:HOST:PORT:VDI', span);
  return {
    type: 'network', protocol: 'sheepdog', name: after.slice(c2 + 1),
    hosts: [{ name: rest.slice(0, colon), port: parsePort(after.slice(0, c2), rest, span) }],
  };
}

/** iscsi://[USER[%PASS]@]HOST[:PORT]/IQN[/LUN]: a trailing '/' means LUN 0. */
function iscsiSource(path: string, span?: Span): DriveSource {
  const r = urlSource(path, 'iscsi', span);
  const s = r.source as NetSource;
  let name = s.name;
  if (name !== undefined) {
    const slash = name.indexOf('/');
    if (slash >= 0 && slash === name.length - 1) name = name.slice(0, -1);
    else if (slash >= 0 && !/^\d+$/.test(name.slice(slash + 1))) return bad(path, 'the LUN after the target name must be a number', span);
    // NB: libvirt stores the target and LUN as one name and writes LUN 0 when none is given
    if (!name.includes('/')) name = `${name}/0`;
  }
  return { ...r, source: { ...s, ...(name !== undefined ? { name } : {}) } };
}

/** SCHEME[+TRANSPORT]://[USER@]HOST[:PORT]/PATH[?socket=SOCK] */
function urlSource(path: string, protocol: NetSource['protocol'], span?: Span): DriveSource {
  const m = /^([a-z]+)(?:\+([a-z]+))?:\/\/(.*)$/.exec(path);
  if (!m || m[1] !== protocol) return bad(path, `expected a ${protocol}:// URL`, span);
  const transport = m[2] ?? 'tcp';
  if (transport !== 'tcp' && transport !== 'unix' && transport !== 'rdma') return bad(path, `unknown ${protocol} transport '${transport}'`, span);
  let url: URL;
  try {
    // the scheme is swapped for one WHATWG URL parses generically (host, port, path, query)
    url = new URL(`x-drive://${m[3]}`);
  } catch {
    return bad(path, 'not a valid URL', span);
  }
  const host: Host =
    transport === 'unix'
      ? { transport: 'unix', ...(url.searchParams.get('socket') ? { socket: url.searchParams.get('socket')! } : {}) }
      : {
          ...(transport !== 'tcp' ? { transport } : {}),
          name: url.hostname.replace(/^\[(.*)\]$/, '$1'),
          ...(url.port ? { port: Number(url.port) } : {}),
        };
  let name: string;
  let username: string;
  try {
    name = decodeURIComponent(url.pathname).replace(/^\//, '');
    username = decodeURIComponent(url.username);
  } catch {
    // a '%' not followed by two hex digits (or escaping invalid UTF-8)
    return bad(path, 'bad %-escape in the URL', span);
  }
  const auth: DiskAuth | undefined = username ? { username, ...(protocol === 'iscsi' ? { secretType: 'iscsi' as const } : {}) } : undefined;
  // the query of an http(s)/ftp(s)/tftp URL is part of the image's address; others carry options
  const query = (URL_PROTOCOLS as readonly string[]).includes(protocol) && url.search ? url.search.slice(1) : undefined;
  return {
    source: { type: 'network', protocol, ...(name ? { name } : {}), hosts: [host], ...(query !== undefined ? { query } : {}) },
    ...(auth ? { auth } : {}),
  };
}

function parsePort(text: string, whole: string, span?: Span): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) return bad(whole, `'${text}' is not a port number`, span);
  return Number(text);
}

/** Old-style CEPH_ARGS: "-m HOST[:PORT][,HOST[:PORT]…]", the monitors of the first rbd disk. */
export function cephArgsHosts(value: string, span?: Span): Host[] {
  const m = /^-m\s+(.*)$/.exec(value);
  if (!m) return fail('BadOptionValue', { option: 'CEPH_ARGS', value, reason: "expected '-m HOST[:PORT],…'" }, span);
  return m[1]!.split(',').filter((h) => h !== '').map((h) => {
    const colon = h.indexOf(':');
    return colon < 0 ? { name: h } : { name: h.slice(0, colon), port: parsePort(h.slice(colon + 1), value, span) };
  });
}

// --- <disk> sources -> drive filenames (QEMU before -blockdev) ---------------------------------

/** libvirt's default port per protocol, where a drive URI needs one. */
const URI_DEFAULT_PORT: Partial<Record<NetSource['protocol'], number>> = { iscsi: 3260, nbd: 10809, gluster: 24007 };

/** A host in a URI: IPv6 addresses in brackets. */
const uriHost = (h: Host | undefined) => (h?.name?.includes(':') ? `[${h.name}]` : h?.name ?? '');

/**
 * The -drive file= of a network source, as libvirt wrote it before -blockdev
 * (qemuBuildNetworkDriveStr): nbd:/rbd:/sheepdog: pseudo-URIs or PROTOCOL[+TRANSPORT]:// URLs.
 * Credentials are the user name alone: the password needs the secret objects of -blockdev.
 */
export function networkDriveFilename(s: NetSource, auth: DiskAuth | undefined): string {
  const h = s.hosts[0];
  const name = s.name ?? '';
  switch (s.protocol) {
    case 'nbd': {
      const exp = s.name !== undefined ? `:exportname=${s.name}` : '';
      if (h?.transport === 'unix') return `nbd:unix:${h.socket ?? ''}${exp}`;
      // NB: a colon-separated nbd: string cannot hold an IPv6 address: that one is a URL
      if (h?.name?.includes(':')) return `nbd://${uriHost(h)}:${h.port ?? URI_DEFAULT_PORT.nbd}${s.name !== undefined ? `/${s.name}` : ''}`;
      return `nbd:${h?.name ?? ''}:${h?.port ?? URI_DEFAULT_PORT.nbd}${exp}`;
    }
    case 'rbd': {
      // NB: inside the rbd: string ':' separates options, so hosts escape theirs and are joined by '\;'
      const esc = (t: string) => t.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
      const mons = s.hosts.map((x) => `${x.name?.includes(':') ? `[${esc(x.name)}]` : esc(x.name ?? '')}${x.port !== undefined ? `\\:${x.port}` : ''}`);
      return [
        `rbd:${name}${s.snapshot !== undefined ? `@${s.snapshot}` : ''}`,
        ...(auth ? [`id=${auth.username}`, 'auth_supported=cephx\\;none'] : ['auth_supported=none']),
        ...(mons.length ? [`mon_host=${mons.join('\\;')}`] : []),
        ...(s.config !== undefined ? [`conf=${s.config}`] : []),
      ].join(':');
    }
    case 'sheepdog':
      return h ? `sheepdog:${h.name ?? ''}:${h.port ?? 7000}:${name}` : `sheepdog:${name}`;
    default: {
      const transport = h?.transport && h.transport !== 'tcp' ? `+${h.transport}` : '';
      const user = auth ? `${uriComponent(auth.username, 'user name')}@` : '';
      const port = h?.port ?? URI_DEFAULT_PORT[s.protocol];
      const server = h?.transport === 'unix' ? '' : `${user}${uriHost(h)}${port !== undefined ? `:${port}` : ''}`;
      // NB: an iSCSI target name's ':' is %-escaped in the URL path
      const path = (s.protocol === 'iscsi' ? name.replace(/:/g, '%3A') : name).replace(/^\/?/, '/');
      const query = h?.transport === 'unix' ? `?socket=${h.socket ?? ''}` : s.query !== undefined ? `?${s.query}` : '';
      return `${s.protocol}${transport}://${server}${path}${query}`;
    }
  }
}

/** %-escapes a URI component; text that is not valid Unicode (a lone surrogate) cannot be written. */
function uriComponent(text: string, what: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return fail('Unrepresentable', { what: `the ${what} ${JSON.stringify(text)}`, target: 'a -drive URI', why: 'it is not valid Unicode' });
  }
}
