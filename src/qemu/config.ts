// libvirt's qemu.conf: the host configuration to-native and launch read (`--config FILE`).
// Syntax (libvirt's virConf): `key = value` lines, # comments, values are "strings", integers
// or [ "lists", … ]. Unknown keys are kept; defaults are those of a stock Debian libvirt 9.0 host.
import { fail, type Span } from '../errors.js';

export type ConfValue = string | number | readonly string[];

export interface QemuConf {
  readonly user: string;
  readonly group: string;
  readonly vncListen: string;
  readonly vncTls: boolean;
  readonly vncTlsX509CertDir?: string;
  readonly vncTlsX509Verify: boolean;
  readonly vncPassword?: string;
  readonly vncSasl: boolean;
  readonly vncAllowHostAudio: boolean;
  readonly spiceListen: string;
  readonly spiceTls: boolean;
  readonly spiceTlsX509CertDir?: string;
  readonly spicePassword?: string;
  readonly spiceSasl: boolean;
  readonly nographicsAllowHostAudio: boolean;
  /** vnc_auto_unix_socket/spice_auto_unix_socket: listen on DOMAIN_DIR/vnc.sock (spice.sock) instead of an address */
  readonly vncAutoUnixSocket: boolean;
  readonly spiceAutoUnixSocket: boolean;
  readonly vncSaslDir?: string;
  readonly spiceSaslDir?: string;
  readonly hugetlbfsMount: readonly string[];
  readonly securityDriver: readonly string[];
  readonly nvram: readonly string[];
  readonly stdioHandler: 'logd' | 'file';
  readonly cgroupDeviceAcl: readonly string[];
  readonly memoryBackingDir: string;
  readonly nvramDir: string;
  readonly defaultTlsX509CertDir: string;
  readonly dumpGuestCore: boolean;
  /** chardev_tls*: TLS for tcp character devices (default off; cert dir and verify fall back to default_tls_*) */
  readonly chardevTls: boolean;
  readonly chardevTlsX509CertDir: string;
  readonly chardevTlsX509Verify: boolean;
  readonly chardevTlsX509SecretUuid?: string;
  /** deprecation_behavior: the <qemu:deprecation> of domains that give none */
  readonly deprecationBehavior?: 'none' | 'omit' | 'reject' | 'crash';
  /** Every key as written, for the settings not typed above. */
  readonly raw: ReadonlyMap<string, ConfValue>;
}

export const DEFAULT_CONF: QemuConf = {
  user: 'libvirt-qemu',
  group: 'libvirt-qemu',
  vncListen: '127.0.0.1',
  vncTls: false,
  vncTlsX509Verify: false,
  vncSasl: false,
  vncAllowHostAudio: false,
  spiceListen: '127.0.0.1',
  spiceTls: false,
  spiceSasl: false,
  nographicsAllowHostAudio: false,
  vncAutoUnixSocket: false,
  spiceAutoUnixSocket: false,
  hugetlbfsMount: [],
  securityDriver: ['apparmor'],
  nvram: [],
  stdioHandler: 'logd',
  cgroupDeviceAcl: ['/dev/null', '/dev/full', '/dev/zero', '/dev/random', '/dev/urandom', '/dev/ptmx', '/dev/kvm', '/dev/userfaultfd'],
  memoryBackingDir: '/var/lib/libvirt/qemu/ram',
  nvramDir: '/var/lib/libvirt/qemu/nvram',
  defaultTlsX509CertDir: '/etc/pki/qemu',
  dumpGuestCore: false,
  chardevTls: false,
  chardevTlsX509CertDir: '/etc/pki/qemu',
  chardevTlsX509Verify: false,
  raw: new Map(),
};

export function parseQemuConf(text: string, file?: string): QemuConf {
  const raw = new Map<string, ConfValue>();
  // join list values that span lines: [ "a",\n "b" ]
  const src = text.replace(/\r\n/g, '\n');
  let i = 0;
  let line = 1;
  const span = (): Span => ({ file, line, column: 1 });
  while (i < src.length) {
    const end = src.indexOf('\n', i);
    let stmt = src.slice(i, end < 0 ? src.length : end);
    let consumed = stmt.length + 1;
    const startLine = line;
    if (/=\s*\[/.test(stmt) && !stmt.includes(']')) {
      const close = src.indexOf(']', i);
      if (close < 0) return fail('ConfigSyntax', { reason: 'unterminated list' }, span());
      stmt = src.slice(i, close + 1);
      const restEnd = src.indexOf('\n', close);
      consumed = (restEnd < 0 ? src.length : restEnd) - i + 1;
    }
    line += (src.slice(i, i + consumed).match(/\n/g) ?? []).length;
    i += consumed;
    const s = stripComment(stmt).trim();
    if (!s) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([\s\S]*)$/.exec(s);
    if (!m) return fail('ConfigSyntax', { reason: `expected 'key = value', got '${s}'` }, { file, line: startLine, column: 1 });
    raw.set(m[1]!, parseConfValue(m[2]!.trim(), { file, line: startLine, column: 1 }));
  }
  return confFromRaw(raw);
}

function stripComment(s: string): string {
  let inStr = false;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '"' && s[i - 1] !== '\\') inStr = !inStr;
    else if (s[i] === '#' && !inStr) return s.slice(0, i);
  }
  return s;
}

function parseConfValue(v: string, span: Span): ConfValue {
  if (v.startsWith('[')) {
    const body = v.slice(1, v.lastIndexOf(']'));
    const items = [...body.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => unquote(m[1]!));
    return items;
  }
  if (v.startsWith('"')) {
    if (!v.endsWith('"') || v.length < 2) return fail('ConfigSyntax', { reason: `unterminated string ${v}` }, span);
    return unquote(v.slice(1, -1));
  }
  if (/^-?\d+$/.test(v)) return Number(v);
  return fail('ConfigSyntax', { reason: `bad value '${v}'` }, span);
}

function unquote(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}

const DEPRECATION_BEHAVIORS = ['none', 'omit', 'reject', 'crash'] as const;
function deprecation(v: string | undefined): { deprecationBehavior?: QemuConf['deprecationBehavior'] } {
  if (v === undefined) return {};
  if (!(DEPRECATION_BEHAVIORS as readonly string[]).includes(v)) return fail('ConfigSyntax', { reason: `deprecation_behavior '${v}' is not one of ${DEPRECATION_BEHAVIORS.join(', ')}` });
  return { deprecationBehavior: v as QemuConf['deprecationBehavior'] };
}

function confFromRaw(raw: Map<string, ConfValue>): QemuConf {
  const str = (k: string, d: string): string => (typeof raw.get(k) === 'string' ? (raw.get(k) as string) : d);
  const optStr = (k: string): string | undefined => (typeof raw.get(k) === 'string' ? (raw.get(k) as string) : undefined);
  const bool = (k: string, d: boolean): boolean => (raw.has(k) ? Number(raw.get(k)) !== 0 : d);
  const list = (k: string, d: readonly string[]): readonly string[] => {
    const v = raw.get(k);
    if (v === undefined) return d;
    return typeof v === 'string' ? [v] : typeof v === 'number' ? [String(v)] : v;
  };
  const d = DEFAULT_CONF;
  const defaultTls = str('default_tls_x509_cert_dir', d.defaultTlsX509CertDir);
  return {
    user: str('user', d.user),
    group: str('group', d.group),
    vncListen: str('vnc_listen', d.vncListen),
    vncTls: bool('vnc_tls', d.vncTls),
    vncTlsX509CertDir: optStr('vnc_tls_x509_cert_dir'),
    vncTlsX509Verify: bool('vnc_tls_x509_verify', d.vncTlsX509Verify),
    vncPassword: optStr('vnc_password'),
    vncSasl: bool('vnc_sasl', d.vncSasl),
    vncAllowHostAudio: bool('vnc_allow_host_audio', d.vncAllowHostAudio),
    spiceListen: str('spice_listen', d.spiceListen),
    spiceTls: bool('spice_tls', d.spiceTls),
    spiceTlsX509CertDir: optStr('spice_tls_x509_cert_dir'),
    spicePassword: optStr('spice_password'),
    spiceSasl: bool('spice_sasl', d.spiceSasl),
    nographicsAllowHostAudio: bool('nographics_allow_host_audio', d.nographicsAllowHostAudio),
    vncAutoUnixSocket: bool('vnc_auto_unix_socket', d.vncAutoUnixSocket),
    spiceAutoUnixSocket: bool('spice_auto_unix_socket', d.spiceAutoUnixSocket),
    vncSaslDir: optStr('vnc_sasl_dir'),
    spiceSaslDir: optStr('spice_sasl_dir'),
    hugetlbfsMount: list('hugetlbfs_mount', d.hugetlbfsMount),
    securityDriver: list('security_driver', d.securityDriver),
    nvram: list('nvram', d.nvram),
    stdioHandler: str('stdio_handler', d.stdioHandler) === 'file' ? 'file' : 'logd',
    cgroupDeviceAcl: list('cgroup_device_acl', d.cgroupDeviceAcl),
    memoryBackingDir: str('memory_backing_dir', d.memoryBackingDir),
    nvramDir: str('nvram_dir', d.nvramDir),
    defaultTlsX509CertDir: defaultTls,
    dumpGuestCore: bool('dump_guest_core', d.dumpGuestCore),
    chardevTls: bool('chardev_tls', d.chardevTls),
    chardevTlsX509CertDir: str('chardev_tls_x509_cert_dir', defaultTls),
    chardevTlsX509Verify: bool('chardev_tls_x509_verify', bool('default_tls_x509_verify', d.chardevTlsX509Verify)),
    chardevTlsX509SecretUuid: optStr('chardev_tls_x509_secret_uuid') ?? optStr('default_tls_x509_secret_uuid'),
    ...deprecation(optStr('deprecation_behavior')),
    raw,
  };
}
