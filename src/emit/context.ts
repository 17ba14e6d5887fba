// What every IR -> argv builder receives: the domain, the target QEMU's capabilities, the host
// configuration, the per-domain paths, and the builder the options go into.
import type { HostFacts } from './host.js';
import type { Diagnostics } from '../errors.js';
import type { Domain } from '../ir/domain.js';
import type { SecretStore } from '../families/secret.js';
import type { Caps } from '../qemu/caps.js';
import type { QemuConf } from '../qemu/config.js';
import type { ArgvBuilder } from './argv.js';

export interface DomainPaths {
  /** Per-domain state directory (libvirt: /var/lib/libvirt/qemu/domain-ID-NAME). */
  readonly stateDir: string;
  readonly monitorSocket: string;
  readonly masterKey: string;
}

export interface EmitContext {
  readonly dom: Domain;
  readonly caps: Caps;
  readonly conf: QemuConf;
  readonly paths: DomainPaths;
  /** Print a command QEMU can run as-is: sockets by path, no pre-opened fds. */
  readonly runnable: boolean;
  /** What libvirt would read from the host (src/emit/host.ts). */
  readonly host: HostFacts;
  /** libvirt's own environment, where it reads QEMU_AUDIO_DRV/SDL_AUDIODRIVER for host audio. */
  readonly hostEnv?: Readonly<Record<string, string | undefined>>;
  /** Where secret values come from (--secrets-dir); none: secret objects get empty values. */
  readonly secrets?: SecretStore;
  /** The master key QEMU will read (a launch writes it): runnable secrets are encrypted with it. */
  readonly masterKey?: Uint8Array;
  readonly diag: Diagnostics;
  readonly out: ArgvBuilder;
}

/** libvirt's short domain name for directories: "ID-NAME", the name cut to 20 characters. */
export function domainShortName(id: number, name: string): string {
  return `${id}-${name.slice(0, 20)}`;
}

export function defaultPaths(name: string, stateDir?: string): DomainPaths {
  const dir = stateDir ?? `/var/lib/libvirt/qemu/domain-${domainShortName(-1, name)}`;
  return { stateDir: dir, monitorSocket: `${dir}/monitor.sock`, masterKey: `${dir}/master-key.aes` };
}
