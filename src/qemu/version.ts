// QEMU versions: parsing "X.Y[.Z]" and comparing them.
import { fail, type Span } from '../errors.js';

export type QemuVersion = readonly [major: number, minor: number, micro: number];

export function parseVersion(text: string, span?: Span): QemuVersion {
  const m = /^\s*(\d+)\.(\d+)(?:\.(\d+))?\s*$/.exec(text);
  if (!m) return fail('BadVersion', { value: text }, span);
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

/** Reads the version out of `qemu-system-x86_64 -version` output. */
export function versionFromBanner(banner: string): QemuVersion | undefined {
  const m = /version\s+(\d+)\.(\d+)(?:\.(\d+))?/i.exec(banner);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

export function compareVersions(a: QemuVersion, b: QemuVersion): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

export function formatVersion(v: QemuVersion): string {
  return v[2] ? `${v[0]}.${v[1]}.${v[2]}` : `${v[0]}.${v[1]}`;
}

// the bounds are a few dozen literals from the option and capability tables, asked per option printed
const bounds = new Map<string, QemuVersion>();
const bound = (text: string): QemuVersion => {
  let v = bounds.get(text);
  if (!v) bounds.set(text, (v = parseVersion(text)));
  return v;
};

/** True when `v` lies in [since, until). Either bound may be absent. */
export function inRange(v: QemuVersion, since?: string, until?: string): boolean {
  if (since && compareVersions(v, bound(since)) < 0) return false;
  if (until && compareVersions(v, bound(until)) >= 0) return false;
  return true;
}
