// Typed reads of XML attribute and element values, failing with the element's location.
import { fail } from '../errors.js';
import { child, type XmlElement } from './tree.js';

export function reqAttr(e: XmlElement, name: string): string {
  const v = e.attrs[name];
  if (v === undefined) return fail('XmlMissingAttribute', { attribute: name, element: e.name }, e.span);
  return v;
}

export function enumAttr<T extends string>(e: XmlElement, name: string, allowed: readonly T[]): T | undefined {
  const v = e.attrs[name];
  if (v === undefined) return undefined;
  return checkEnum(e, `${e.name} ${name}`, v, allowed);
}

export function checkEnum<T extends string>(e: XmlElement, what: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) {
    return fail('XmlBadValue', { what, value: v, expected: `one of ${allowed.join(', ')}` }, e.span);
  }
  return v as T;
}

/** Integers as libvirt reads them: decimal, or hex with 0x. */
export function intAttr(e: XmlElement, name: string): number | undefined {
  const v = e.attrs[name];
  return v === undefined ? undefined : parseIntValue(e, `${e.name} ${name}`, v);
}

export function parseIntValue(e: XmlElement, what: string, v: string): number {
  const s = v.trim();
  const n = /^0x[0-9a-f]+$/i.test(s) ? parseInt(s, 16) : /^-?\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n)) return fail('XmlBadValue', { what, value: v, expected: 'an integer' }, e.span);
  return n;
}

/** yes/no and on/off attributes. */
export function boolAttr(e: XmlElement, name: string): boolean | undefined {
  const v = e.attrs[name];
  if (v === undefined) return undefined;
  if (v === 'yes' || v === 'on') return true;
  if (v === 'no' || v === 'off') return false;
  return fail('XmlBadValue', { what: `${e.name} ${name}`, value: v, expected: 'yes or no' }, e.span);
}

export const onOff = (b: boolean | undefined): string | undefined => (b === undefined ? undefined : b ? 'on' : 'off');
export const yesNo = (b: boolean | undefined): string | undefined => (b === undefined ? undefined : b ? 'yes' : 'no');

const UNITS: Record<string, number> = {
  b: 1, bytes: 1, k: 1024, kib: 1024, kb: 1000, m: 1024 ** 2, mib: 1024 ** 2, mb: 1e6,
  g: 1024 ** 3, gib: 1024 ** 3, gb: 1e9, t: 1024 ** 4, tib: 1024 ** 4, tb: 1e12,
  p: 1024 ** 5, pib: 1024 ** 5, pb: 1e15, e: 1024 ** 6, eib: 1024 ** 6, eb: 1e18,
};

/** A scaled size element (<memory unit='MiB'>512</memory>) in KiB, rounded up like libvirt. */
export function sizeKiB(e: XmlElement, defaultUnit = 'KiB'): number {
  return Math.ceil(sizeBytes(e, defaultUnit) / 1024);
}

/** A scaled size element (<size unit='M'>4</size>) in bytes; a bare number is in defaultUnit. */
export function sizeBytes(e: XmlElement, defaultUnit = 'b'): number {
  const unit = (e.attrs.unit ?? defaultUnit).toLowerCase();
  const scale = UNITS[unit];
  if (scale === undefined) {
    return fail('XmlBadValue', { what: `${e.name} unit`, value: e.attrs.unit ?? '', expected: 'one of b, KiB, MiB, GiB, TiB, KB, MB, GB, …' }, e.span);
  }
  const n = parseIntValue(e, e.name, e.text);
  if (n < 0) return fail('XmlBadValue', { what: e.name, value: e.text, expected: 'a non-negative size' }, e.span);
  return n * scale;
}

export function childSizeKiB(parent: XmlElement, name: string): number | undefined {
  const c = child(parent, name);
  return c ? sizeKiB(c) : undefined;
}

/** Memory sizes as QEMU words: "512M", "1G", bytes otherwise. Returns KiB. */
export function parseSizeWord(text: string, defaultUnit: 'M' | 'B' = 'M'): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([kKmMgGtT]?)[bB]?$/.exec(text.trim());
  if (!m) return undefined;
  const unit = (m[2] || defaultUnit).toUpperCase();
  const mult: Record<string, number> = { B: 1 / 1024, K: 1, M: 1024, G: 1024 ** 2, T: 1024 ** 3 };
  return Math.round(Number(m[1]) * mult[unit]!);
}
