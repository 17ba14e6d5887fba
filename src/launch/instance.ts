// Connection URIs to driver instances, as libvirt's QEMU driver has them: qemu:///system (root;
// QEMU runs as qemu.conf's user/group, state under /run, /var/lib, /var/cache) and
// qemu:///session (QEMU runs as the caller, state under the XDG directories).
// `?root=DIR` moves every directory under DIR, like libvirt's qemu:///embed.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CONF, parseQemuConf, type QemuConf } from '../qemu/config.js';
import { refuse } from './errors.js';
import { callerIdentity, configuredIdentity, type Identity } from './identity.js';

export interface Instance {
  readonly uri: string;
  readonly mode: 'system' | 'session';
  /** pidfiles, status records, control sockets: owned by the launcher */
  readonly runDir: string;
  /** per-domain state directories (QEMU's HOME, monitor socket, master key): owned by the guest user */
  readonly libDir: string;
  readonly cacheDir: string;
  readonly logDir: string;
  readonly confFile: string;
  readonly conf: QemuConf;
  /** who QEMU runs as */
  readonly guest: Identity;
}

export function defaultUri(): string {
  return process.env.DOMXML_DEFAULT_URI || (process.getuid!() === 0 ? 'qemu:///system' : 'qemu:///session');
}

export function openInstance(uri: string, configOverride?: string): Instance {
  const m = /^([a-z0-9]+)(?:\+([a-z0-9]+))?:\/\/([^/]*)(\/[^?]*)?(?:\?(.*))?$/i.exec(uri);
  if (!m) return refuse(`'${uri}' is not a connection URI (expected qemu:///system or qemu:///session)`);
  const [, driver, transport, host, path = '', query = ''] = m;
  if (driver !== 'qemu') return refuse(`driver '${driver}' of '${uri}' is not supported here: domxml runs QEMU only`);
  if (transport || host) return refuse(`remote connection '${uri}' is not supported here: domxml launches QEMU on this host only (use qemu:///system or qemu:///session)`);
  const params = new URLSearchParams(query);
  const root = params.get('root') ?? undefined;
  const isRoot = process.getuid!() === 0;
  if (path === '/system') {
    if (!isRoot) return refuse(`qemu:///system needs root (it runs QEMU as qemu.conf's user); use qemu:///session to run QEMU as yourself`);
    const at = (p: string): string => (root ? join(root, p) : p);
    const confFile = configOverride ?? at('/etc/domxml/qemu.conf');
    const conf = readConf(confFile, configOverride !== undefined);
    return {
      uri, mode: 'system',
      runDir: at('/run/domxml/qemu'), libDir: at('/var/lib/domxml/qemu'), cacheDir: at('/var/cache/domxml/qemu'), logDir: at('/var/log/domxml/qemu'),
      confFile, conf, guest: configuredIdentity(conf.user, conf.group, confFile),
    };
  }
  if (path === '/session') {
    const guest = callerIdentity();
    const env = process.env;
    const config = root ? join(root, 'config') : env.XDG_CONFIG_HOME || join(guest.home, '.config');
    const cache = root ? join(root, 'cache') : env.XDG_CACHE_HOME || join(guest.home, '.cache');
    // NB: libvirt falls back to the cache directory when there is no XDG_RUNTIME_DIR
    const run = root ? join(root, 'run', 'domxml') : env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'domxml') : join(cache, 'domxml');
    const confFile = configOverride ?? join(config, 'domxml', 'qemu.conf');
    const conf = readConf(confFile, configOverride !== undefined);
    return {
      uri, mode: 'session',
      runDir: join(run, 'qemu', 'run'), libDir: join(config, 'domxml', 'qemu', 'lib'), cacheDir: join(cache, 'domxml', 'qemu'), logDir: join(cache, 'domxml', 'qemu', 'log'),
      confFile, conf, guest,
    };
  }
  return refuse(`'${uri}' names no QEMU driver instance: use qemu:///system or qemu:///session`);
}

function readConf(file: string, required: boolean): QemuConf {
  if (!existsSync(file)) {
    if (required) refuse(`configuration file ${file} does not exist`);
    return DEFAULT_CONF;
  }
  return parseQemuConf(readFileSync(file, 'utf8'), file);
}
