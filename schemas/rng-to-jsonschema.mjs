#!/usr/bin/env node
// Generates schemas/domain.schema.json (JSON Schema 2020-12 of domain XML in domxml's JSON mapping) from libvirt's RelaxNG.
//
// Usage: node schemas/rng-to-jsonschema.mjs [RNG_DIR]   (default ../shared/corpus/libvirt-9.0-schemas)
// The RelaxNG files are read at generation time only; the committed output is our own schema.
//
// The JSON mapping (src/validate/to-json.ts implements it):
//   element → object; attribute a → "@a" (string); child elements named n → "n": [object, …] in
//   document order; non-blank text → "#text" (as written). Names in a namespace use Clark notation
//   ("{uri}local" / "@{uri}local"); xmlns declarations are dropped.
// Patterns map as follows: attributes and elements constrain their keys (`required` when the
// pattern demands them); group/interleave → allOf; choice → anyOf whose branches also forbid the
// keys only their sibling branches use (RelaxNG picks exactly one); optional → anyOf[pattern, all
// its keys absent]; zeroOrMore/oneOrMore → every reachable key allowed any number of times (the
// co-occurrence constraints inside a repetition are not expressible per item, so they are
// dropped); every element object ends with `unevaluatedProperties: false`. XSD datatypes become
// `pattern`s (integer ranges as digit regexes), so the schema needs no custom keywords.
// schemas/domain.hints.json lists, per "parent>element", the attributes (with their enum values),
// children and text an element may have in any branch: the diagnostics use it for "allowed: …" and
// "did you mean". schemas/domain.validate.cjs is the schema compiled ahead of time by ajv
// (standalone code), so validation starts without compiling 0.5 MB of schema.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { XMLParser } from 'fast-xml-parser';

const HERE = dirname(fileURLToPath(import.meta.url));
const RNG_DIR = process.argv[2] ?? join(HERE, '..', '..', 'shared', 'corpus', 'libvirt-9.0-schemas');
const OUT = join(HERE, 'domain.schema.json');
const HINTS = join(HERE, 'domain.hints.json');
const CODE = join(HERE, 'domain.validate.cjs');

// ---------------------------------------------------------------------------------------------
// Reading RelaxNG (XML syntax) into a small pattern AST

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: true,
  commentPropName: '#comment',
});

function nodes(list) {
  const out = [];
  for (const n of list) {
    const name = Object.keys(n).find((k) => k !== ':@');
    if (!name || name === '#comment' || name.startsWith('?')) continue;
    if (name === '#text') {
      out.push({ name: '#text', text: String(n['#text']) });
      continue;
    }
    out.push({ name: name.replace(/^.*:/, ''), attrs: n[':@'] ?? {}, kids: nodes(n[name] ?? []) });
  }
  return out;
}
const elems = (n) => n.kids.filter((k) => k.name !== '#text');
const textOf = (n) => n.kids.filter((k) => k.name === '#text').map((k) => k.text).join('');

const defines = new Map(); // name → pattern
let startPattern;

function loadGrammar(file, seen = new Set()) {
  if (seen.has(file)) return;
  seen.add(file);
  const root = nodes(parser.parse(readFileSync(file, 'utf8'))).find((n) => n.name === 'grammar');
  const local = new Map();
  for (const n of elems(root)) {
    if (n.name === 'include') loadGrammar(join(dirname(file), n.attrs.href), seen);
  }
  for (const n of elems(root)) {
    if (n.name === 'start') startPattern = group(elems(n).map((k) => pattern(k, '')));
    if (n.name !== 'define') continue;
    const body = group(elems(n).map((k) => pattern(k, '')));
    const name = n.attrs.name;
    if (n.attrs.combine === 'choice' && (defines.has(name) || local.has(name))) {
      const prev = local.get(name) ?? defines.get(name);
      local.set(name, { t: 'choice', items: [prev, body] });
    } else if (n.attrs.combine === 'interleave' && (defines.has(name) || local.has(name))) {
      const prev = local.get(name) ?? defines.get(name);
      local.set(name, { t: 'group', items: [prev, body] });
    } else local.set(name, body);
  }
  for (const [k, v] of local) defines.set(k, v);
}

function group(items) {
  return items.length === 1 ? items[0] : { t: 'group', items };
}

function pattern(n, ns) {
  const inner = (x = ns) => group(elems(n).filter((k) => k.name !== 'anyName' && k.name !== 'name').map((k) => pattern(k, x)));
  switch (n.name) {
    case 'element': {
      const eNs = n.attrs.ns ?? ns;
      const any = elems(n).some((k) => k.name === 'anyName');
      const content = elems(n).filter((k) => k.name !== 'anyName').length ? inner(eNs) : { t: 'empty' };
      return { t: 'element', name: any ? null : clark(eNs, n.attrs.name), content };
    }
    case 'attribute': {
      const any = elems(n).some((k) => k.name === 'anyName');
      const rest = elems(n).filter((k) => k.name !== 'anyName');
      return { t: 'attribute', name: any ? null : '@' + clark(n.attrs.ns ?? '', n.attrs.name), value: rest.length ? inner('') : { t: 'text' } };
    }
    case 'group':
    case 'interleave':
      return { t: 'group', items: elems(n).map((k) => pattern(k, ns)) };
    case 'choice':
      return { t: 'choice', items: elems(n).map((k) => pattern(k, ns)) };
    case 'optional':
    case 'zeroOrMore':
    case 'oneOrMore':
      return { t: n.name, p: inner() };
    case 'ref':
      return { t: 'ref', name: n.attrs.name };
    case 'empty':
    case 'text':
    case 'notAllowed':
      return { t: n.name };
    case 'value':
      return { t: 'value', v: textOf(n), type: n.attrs.type ?? 'token' };
    case 'data': {
      const params = {};
      let except;
      for (const k of elems(n)) {
        if (k.name === 'param') params[k.attrs.name] = textOf(k);
        if (k.name === 'except') except = group(elems(k).map((x) => pattern(x, ns)));
      }
      return { t: 'data', type: n.attrs.type, params, except };
    }
    default:
      throw new Error(`unsupported RelaxNG pattern <${n.name}>`);
  }
}

function clark(ns, local) {
  return ns ? `{${ns}}${local}` : local;
}

// ---------------------------------------------------------------------------------------------
// XSD datatypes as regexes

/** A regex (no anchors) for the decimal integers in [lo, hi]; either bound may be null (open). */
function intRange(lo, hi) {
  const alts = [];
  if (lo === null || lo < 0n) {
    // negatives: -(max(0,-hi) .. -lo)
    const nlo = hi !== null && hi < 0n ? -hi : 1n;
    const nhi = lo === null ? null : -lo;
    if (nhi === null || nhi >= nlo) alts.push(`-0*(?:${natRange(nlo, nhi)})`);
  }
  if (hi === null || hi >= 0n) {
    const plo = lo !== null && lo > 0n ? lo : 0n;
    alts.push(`\\+?0*(?:${natRange(plo, hi)})`);
  }
  if ((lo === null || lo <= 0n) && (hi === null || hi >= 0n)) alts.push('-0+');
  return `(?:${alts.join('|')})`;
}

/** Non-negative integers lo..hi (hi null = unbounded), written without leading zeros. */
function natRange(lo, hi) {
  const parts = [];
  const loLen = String(lo).length;
  const maxLen = hi === null ? loLen : String(hi).length;
  for (let len = loLen; len <= maxLen; len++) {
    const a = len === loLen ? lo : 10n ** BigInt(len - 1);
    const b = hi !== null && len === maxLen ? hi : 10n ** BigInt(len) - 1n;
    if (a <= b) parts.push(...sameLength(String(a), String(b)));
  }
  if (hi === null) parts.push(`[1-9]\\d{${maxLen},}`);
  return parts.join('|');
}

function sameLength(a, b) {
  if (a === b) return [a];
  if (a.length === 1) return [`[${a}-${b}]`];
  if (a[0] === b[0]) return sameLength(a.slice(1), b.slice(1)).map((r) => a[0] + r);
  const n = a.length - 1;
  const out = [];
  const allZero = /^0+$/.test(a.slice(1));
  const allNine = /^9+$/.test(b.slice(1));
  let first = Number(a[0]);
  let last = Number(b[0]);
  if (!allZero) {
    out.push(...sameLength(a.slice(1), '9'.repeat(n)).map((r) => a[0] + r));
    first++;
  }
  if (!allNine) last--;
  if (first <= last) out.push(`${first === last ? first : `[${first}-${last}]`}\\d{${n}}`);
  if (!allNine) out.push(...sameLength('0'.repeat(n), b.slice(1)).map((r) => b[0] + r));
  return out;
}

const XSD_INT = {
  int: [-(2n ** 31n), 2n ** 31n - 1n],
  long: [-(2n ** 63n), 2n ** 63n - 1n],
  short: [-32768n, 32767n],
  unsignedInt: [0n, 2n ** 32n - 1n],
  unsignedLong: [0n, 2n ** 64n - 1n],
  unsignedShort: [0n, 65535n],
  positiveInteger: [1n, null],
  nonNegativeInteger: [0n, null],
  integer: [null, null],
};

/** XSD regex → JS (u-mode) regex source: XSD patterns are implicitly anchored. */
function xsdRegex(src) {
  // In u-mode JS only syntax characters may be escaped; XSD allows \- anywhere.
  const js = src.replace(/\\-/g, '\\x2d');
  return `^(?:${js})$`;
}

function dataSchema(p) {
  const s = {};
  const { minInclusive, maxInclusive, pattern: pat, maxLength } = p.params;
  if (p.type in XSD_INT) {
    let [lo, hi] = XSD_INT[p.type];
    if (minInclusive !== undefined && (lo === null || BigInt(minInclusive) > lo)) lo = BigInt(minInclusive);
    if (maxInclusive !== undefined && (hi === null || BigInt(maxInclusive) < hi)) hi = BigInt(maxInclusive);
    // NB: XSD integer types collapse whitespace before checking the lexical form, but libxml2
    // matches a pattern facet against the value as written
    const blank = pat === undefined ? '\\s*' : '';
    s.pattern = `^${blank}${intRange(lo, hi)}${blank}$`;
    s.description = `${valueLabel ? `${valueLabel}: ` : ''}an integer${lo === null ? '' : ` from ${lo}`}${hi === null ? '' : ` to ${hi}`}`;
    if (pat !== undefined) s.allOf = [{ pattern: xsdRegex(pat), description: s.description }];
  } else if (p.type === 'dateTime') {
    s.pattern = '^\\s*-?\\d{4,}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?(?:Z|[+-]\\d{2}:\\d{2})?\\s*$';
  } else if (p.type === 'NCName') {
    s.pattern = '^\\s*[A-Za-z_][A-Za-z0-9_.\\-]*\\s*$';
  } else if (p.type === 'string' || p.type === 'token') {
    if (pat !== undefined) s.pattern = xsdRegex(pat);
  } else throw new Error(`unsupported datatype ${p.type}`);
  if (maxLength !== undefined) s.maxLength = Number(maxLength);
  if (!s.description && valueLabel) s.description = valueLabel;
  if (p.except) s.not = valueSchema(p.except);
  return { type: 'string', ...s };
}

// ---------------------------------------------------------------------------------------------
// Compiling patterns to JSON Schema

const defs = {};
const elementIds = new Map(); // element pattern → $defs key
let elementCount = 0;

function resolve(p, seen = new Set()) {
  while (p.t === 'ref') {
    if (seen.has(p.name)) return { t: 'notAllowed' };
    seen.add(p.name);
    const d = defines.get(p.name);
    if (!d) throw new Error(`undefined reference ${p.name}`);
    p = d;
  }
  return p;
}

/** The keys a content pattern may produce at its own object level: @attrs, child element keys, #text, '*' wildcards. */
const keyMemo = new Map();
function keys(p, stack = new Set()) {
  if (keyMemo.has(p)) return keyMemo.get(p);
  const out = new Set();
  const add = (q) => {
    for (const k of keys(q, stack)) out.add(k);
  };
  switch (p.t) {
    case 'element':
      out.add(p.name ?? '*element');
      break;
    case 'attribute':
      out.add(p.name ?? '*attribute');
      break;
    case 'text':
    case 'value':
    case 'data':
      out.add('#text');
      break;
    case 'group':
    case 'choice':
      p.items.forEach(add);
      break;
    case 'optional':
    case 'zeroOrMore':
    case 'oneOrMore':
      add(p.p);
      break;
    case 'ref':
      if (stack.has(p.name)) break;
      stack.add(p.name);
      add(defines.get(p.name));
      stack.delete(p.name);
      break;
    default:
  }
  keyMemo.set(p, out);
  return out;
}

const WILD_ELEMENT = '^(?![@#])';
const WILD_ATTRIBUTE = '^@';

function absent(ks) {
  const list = [...ks].filter((k) => !k.startsWith('*'));
  const out = [];
  if (list.length) out.push({ not: { anyOf: list.map((k) => ({ required: [k] })) } });
  return out;
}

/** A choice of values and datatypes (UUID, a unit): compiled once as a value schema that names it. */
function isValuePattern(p, stack = new Set()) {
  if (p.t === 'ref') {
    if (stack.has(p.name)) return false;
    return isValuePattern(defines.get(p.name), new Set([...stack, p.name]));
  }
  if (p.t === 'data') return true;
  if (p.t === 'choice') return p.items.every((q) => isValuePattern(q, stack));
  return false;
}

/** Does the value pattern accept the empty string? (An element with no text then needs no "#text".) */
function acceptsEmpty(p) {
  p = resolve(p);
  switch (p.t) {
    case 'text':
    case 'empty':
      return true;
    case 'value':
      return p.v.trim() === '';
    case 'data': {
      const s = dataSchema(p);
      return !s.pattern || new RegExp(s.pattern, 'u').test('');
    }
    case 'choice':
      return p.items.some(acceptsEmpty);
    case 'group':
      return p.items.every(acceptsEmpty);
    case 'optional':
    case 'zeroOrMore':
      return true;
    default:
      return false;
  }
}

/** Schema of a string (attribute value or element text) for a value pattern. */
function valueSchema(p) {
  switch (p.t) {
    case 'ref':
      return { $ref: defRef('v', p.name) };
    case 'text':
    case 'empty':
      return { type: 'string' };
    case 'value':
      // NB: the built-in token type compares whitespace-collapsed values; libvirt XML writes its
      // enumerated values without surrounding blanks, so the value itself will do
      return { const: p.v.trim().replace(/\s+/g, ' ') };
    case 'data':
      return dataSchema(p);
    case 'choice': {
      const items = p.items.map(valueSchema);
      return mergeEnums(items);
    }
    case 'group':
      return { allOf: p.items.map(valueSchema) };
    case 'optional':
      return { anyOf: [{ const: '' }, valueSchema(p.p)] };
    case 'notAllowed':
      return false;
    default:
      throw new Error(`unsupported value pattern ${p.t}`);
  }
}

/** Plain values (no whitespace in them) become one enum; XML attribute values are compared as given. */
function mergeEnums(items) {
  const plain = [];
  const rest = [];
  for (const s of items) {
    const v = plainValue(s);
    if (Array.isArray(v)) plain.push(...v);
    else if (v !== undefined) plain.push(v);
    else rest.push(s);
  }
  const out = [...rest];
  if (plain.length) out.unshift({ enum: [...new Set(plain)] });
  return out.length === 1 ? out[0] : { anyOf: out };
}

function plainValue(s) {
  if (s && typeof s === 'object' && 'const' in s && Object.keys(s).length === 1) return s.const;
  if (s && typeof s === 'object' && Array.isArray(s.enum) && Object.keys(s).length === 1) return s.enum;
  return undefined;
}

/** The define a value pattern is being compiled for: it names the format in diagnostics ("UUID"). */
let valueLabel;

function defRef(kind, name) {
  const id = `${kind}:${name}`;
  if (!(id in defs)) {
    defs[id] = true; // placeholder against recursion
    const body = defines.get(name);
    if (!body) throw new Error(`undefined reference ${name}`);
    const outer = valueLabel;
    valueLabel = kind === 'v' ? name : undefined;
    defs[id] = kind === 'v' ? valueSchema(body) : contentSchema(body);
    valueLabel = outer;
  }
  return `#/$defs/${id}`;
}

function elementRef(p) {
  let id = elementIds.get(p);
  if (!id) {
    id = `element:${(p.name ?? '*').replace(/^\{.*\}/, '')}:${++elementCount}`;
    elementIds.set(p, id);
    defs[id] = true;
    defs[id] = elementSchema(p);
  }
  return { $ref: `#/$defs/${id}` };
}

function elementSchema(p) {
  const body = contentSchema(p.content);
  const info = elementInfo(p);
  for (const [name, list] of info.children) for (const c of list) mergeHint(`${p.name ?? '*'}>${name}`, elementInfo(c));
  return { type: 'object', ...flatten(body), unevaluatedProperties: false };
}

/** Names and values an element's content allows (across all its branches), for diagnostics. */
function elementInfo(p) {
  const info = { attributes: new Map(), children: new Map(), repeat: new Set(), text: undefined, anyElement: false, anyAttribute: false };
  const value = (q, into, stack) => {
    q = resolve(q);
    if (q.t === 'value') into.values.add(q.v.trim());
    else if (q.t === 'choice' || q.t === 'group') q.items.forEach((x) => value(x, into, stack));
    else if (q.t === 'optional') value(q.p, into, stack);
    else if (q.t !== 'notAllowed' && q.t !== 'empty') into.open = true;
  };
  const walk = (q, stack, repeated = false) => {
    switch (q.t) {
      case 'element':
        if (!q.name) info.anyElement = true;
        else {
          info.children.set(q.name, [...(info.children.get(q.name) ?? []), q]);
          if (repeated) info.repeat.add(q.name);
        }
        break;
      case 'attribute':
        if (!q.name) info.anyAttribute = true;
        else {
          if (!info.attributes.has(q.name)) info.attributes.set(q.name, { values: new Set(), open: false });
          value(q.value, info.attributes.get(q.name), stack);
        }
        break;
      case 'value':
      case 'data':
      case 'text':
        info.text ??= { values: new Set(), open: false };
        value(q, info.text, stack);
        break;
      case 'group':
      case 'choice':
        q.items.forEach((x) => walk(x, stack, repeated));
        break;
      case 'optional':
        walk(q.p, stack, repeated);
        break;
      case 'zeroOrMore':
      case 'oneOrMore':
        walk(q.p, stack, true);
        break;
      case 'ref': {
        if (stack.has(q.name)) break;
        const d = defines.get(q.name);
        walk(d, new Set([...stack, q.name]), repeated);
        break;
      }
      default:
    }
  };
  walk(p.content, new Set());
  return info;
}

const hints = {};
function mergeHint(key, info) {
  const h = (hints[key] ??= { attributes: {}, children: [] });
  for (const [name, v] of info.attributes) {
    const a = (h.attributes[name.slice(1)] ??= { values: [] });
    a.values = [...new Set([...a.values, ...v.values])].sort();
    if (v.open) a.open = true;
  }
  h.children = [...new Set([...h.children, ...info.children.keys()])].sort();
  // children some variant allows more than once: a count complaint about them may be another variant's
  const repeat = [...new Set([...(h.repeat ?? []), ...info.repeat])].sort();
  if (repeat.length) h.repeat = repeat;
  if (info.anyElement) h.anyElement = true;
  if (info.anyAttribute) h.anyAttribute = true;
  if (info.text) {
    const t = (h.text ??= { values: [] });
    t.values = [...new Set([...t.values, ...info.text.values])].sort();
    if (info.text.open) t.open = true;
  }
}

function arrayOf(items, min, max) {
  return { type: 'array', items, ...(min ? { minItems: min } : {}), ...(max !== undefined ? { maxItems: max } : {}) };
}

/** Schema over the element object for a content pattern. */
function contentSchema(p) {
  switch (p.t) {
    case 'empty':
      return {};
    case 'notAllowed':
      return false;
    case 'text':
      return { properties: { '#text': { type: 'string' } } };
    case 'value':
      // NB: element text is kept as written, and a token value matches with blanks around it
      return {
        properties: { '#text': { type: 'string', pattern: `^\\s*${p.v.trim().replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+')}\\s*$` } },
        ...(acceptsEmpty(p) ? {} : { required: ['#text'] }),
      };
    case 'data': {
      const v = valueSchema(p);
      return { properties: { '#text': v }, ...(acceptsEmpty(p) ? {} : { required: ['#text'] }) };
    }
    case 'attribute':
      if (!p.name) return { patternProperties: { [WILD_ATTRIBUTE]: { type: 'string' } } };
      return { required: [p.name], properties: { [p.name]: valueSchema(p.value) } };
    case 'element':
      if (!p.name) return { patternProperties: { [WILD_ELEMENT]: arrayOf(elementRef(p), 1) } };
      return { required: [p.name], properties: { [p.name]: arrayOf(elementRef(p), 1, 1) } };
    case 'ref': {
      const d = resolve(p);
      // value-only defines used as element content
      if (d.t === 'value') return contentSchema(d);
      if (isValuePattern(d)) return { properties: { '#text': { $ref: defRef('v', p.name) } }, ...(acceptsEmpty(d) ? {} : { required: ['#text'] }) };
      return { $ref: defRef('c', p.name) };
    }
    case 'group':
      return allOf(countRepeats(p.items).map((q) => (q.t === 'counted' ? countedSchema(q) : contentSchema(q))));
    case 'choice': {
      const all = keys(p);
      const tags = p.items.map((q) => requiredValues(q));
      const counts = new Map();
      for (const t of tags) for (const k of t.keys()) counts.set(k, (counts.get(k) ?? 0) + 1);
      const [discriminator] = [...counts].filter(([, n]) => n > 1).sort((a, b) => b[1] - a[1])[0] ?? [];
      const branches = p.items.map((q, i) => {
        const mine = keys(q);
        const others = new Set([...all].filter((k) => !mine.has(k)));
        const body = allOf([contentSchema(q), ...absent(others)]);
        const values = discriminator && tags[i].get(discriminator);
        // NB: a branch selected by a required attribute value (<disk type='file'>) is only
        // checked when that value is present, so the other variants add no complaints
        if (!values || body === false) return body;
        return { if: { required: [discriminator], properties: { [discriminator]: { enum: [...values] } } }, then: body, else: false };
      });
      return branches.length === 1 ? branches[0] : { anyOf: branches };
    }
    case 'optional': {
      const q = resolve(p.p);
      if (q.t === 'attribute' && q.name) return { properties: { [q.name]: valueSchema(q.value) } };
      if (q.t === 'element' && q.name) return { properties: { [q.name]: arrayOf(elementRef(q), 0, 1) } };
      if (q.t === 'text') return contentSchema(q);
      const ks = keys(p.p);
      if (ks.size === 0) return {};
      return { anyOf: [contentSchema(p.p), ...absent(ks)] };
    }
    case 'zeroOrMore':
    case 'oneOrMore':
      return repeated(p.p, p.t === 'oneOrMore');
    default:
      throw new Error(`unsupported content pattern ${p.t}`);
  }
}

/**
 * A group that names the same element several times (<smartcard> lists three <certificate>s)
 * becomes one count: that many required, optional ones raise the maximum.
 */
function countRepeats(items) {
  const single = (q) => {
    const r = resolve(q);
    if (r.t === 'element' && r.name) return { el: r, required: true };
    if (r.t === 'optional') {
      const o = resolve(r.p);
      if (o.t === 'element' && o.name) return { el: o, required: false };
    }
    return undefined;
  };
  const byName = new Map();
  for (const q of items) {
    const s = single(q);
    if (s) byName.set(s.el.name, [...(byName.get(s.el.name) ?? []), s]);
  }
  const out = [];
  const done = new Set();
  for (const q of items) {
    const s = single(q);
    const list = s && byName.get(s.el.name);
    if (!list || list.length < 2) out.push(q);
    else if (!done.has(s.el.name)) {
      done.add(s.el.name);
      out.push({ t: 'counted', name: s.el.name, els: [...new Set(list.map((x) => x.el))], min: list.filter((x) => x.required).length, max: list.length });
    }
  }
  return out;
}

function countedSchema(q) {
  const refs = q.els.map(elementRef);
  const items = refs.length === 1 ? refs[0] : { anyOf: refs };
  return { ...(q.min ? { required: [q.name] } : {}), properties: { [q.name]: arrayOf(items, q.min, q.max) } };
}

function repeated(p, atLeastOne) {
  const elementsByKey = new Map();
  const attrs = new Map();
  const texts = [];
  const wild = [];
  const walk = (q, stack) => {
    switch (q.t) {
      case 'element':
        if (!q.name) wild.push(q);
        else {
          if (!elementsByKey.has(q.name)) elementsByKey.set(q.name, []);
          elementsByKey.get(q.name).push(q);
        }
        break;
      case 'attribute':
        if (!q.name) wild.push(q);
        else {
          if (!attrs.has(q.name)) attrs.set(q.name, []);
          attrs.get(q.name).push(q.value);
        }
        break;
      case 'text':
      case 'value':
      case 'data':
        texts.push(q);
        break;
      case 'group':
      case 'choice':
        q.items.forEach((x) => walk(x, stack));
        break;
      case 'optional':
      case 'zeroOrMore':
      case 'oneOrMore':
        walk(q.p, stack);
        break;
      case 'ref':
        if (stack.has(q.name)) break;
        walk(defines.get(q.name), new Set([...stack, q.name]));
        break;
      default:
    }
  };
  walk(p, new Set());
  const properties = {};
  for (const [k, list] of elementsByKey) {
    const items = list.map(elementRef);
    properties[k] = arrayOf(items.length === 1 ? items[0] : { anyOf: items }, 0);
  }
  for (const [k, list] of attrs) properties[k] = list.length === 1 ? valueSchema(list[0]) : { anyOf: list.map(valueSchema) };
  if (texts.length) properties['#text'] = { type: 'string' };
  const patternProperties = {};
  for (const w of wild) {
    if (w.t === 'element') patternProperties[WILD_ELEMENT] = arrayOf(elementRef(w), 0);
    else patternProperties[WILD_ATTRIBUTE] = { type: 'string' };
  }
  const s = {};
  if (Object.keys(properties).length) s.properties = properties;
  if (Object.keys(patternProperties).length) s.patternProperties = patternProperties;
  if (atLeastOne && elementsByKey.size && !wild.length) {
    const ks = [...elementsByKey.keys()];
    s.anyOf = [{ anyOf: ks.map((k) => ({ required: [k], properties: { [k]: { minItems: 1 } } })) }];
  }
  return s;
}

/** Attributes a pattern requires at its own level with a finite set of values: the branch's tag. */
function requiredValues(p, stack = new Set()) {
  const out = new Map();
  const merge = (m) => {
    for (const [k, v] of m) out.set(k, v);
  };
  switch (p.t) {
    case 'attribute': {
      if (!p.name) break;
      const vals = new Set();
      if (finiteValues(p.value, vals)) out.set(p.name, vals);
      break;
    }
    case 'group':
      p.items.forEach((q) => merge(requiredValues(q, stack)));
      break;
    case 'oneOrMore':
      merge(requiredValues(p.p, stack));
      break;
    case 'choice': {
      // a key every branch requires, with the union of their values
      const maps = p.items.map((q) => requiredValues(q, stack));
      for (const [k, v] of maps[0] ?? []) {
        if (maps.every((m) => m.has(k))) out.set(k, new Set(maps.flatMap((m) => [...m.get(k)])));
        else void v;
      }
      break;
    }
    case 'ref':
      if (stack.has(p.name)) break;
      merge(requiredValues(defines.get(p.name), new Set([...stack, p.name])));
      break;
    default:
  }
  return out;
}

function finiteValues(p, into) {
  p = resolve(p);
  if (p.t === 'value') {
    into.add(p.v.trim());
    return true;
  }
  if (p.t === 'choice') return p.items.every((q) => finiteValues(q, into));
  return false;
}

/** allOf with trivial members dropped and simple members merged. */
function allOf(list) {
  const parts = [];
  for (const s of list) {
    if (s === false) return false;
    if (s === true || (typeof s === 'object' && Object.keys(s).length === 0)) continue;
    if (s.allOf && Object.keys(s).length === 1) parts.push(...s.allOf);
    else parts.push(s);
  }
  const merged = {};
  const rest = [];
  for (const s of parts) {
    const simple = Object.keys(s).every((k) => k === 'properties' || k === 'required');
    const clash = s.properties && merged.properties && Object.keys(s.properties).some((k) => k in merged.properties);
    if (simple && !clash) {
      if (s.properties) merged.properties = { ...merged.properties, ...s.properties };
      if (s.required) merged.required = [...(merged.required ?? []), ...s.required];
    } else rest.push(s);
  }
  const out = [];
  if (Object.keys(merged).length) out.push(merged);
  out.push(...rest);
  if (out.length === 0) return {};
  if (out.length === 1) return out[0];
  return { allOf: out };
}

function flatten(s) {
  if (s === false) return { not: {} };
  return s;
}

// ---------------------------------------------------------------------------------------------

loadGrammar(join(RNG_DIR, 'domain.rng'));
const root = resolve(startPattern);
if (root.t !== 'element' || root.name !== 'domain') throw new Error('domain.rng does not start with <domain>');
const rootRef = elementRef(root);
mergeHint('>domain', elementInfo(root));
const schema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://domxml.invalid/schemas/domain.schema.json',
  title: 'libvirt 9.0 domain XML (domxml JSON mapping)',
  description:
    'Generated by schemas/rng-to-jsonschema.mjs from libvirt 9.0 domain.rng. Object = element; "@name" = attribute; "name": [..] = child elements in document order; "#text" = non-blank text as written; namespaced names in Clark notation {uri}local.',
  type: 'object',
  properties: { domain: arrayOf(rootRef, 1, 1) },
  required: ['domain'],
  additionalProperties: false,
  $defs: defs,
};
writeFileSync(OUT, JSON.stringify(schema, null, 1) + '\n');
writeFileSync(HINTS, JSON.stringify(Object.fromEntries(Object.entries(hints).sort(([a], [b]) => (a < b ? -1 : 1)))) + '\n');
// NB: allErrors, so a failed document reports every branch's complaint for the diagnostics to choose from
const ajv = new Ajv2020.default({ strict: false, allErrors: true, verbose: true, code: { source: true, lines: false } });
writeFileSync(CODE, `// Generated by schemas/rng-to-jsonschema.mjs: ajv standalone validator of domain.schema.json.\n${standaloneCode.default(ajv, ajv.compile(schema))}\n`);
process.stderr.write(`wrote ${OUT}: ${elementCount} element schemas, ${Object.keys(defs).length} definitions\n`);
