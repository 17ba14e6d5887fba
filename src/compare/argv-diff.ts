// Semantic comparison of two QEMU command lines: the JSON and QemuOpts spellings of one option
// are equal, booleans on/yes/true are one value, and options compare as a multiset except
// where QEMU itself depends on their order. What differs is reported as missing, extra, or
// changed (same option and id, different properties).
import { parseCommandLine, type ParsedOption } from '../lexer/argv-parser.js';
import { flattenProps } from '../qemu/props.js';

/** Options whose relative order QEMU uses: serial/parallel ports are numbered in order,
 * legacy -net pairs by position, and unindexed -drive/-hdX/-usbdevice take the next slot. */
const ORDER_SENSITIVE = new Set(['-serial', '-parallel', '-net', '-drive', '-usbdevice', '-virtioconsole', '-monitor']);
/** Spellings QEMU treats as one option. */
const ALIASES: Record<string, string> = { '-M': '-machine' };
const TRUE = new Set(['on', 'yes', 'true']);
const FALSE = new Set(['off', 'no', 'false']);

export interface CanonOption {
  readonly name: string;
  /** key -> value, flattened and with booleans normalised; '' key for a plain value */
  readonly props: ReadonlyMap<string, string>;
  /** how to pair two differing options: name plus id/node-name/implied value */
  readonly identity: string;
  readonly text: string;
}

export interface Change {
  readonly identity: string;
  readonly removed: ReadonlyArray<readonly [string, string]>;
  readonly added: ReadonlyArray<readonly [string, string]>;
  readonly modified: ReadonlyArray<readonly [string, string, string]>;
}

export interface ArgvDiff {
  readonly equal: boolean;
  readonly emulator?: readonly [string, string];
  readonly env: { readonly missing: string[]; readonly extra: string[] };
  readonly missing: CanonOption[];
  readonly extra: CanonOption[];
  readonly changed: Change[];
  /** order-sensitive options present on both sides but in another order */
  readonly reordered: string[];
}

function scalar(v: string): string {
  const low = v.toLowerCase();
  return TRUE.has(low) ? 'on' : FALSE.has(low) ? 'off' : v;
}

export function canonOption(o: ParsedOption): CanonOption {
  const name = ALIASES[o.name] ?? (o.name || '<positional>');
  const entries: Array<[string, string]> = [];
  if (o.value.kind === 'raw') entries.push(['', o.value.text]);
  else if (o.value.kind === 'props') for (const [k, v] of flattenProps(o.value.props)) entries.push([k, scalar(v)]);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const props = new Map(entries);
  const implied = o.spec?.implied;
  const id = props.get('id') ?? props.get('node-name') ?? (implied ? props.get(implied) : undefined) ?? props.get('');
  const text = entries.map(([k, v]) => (k === '' ? v : `${k}=${v}`)).join(',');
  return { name, props, identity: id !== undefined ? `${name} ${id}` : name, text };
}

const key = (c: CanonOption): string => `${c.name}\0${c.text}`;

/** The options of `a` left over after taking out one equal option of `b` for each (a - b). */
function multisetMinus(a: readonly CanonOption[], b: readonly CanonOption[]): CanonOption[] {
  const count = new Map<string, number>();
  for (const c of b) count.set(key(c), (count.get(key(c)) ?? 0) + 1);
  return a.filter((c) => {
    const n = count.get(key(c)) ?? 0;
    if (n > 0) count.set(key(c), n - 1);
    return n === 0;
  });
}

export function diffArgv(a: string, b: string, fileA?: string, fileB?: string): ArgvDiff {
  const ca = parseCommandLine(a, fileA);
  const cb = parseCommandLine(b, fileB);
  const envA = new Set(ca.env.map((e) => `${e.name}=${e.value}`));
  const envB = new Set(cb.env.map((e) => `${e.name}=${e.value}`));
  const env = { missing: [...envA].filter((e) => !envB.has(e)), extra: [...envB].filter((e) => !envA.has(e)) };
  const oa = ca.options.map(canonOption);
  const ob = cb.options.map(canonOption);
  const missingAll = multisetMinus(oa, ob);
  const extraAll = multisetMinus(ob, oa);
  // pair missing/extra options with the same identity as changes
  const changed: Change[] = [];
  const extra = [...extraAll];
  const missing: CanonOption[] = [];
  for (const m of missingAll) {
    const i = extra.findIndex((e) => e.identity === m.identity);
    if (i < 0) {
      missing.push(m);
      continue;
    }
    const e = extra.splice(i, 1)[0]!;
    changed.push({
      identity: m.identity,
      removed: [...m.props].filter(([k]) => !e.props.has(k)),
      added: [...e.props].filter(([k]) => !m.props.has(k)),
      modified: [...m.props].filter(([k, v]) => e.props.has(k) && e.props.get(k) !== v).map(([k, v]) => [k, v, e.props.get(k)!] as const),
    });
  }
  const reordered: string[] = [];
  for (const name of ORDER_SENSITIVE) {
    const sa = oa.filter((c) => c.name === name).map(key);
    const sb = ob.filter((c) => c.name === name).map(key);
    if (sa.length === sb.length && sa.join('\n') !== sb.join('\n') && [...sa].sort().join('\n') === [...sb].sort().join('\n')) reordered.push(name);
  }
  const emulator = ca.emulator !== cb.emulator ? ([ca.emulator, cb.emulator] as const) : undefined;
  const equal = !emulator && !env.missing.length && !env.extra.length && !missing.length && !extra.length && !changed.length && !reordered.length;
  return { equal, ...(emulator ? { emulator } : {}), env, missing, extra, changed, reordered };
}

/** The report as text: '-' only in A, '+' only in B, '~' changed, one line each. */
export function formatArgvDiff(d: ArgvDiff): string {
  const lines: string[] = [];
  if (d.emulator) lines.push(`~ emulator: ${d.emulator[0]} -> ${d.emulator[1]}`);
  for (const e of d.env.missing) lines.push(`- env ${e}`);
  for (const e of d.env.extra) lines.push(`+ env ${e}`);
  for (const m of d.missing) lines.push(`- ${m.name}${m.text ? ` ${m.text}` : ''}`);
  for (const x of d.extra) lines.push(`+ ${x.name}${x.text ? ` ${x.text}` : ''}`);
  for (const c of d.changed) {
    const parts = [
      ...c.modified.map(([k, a, b]) => `${k || 'value'}: ${a} -> ${b}`),
      ...c.removed.map(([k, v]) => `-${k || 'value'}=${v}`),
      ...c.added.map(([k, v]) => `+${k || 'value'}=${v}`),
    ];
    lines.push(`~ ${c.identity}: ${parts.join('; ')}`);
  }
  for (const r of d.reordered) lines.push(`~ ${r}: same options in another order (QEMU numbers them by position)`);
  lines.push(d.equal ? 'equal' : `${d.missing.length + d.env.missing.length} missing, ${d.extra.length + d.env.extra.length} extra, ${d.changed.length + d.reordered.length + (d.emulator ? 1 : 0)} changed`);
  return lines.join('\n') + '\n';
}
