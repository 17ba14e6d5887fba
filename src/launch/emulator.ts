// QEMU emulator binaries: where they are, which guest arch each runs, its version and machine
// types (`-version`, `-machine help`), and whether /dev/kvm is usable by the guest's user.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import { basename, delimiter, join } from 'node:path';
import { versionFromBanner, type QemuVersion } from '../qemu/version.js';
import { allowed, modeString } from './access.js';
import { groupName, type Identity } from './identity.js';

/** Binary suffix -> libvirt arch name, word size. */
const ARCHES: Readonly<Record<string, readonly [arch: string, wordsize: number]>> = {
  x86_64: ['x86_64', 64], i386: ['i686', 32], aarch64: ['aarch64', 64], arm: ['armv7l', 32], ppc: ['ppc', 32], ppc64: ['ppc64', 64],
  mips: ['mips', 32], mipsel: ['mipsel', 32], mips64: ['mips64', 64], mips64el: ['mips64el', 64], sparc: ['sparc', 32], sparc64: ['sparc64', 64],
  microblaze: ['microblaze', 32], microblazeel: ['microblazeel', 32], s390x: ['s390x', 64], riscv32: ['riscv32', 32], riscv64: ['riscv64', 64],
  alpha: ['alpha', 64], m68k: ['m68k', 32], sh4: ['sh4', 32], sh4eb: ['sh4eb', 32], xtensa: ['xtensa', 32], xtensaeb: ['xtensaeb', 32],
  or1k: ['or1k', 32], loongarch64: ['loongarch64', 64], hppa: ['parisc', 32], cris: ['cris', 32],
};

/** Host arch as libvirt names it (the arch of qemu, qemu-kvm and kvm). */
export function hostArch(): string {
  const a = process.arch;
  return a === 'x64' ? 'x86_64' : a === 'ia32' ? 'i686' : a === 'arm64' ? 'aarch64' : a === 'arm' ? 'armv7l' : a === 'ppc64' ? 'ppc64le' : a;
}

export function wordsize(arch: string): number {
  if (arch === 'ppc64le' || arch === 'x86_64') return 64;
  return Object.values(ARCHES).find(([a]) => a === arch)?.[1] ?? 64;
}

/** The guest arch a binary runs, by its name; the legacy names run the host's. */
export function archOfBinary(path: string): string | undefined {
  const name = basename(path);
  if (name === 'qemu' || name === 'qemu-kvm' || name === 'kvm') return hostArch();
  const m = /^qemu-system-(.+)$/.exec(name);
  return m ? ARCHES[m[1]!]?.[0] : undefined;
}

/** Arches one binary can run: qemu-system-x86_64 runs i686 guests too (as libvirt lists it). */
export function runsArch(binaryArch: string, guestArch: string): boolean {
  if (binaryArch === guestArch) return true;
  if (binaryArch === 'x86_64') return guestArch === 'i686';
  if (binaryArch === 'aarch64') return guestArch === 'armv7l';
  if (binaryArch === 'ppc64') return guestArch === 'ppc64le' || guestArch === 'ppc';
  return false;
}

const LEGACY_NAMES = ['qemu', 'qemu-kvm', 'kvm'];

/** Every emulator in /usr/bin, /usr/libexec and PATH, first found per name, symlinks resolved to dedupe. */
export function probeEmulators(): string[] {
  const dirs = [...new Set(['/usr/bin', '/usr/libexec', ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)])];
  const names = [...Object.keys(ARCHES).map((s) => `qemu-system-${s}`), ...LEGACY_NAMES];
  const found: string[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    for (const dir of dirs) {
      const p = join(dir, name);
      if (!isExecutable(p)) continue;
      const real = realpathSync(p);
      if (!seen.has(real)) {
        seen.add(real);
        found.push(p);
      }
      break;
    }
  }
  return found;
}

export function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

export function emulatorVersion(path: string): QemuVersion | undefined {
  try {
    return versionFromBanner(execFileSync(path, ['-version'], { encoding: 'utf8', timeout: 10000, stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return undefined;
  }
}

export interface Machine {
  readonly name: string;
  /** the versioned type an alias stands for ("pc" -> "pc-i440fx-7.2") */
  readonly canonical?: string;
  readonly isDefault: boolean;
  readonly deprecated: boolean;
}

/** `-machine help`: "NAME  DESCRIPTION (alias of X) (default) (deprecated)". */
export function emulatorMachines(path: string): Machine[] | undefined {
  let out: string;
  try {
    out = execFileSync(path, ['-machine', 'help'], { encoding: 'utf8', timeout: 10000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
  const machines: Machine[] = [];
  for (const line of out.split('\n').slice(1)) {
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const alias = /\(alias of ([^)]+)\)/.exec(m[2]!);
    machines.push({ name: m[1]!, ...(alias ? { canonical: alias[1]! } : {}), isDefault: m[2]!.includes('(default)'), deprecated: m[2]!.includes('(deprecated)') });
  }
  return machines;
}

export type KvmState = { readonly usable: true } | { readonly usable: false; readonly reason: string };

/** /dev/kvm exists and the guest's user may open it read-write; if not, what to do about it. */
export function kvmState(who: Identity, dev = '/dev/kvm'): KvmState {
  if (!existsSync(dev)) return { usable: false, reason: `${dev} does not exist (no KVM on this host: load kvm_intel/kvm_amd or enable nested virtualization), use <domain type='qemu'>` };
  const st = statSync(dev);
  if (!st.isCharacterDevice()) return { usable: false, reason: `${dev} is not a device node; use <domain type='qemu'>` };
  if (allowed(st, who, 'r') && allowed(st, who, 'w')) return { usable: true };
  const via = (st.mode & 0o060) === 0o060 ? `add ${who.user} to group '${groupName(st.gid)}' (usermod -aG ${groupName(st.gid)} ${who.user})` : `make ${dev} group read-write`;
  return { usable: false, reason: `${who.user} (uid ${who.uid}) cannot open ${dev} read-write (${modeString(st)}); ${via}, or use <domain type='qemu'>` };
}
