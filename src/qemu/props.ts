// Option values as data: QemuOpts/keyval strings and JSON objects, parsed and printed in one place.
//
// QEMU's keyval grammar (util/keyval.c, util/qemu-option.c):
//   value   := pair ( ',' pair )*
//   pair    := key '=' text | text            (a bare first word is the option's implied key)
//   text    := ( any char but ',' | ',,' )*   (',,' stands for a literal comma)
// Keys are dotted for nesting ("in.voices=2"). JSON values ('{"driver":…}') carry real types.
// Both forms become one ordered `Props` record, so a family reader never cares which form it got.

export type PropValue = string | number | boolean | null | readonly PropValue[] | Props;
export interface Props {
  readonly [key: string]: PropValue;
}

export type OptValue =
  | { readonly kind: 'none' }
  | { readonly kind: 'raw'; readonly text: string }
  | { readonly kind: 'props'; readonly form: 'keyval' | 'json'; readonly props: Props; readonly implied?: string };

/** Splits a QemuOpts string at single commas, turning ',,' into ','. */
export function splitQemuOpts(text: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === ',') {
      if (text[i + 1] === ',') {
        cur += ',';
        i++;
        continue;
      }
      parts.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  parts.push(cur);
  return parts;
}

/** Doubles commas so that a value can sit inside a QemuOpts string. */
export function escapeQemuOpts(value: string): string {
  return value.replace(/,/g, ',,');
}

/**
 * Parses `a=b,c=d`. A first part without '=' is the value of `implied` when the option has one;
 * other parts without '=' are boolean flags ("server" means server=on), as QemuOpts reads them.
 */
export function parseKeyval(text: string, implied?: string): Props {
  const out: Record<string, PropValue> = {};
  const parts = splitQemuOpts(text);
  parts.forEach((part, i) => {
    if (part === '' && i === parts.length - 1 && i > 0) return; // trailing comma
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (i === 0 && implied) out[implied] = part;
      else if (part.startsWith('no') && part.length > 2) out[part.slice(2)] = 'off';
      else out[part] = 'on';
    } else {
      out[part.slice(0, eq)] = part.slice(eq + 1);
    }
  });
  return out;
}

/**
 * Prints props as a QemuOpts string; the implied key's value goes first without its name, unless
 * it holds a '=' (QEMU would then read the first part as key=value, so the key is spelled out).
 */
export function printKeyval(props: Props, implied?: string): string {
  const parts: string[] = [];
  const bare = implied !== undefined && props[implied] !== undefined && !scalarText(props[implied]).includes('=');
  if (bare) parts.push(escapeQemuOpts(scalarText(props[implied])));
  for (const [k, v] of flattenProps(props)) {
    if (bare && k === implied) continue;
    parts.push(`${k}=${escapeQemuOpts(v)}`);
  }
  return parts.join(',');
}

/** Flattens nested props to dotted keys with QemuOpts spellings of scalars (on/off for booleans). */
export function flattenProps(props: Props, prefix = ''): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined) continue;
    const key = prefix + k;
    if (v !== null && typeof v === 'object') {
      if (Array.isArray(v)) {
        (v as readonly PropValue[]).forEach((item, i) => {
          if (item !== null && typeof item === 'object') out.push(...flattenProps(item as Props, `${key}.${i}.`));
          else out.push([`${key}.${i}`, scalarText(item)]);
        });
      } else {
        out.push(...flattenProps(v as Props, `${key}.`));
      }
    } else {
      out.push([key, scalarText(v)]);
    }
  }
  return out;
}

export function scalarText(v: PropValue): string {
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  if (v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** JSON as libvirt prints it: compact, keys in insertion order, undefined members left out. */
export function printJson(props: Props): string {
  return JSON.stringify(props);
}

// --- typed access, the same for keyval strings and JSON values ---------------------------------

export function propStr(p: Props, key: string): string | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export function propBool(p: Props, key: string): boolean | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  const s = String(v).toLowerCase();
  if (s === 'on' || s === 'yes' || s === 'true' || s === '1') return true;
  if (s === 'off' || s === 'no' || s === 'false' || s === '0') return false;
  return undefined;
}

export function propNum(p: Props, key: string): number | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return v;
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

export function propObj(p: Props, key: string): Props | undefined {
  const v = p[key];
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Props;
  // keyval form: gather "key.sub=…" into an object
  const prefix = key + '.';
  const out: Record<string, PropValue> = {};
  let any = false;
  for (const [k, val] of Object.entries(p)) {
    if (k.startsWith(prefix)) {
      out[k.slice(prefix.length)] = val;
      any = true;
    }
  }
  return any ? out : undefined;
}

/** Builds a Props record, dropping undefined members so that printing never shows them. */
export function props(entries: Record<string, PropValue | undefined>): Props {
  const out: Record<string, PropValue> = {};
  for (const [k, v] of Object.entries(entries)) if (v !== undefined) out[k] = v;
  return out;
}
