// Relative host paths of a domain read from a command line, made absolute: libvirt needs absolute
// paths (its schema's absFilePath), where a script run from its own directory (quickemu's
// `-drive file=ubuntu/disk.qcow2`) names files relative to wherever it was started.
import { posix } from 'node:path';
import type { Diagnostics, Span } from '../errors.js';
import type { Chardev, ChardevSource, DiskBackingStore, DiskSource, Domain } from './domain.js';

/**
 * The domain with every relative host path resolved against `cwd` (the directory the command
 * line ran in), each named in a warning: that directory is an assumption unless the caller knows
 * it (/proc/PID/cwd of a running QEMU).
 */
export function absolutePaths(d: Domain, cwd: string, diag: Diagnostics, why: string): Domain {
  const seen = new Set<string>();
  const abs = (p: string | undefined, span: Span | undefined): string | undefined => {
    if (p === undefined || p === '' || p.startsWith('/')) return p;
    const out = posix.resolve(cwd, p);
    if (!seen.has(p)) {
      seen.add(p);
      diag.warn('RelativePath', { path: p, resolved: out, why }, span);
    }
    return out;
  };
  const disk = (s: DiskSource, span: Span | undefined): DiskSource =>
    s.type === 'file' ? { ...s, file: abs(s.file, span) } : s.type === 'block' ? { ...s, dev: abs(s.dev, span) } : s.type === 'dir' ? { ...s, dir: abs(s.dir, span) } : s;
  const chain = (b: DiskBackingStore | null | undefined, span: Span | undefined): DiskBackingStore | null | undefined =>
    b ? { ...b, source: disk(b.source, span), ...(b.backingStore !== undefined ? { backingStore: chain(b.backingStore, span) } : {}) } : b;
  const chardevSource = (s: ChardevSource, span: Span | undefined): ChardevSource =>
    s.type === 'file' || s.type === 'dev' || s.type === 'pipe' ? { ...s, path: abs(s.path, span)! } : s.type === 'unix' ? { ...s, path: abs(s.path, span) } : s;
  const chardev = <C extends Chardev>(c: C): C => ({
    ...c,
    source: chardevSource(c.source, c.$span),
    ...(c.log ? { log: { ...c.log, file: abs(c.log.file, c.$span)! } } : {}),
  });
  const os = d.os;
  const dv = d.devices;
  return {
    ...d,
    os: {
      ...os,
      ...(os.kernel !== undefined ? { kernel: abs(os.kernel, os.$span) } : {}),
      ...(os.initrd !== undefined ? { initrd: abs(os.initrd, os.$span) } : {}),
      ...(os.dtb !== undefined ? { dtb: abs(os.dtb, os.$span) } : {}),
      ...(os.loader ? { loader: { ...os.loader, path: abs(os.loader.path, os.$span)! } } : {}),
      ...(os.nvram?.path !== undefined ? { nvram: { ...os.nvram, path: abs(os.nvram.path, os.$span) } } : {}),
    },
    devices: {
      ...dv,
      disks: dv.disks.map((x) => ({
        ...x,
        source: disk(x.source, x.$span),
        ...(x.backingStore !== undefined ? { backingStore: chain(x.backingStore, x.$span) } : {}),
      })),
      filesystems: dv.filesystems.map((f) => ({
        ...f,
        source: { ...f.source, ...(f.source.dir !== undefined ? { dir: abs(f.source.dir, f.$span) } : {}), ...(f.source.file !== undefined ? { file: abs(f.source.file, f.$span) } : {}), ...(f.source.socket !== undefined ? { socket: abs(f.source.socket, f.$span) } : {}) },
      })),
      serials: dv.serials.map(chardev),
      parallels: dv.parallels.map(chardev),
      consoles: dv.consoles.map(chardev),
      channels: dv.channels.map(chardev),
    },
  };
}
