// libvirt secrets (passwords, passphrases, cookies) <-> -object secret: the value AES-256-CBC
// encrypted under the domain's master key (keyid=masterKey0), with its IV, both base64.
//
// The value comes from a secret store laid out as libvirt's /etc/libvirt/secrets: UUID.xml (the
// secret's definition, with its <usage>) next to UUID.base64 (its value). A converter has no
// libvirt daemon to ask, so the store is read only when given (--secrets-dir).
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fail, type Span } from '../errors.js';
import type { ArgvReader } from '../ir/argv-reader.js';
import { optProps } from '../ir/argv-reader.js';
import type { ParsedOption } from '../lexer/argv-parser.js';
import { propStr, props, type Props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { readXml } from '../xml/read.js';

// NB: node:crypto is required on first use (here and for sysinfo.ts's generation IDs): most domains
// need none, and loading it costs a cold CLI run a few milliseconds.
let cryptoModule: typeof import('node:crypto') | undefined;
export const crypto = (): typeof import('node:crypto') => (cryptoModule ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto'));
import { child } from '../xml/tree.js';

/**
 * Which secret a definition names: by uuid, or by usage. libvirt's usage kinds: 'volume' (disk
 * encryption passphrases, usage = the volume path), 'iscsi' (CHAP, usage = the target),
 * 'ceph' (cephx keys), 'tls' (TLS key passwords), 'vtpm'.
 */
export interface SecretRef {
  readonly usageType: 'volume' | 'iscsi' | 'ceph' | 'tls' | 'vtpm';
  readonly uuid?: string;
  readonly usage?: string;
}

/** A secret store: the value of a secret, or undefined when the store does not hold it. */
export interface SecretStore {
  lookup(ref: SecretRef): Uint8Array | undefined;
}

/** The element naming a secret's usage id inside <usage type=…> (virSecretDefParseUsage). */
const USAGE_ID: Record<SecretRef['usageType'], string> = { volume: 'volume', iscsi: 'target', ceph: 'name', tls: 'name', vtpm: 'name' };

/** Reads a libvirt secrets directory; files are read on first use and unreadable ones skipped. */
export function secretStoreFromDir(dir: string): SecretStore {
  let defs: { uuid: string; type?: string; id?: string }[] | undefined;
  const load = () => {
    defs = [];
    let files: string[];
    try {
      files = readdirSync(dir);
    } catch (err) {
      return fail('Io', { reason: `cannot read the secrets directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` });
    }
    for (const f of files) {
      if (!f.endsWith('.xml')) continue;
      try {
        const x = readXml(readFileSync(join(dir, f), 'utf8'), join(dir, f));
        const usage = child(x, 'usage');
        const type = usage?.attrs.type;
        const idEl = type && type in USAGE_ID ? child(usage!, USAGE_ID[type as SecretRef['usageType']]) : undefined;
        defs.push({ uuid: child(x, 'uuid')?.text.trim() ?? f.slice(0, -4), ...(type ? { type } : {}), ...(idEl ? { id: idEl.text.trim() } : {}) });
      } catch {
        // NB: libvirt skips a secret it cannot parse and loads the others
      }
    }
    return defs;
  };
  return {
    lookup(ref) {
      const all = defs ?? load();
      const d = ref.uuid !== undefined ? all.find((x) => x.uuid === ref.uuid) : all.find((x) => x.type === ref.usageType && x.id === ref.usage);
      if (!d) return undefined;
      try {
        return Buffer.from(readFileSync(join(dir, `${d.uuid}.base64`), 'utf8').trim(), 'base64');
      } catch {
        return undefined; // defined without a value
      }
    },
  };
}

/** The bytes 00 01 02 …: libvirt's test harness's "random" bytes, for reproducible output. */
export const countingBytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => i));

/** AES-256-CBC with PKCS#7 padding, as QEMU's secret object decrypts `data` (base64 in and out). */
export function encryptSecret(value: Uint8Array, key: Uint8Array, iv: Uint8Array): string {
  const c = crypto().createCipheriv('aes-256-cbc', key, iv);
  return Buffer.concat([c.update(value), c.final()]).toString('base64');
}

/** A description of a secret for messages: its uuid or usage. */
const describe = (ref: SecretRef) => (ref.uuid !== undefined ? `secret ${ref.uuid}` : `${ref.usageType} secret '${ref.usage ?? ''}'`);

/**
 * Prints `-object secret,id=ID` carrying the referenced secret (libvirt's
 * qemuBuildSecretInfoProps). Without a store holding it, the value is left empty with a warning:
 * the structure still shows where the secret goes.
 * NB: libvirt encrypts with a fresh random IV per secret under a random master key; outside a
 * launch we use the counting bytes in both places (as libvirt's tests do), so output is stable.
 */
export function buildSecretObject(ctx: EmitContext, id: string, ref: SecretRef, what: string, span?: Span): void {
  const value = ctx.secrets?.lookup(ref);
  if (!value) ctx.diag.warn('SecretUnavailable', { what, secret: describe(ref), why: ctx.secrets ? 'the secret store does not hold it' : 'no secret store given (--secrets-dir)' }, span);
  buildSecretValueObject(ctx, id, value ?? new Uint8Array(0), span);
}

/** `-object secret` for a value the domain XML itself holds (HTTP cookies). */
export function buildSecretValueObject(ctx: EmitContext, id: string, value: Uint8Array, span?: Span): void {
  const runnable = ctx.runnable;
  if (runnable && !ctx.masterKey) {
    // NB: no master key file exists for a command line run by hand: the value goes in clear
    ctx.diag.warn('RunnableSubstitute', { what: `secret ${id}`, instead: 'its value in clear (no master key file to encrypt it with)' }, span);
    ctx.out.object('-object', props({ 'qom-type': 'secret', id, data: Buffer.from(value).toString('base64'), format: 'base64' }));
    return;
  }
  const key = runnable ? ctx.masterKey! : countingBytes(32);
  const iv = runnable ? crypto().randomBytes(16) : countingBytes(16);
  ctx.out.object('-object', props({
    'qom-type': 'secret',
    id,
    data: encryptSecret(value, key, iv),
    keyid: 'masterKey0',
    iv: iv.toString('base64'),
    format: 'base64',
  }));
}

// --- argv -> IR --------------------------------------------------------------------------------

/**
 * Claims the `-object secret` with this id, if there is one. Its value is encrypted under a key
 * the command line does not carry: what survives is only that a secret was there.
 */
export function claimSecretObject(r: ArgvReader, id: string | undefined): Props | undefined {
  if (id === undefined) return undefined;
  const o = secretObjects(r).get(id);
  if (!o) return undefined;
  r.claim(o);
  // NB: its data, IV and key id are the value in transit: the <secret> holds none of them
  r.settle(o, 'data', 'iv', 'keyid', 'format');
  return optProps(o);
}

/**
 * The usage from-native gives the <secret> of credentials a command line uses: libvirt finds a
 * secret by usage or uuid (and the schema requires one of them), yet the command line carries
 * only a secret object's id, its value encrypted, or a password in the clear. The placeholder
 * is derived from `holder` (the secret object's id, or the device holding the credentials) and
 * named in a warning, so a secret can be defined under it.
 */
export function placeholderSecretUsage(r: ArgvReader, holder: string, what: string, span?: Span): string {
  const usage = `domxml-${holder}`;
  r.diag.warn('SecretUsagePlaceholder', { what, usage }, span);
  return usage;
}

/** The command line's secret objects by id (masterKey0, libvirt's own, is the process family's). */
function secretObjects(r: ArgvReader): Map<string, ParsedOption> {
  const m = new Map<string, ParsedOption>();
  for (const o of r.cmd.options) {
    if (o.name !== '-object') continue;
    const p = optProps(o);
    const id = propStr(p, 'id');
    if (propStr(p, 'qom-type') === 'secret' && id !== undefined && id !== 'masterKey0') m.set(id, o);
  }
  return m;
}
