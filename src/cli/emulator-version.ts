// The QEMU version of a domain's <emulator> binary (`BINARY -version`), remembered per binary.
//
// Running the emulator costs more than the whole conversion, so, as libvirt does with its QEMU
// capabilities cache (/var/cache/libvirt/qemu/capabilities, revalidated by the binary's ctime),
// the answer is kept in $XDG_CACHE_HOME/domxml/emulators.json keyed by path and revalidated by the
// binary's device, inode, size, mtime and ctime: a replaced or upgraded binary is asked again.
// Within one process each binary is looked up once, so a batch of files runs it at most once.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { versionFromBanner, type QemuVersion } from '../qemu/version.js';

interface CacheEntry {
  readonly stamp: string;
  readonly version: QemuVersion | null;
}

const seen = new Map<string, QemuVersion | undefined>();
let disk: Record<string, CacheEntry> | undefined;

function cacheFile(): string {
  const base = process.env['XDG_CACHE_HOME'] || join((createRequire(import.meta.url)('node:os') as typeof import('node:os')).homedir(), '.cache');
  return join(base, 'domxml', 'emulators.json');
}

function loadCache(): Record<string, CacheEntry> {
  if (!disk) {
    try {
      disk = JSON.parse(readFileSync(cacheFile(), 'utf8')) as Record<string, CacheEntry>;
    } catch {
      disk = {};
    }
  }
  return disk;
}

function saveCache(cache: Record<string, CacheEntry>): void {
  // NB: temp file + rename, so concurrent runs each see a whole file (the last writer wins)
  const file = cacheFile();
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(tmp, JSON.stringify(cache));
    renameSync(tmp, file);
  } catch {
    /* a read-only home: the version is simply asked again next time */
  }
}

function probe(binary: string): QemuVersion | undefined {
  // NB: loaded on a cache miss only: node:child_process alone costs ~5% of a cold start
  const { execFileSync } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  try {
    const out = execFileSync(binary, ['-version'], { encoding: 'utf8', timeout: 10000, stdio: ['ignore', 'pipe', 'ignore'] });
    return versionFromBanner(out);
  } catch {
    return undefined;
  }
}

/** The version `binary -version` reports; undefined when there is no such binary or it will not say. */
export function emulatorVersion(binary: string): QemuVersion | undefined {
  if (seen.has(binary)) return seen.get(binary);
  let version: QemuVersion | undefined;
  let stamp: string | undefined;
  try {
    const st = statSync(binary, { bigint: true });
    stamp = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    /* no such binary */
  }
  if (stamp !== undefined) {
    const cache = loadCache();
    const hit = cache[binary];
    if (hit && hit.stamp === stamp) version = hit.version ?? undefined;
    else {
      version = probe(binary);
      cache[binary] = { stamp, version: version ?? null };
      saveCache(cache);
    }
  }
  seen.set(binary, version);
  return version;
}
