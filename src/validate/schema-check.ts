// Checks a domain's JSON mapping against schemas/domain.schema.json and explains the failures as located diagnostics.
//
// The verdict is ajv's (the schema compiled ahead of time in schemas/domain.validate.cjs). The
// explanation has two passes: the hints (schemas/domain.hints.json: every name and enum value an
// element may have under its parent, in any variant) find misspelled or misplaced names and
// impossible enum values precisely; when the hints see nothing wrong, ajv's errors are sorted,
// with the complaints of variants the document clearly did not choose set aside.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { didYouMean, listOf, type ValidationDiagnostic } from './diagnostic.js';
import { displayName, locate, pointerTokens, type JsonDocument, type JsonElement } from './to-json.js';
import type { XmlElement } from '../xml/tree.js';

interface ValueHint {
  readonly values: readonly string[];
  /** Free text (a datatype or pattern) is allowed besides the values. */
  readonly open?: boolean;
}

interface Hint {
  readonly attributes: Readonly<Record<string, ValueHint>>;
  readonly children: readonly string[];
  readonly text?: ValueHint;
  readonly anyElement?: boolean;
  readonly anyAttribute?: boolean;
  /** Children some variant allows more than once. */
  readonly repeat?: readonly string[];
}

interface AjvError {
  readonly instancePath: string;
  readonly keyword: string;
  readonly params: Record<string, unknown>;
  readonly parentSchema?: Record<string, unknown>;
  readonly schema?: unknown;
  readonly data?: unknown;
}

type Validator = ((data: unknown) => boolean) & { errors?: AjvError[] | null };

const SCHEMAS = new URL('../../schemas/', import.meta.url);
let validator: Validator | undefined;
let hints: Readonly<Record<string, Hint>> | undefined;
let parentsOf: Map<string, string[]> | undefined;

/**
 * bin/domxml's loader, which compiles a CommonJS file with a V8 code cache (FILE, CACHE) when the
 * CLI runs from the bundle: the generated validator is 4 MB of code, compiling it dominates a cold
 * `domxml validate`. Elsewhere (tests, the library) a plain require.
 */
type CachedRequire = (file: string, cacheFile: string) => unknown;
const cachedRequire = (globalThis as Record<symbol, unknown>)[Symbol.for('domxml.requireCached')] as CachedRequire | undefined;

function schemaValidator(): Validator {
  const file = new URL('domain.validate.cjs', SCHEMAS).pathname;
  // NB: the cache sits next to the bundle (dist/bundle/), a build output, not in schemas/
  validator ??= (cachedRequire ? cachedRequire(file, new URL('domain.validate.cjs.cache', import.meta.url).pathname) : createRequire(import.meta.url)(file)) as Validator;
  return validator;
}

function hintTable(): Readonly<Record<string, Hint>> {
  if (!hints) {
    hints = JSON.parse(readFileSync(new URL('domain.hints.json', SCHEMAS), 'utf8')) as Record<string, Hint>;
    parentsOf = new Map();
    for (const key of Object.keys(hints)) {
      const [parent, name] = key.split('>') as [string, string];
      parentsOf.set(name, [...(parentsOf.get(name) ?? []), parent]);
    }
  }
  return hints;
}

/** Where a diagnostic points: the element's start tag, or the attribute's name inside it. */
export type Locator = (element: XmlElement | undefined, attribute?: string) => { line?: number; column?: number; file?: string };

export function schemaCheck(doc: JsonDocument, at: Locator): { valid: boolean; diagnostics: ValidationDiagnostic[] } {
  const v = schemaValidator();
  if (v(doc.instance)) return { valid: true, diagnostics: [] };
  const errors = v.errors ?? [];
  const fromHints = hintPass(doc, at);
  const diagnostics = fromHints.length ? fromHints : errorPass(doc, errors, at);
  return { valid: false, diagnostics };
}

// ---------------------------------------------------------------------------------------------
// Pass 1: names and enum values against the hints

function hintPass(doc: JsonDocument, at: Locator): ValidationDiagnostic[] {
  const table = hintTable();
  const out: ValidationDiagnostic[] = [];
  const walk = (o: JsonElement, name: string, parent: string, path: string): void => {
    const h = table[`${parent}>${name}`];
    if (!h) return;
    const element = doc.elementOf.get(o);
    const shown = element?.name ?? displayName(name);
    for (const [key, value] of Object.entries(o)) {
      if (key.startsWith('@')) {
        const attr = key.slice(1);
        const a = h.attributes[attr];
        const where = { path: `${path}/@${displayName(attr)}`, ...at(element, attr) };
        if (!a) {
          if (h.anyAttribute) continue;
          const known = Object.keys(h.attributes);
          const suggestion = didYouMean(attr, known);
          out.push({
            code: 'UnknownAttribute',
            severity: 'error',
            message: `unknown attribute '${displayName(attr)}' on <${shown}>${suggestion ? `; did you mean '${suggestion}'?` : ''}${known.length ? ` (allowed: ${listOf(known)})` : ' (it takes no attributes)'}`,
            found: attr,
            allowed: known,
            ...(suggestion ? { suggestion } : {}),
            ...where,
          });
        } else if (!a.open && !a.values.includes(value as string)) {
          out.push(badValue(`attribute '${displayName(attr)}' of <${shown}>`, value as string, a.values, where));
        }
      } else if (key === '#text') {
        const where = { path: `${path}/text()`, ...at(element) };
        if (!h.text) {
          if (h.anyElement) continue;
          out.push({ code: 'UnexpectedText', severity: 'error', message: `<${shown}> takes no text, found '${clip(value as string)}'`, found: value as string, ...where });
        } else if (!h.text.open && !h.text.values.includes((value as string).trim())) {
          out.push(badValue(`the content of <${shown}>`, value as string, h.text.values, where));
        }
      } else {
        const items = value as JsonElement[];
        items.forEach((item, i) => {
          const written = doc.elementOf.get(item)?.name ?? displayName(key);
          const childPath = `${path}/${written}${items.length > 1 ? `[${i + 1}]` : ''}`;
          if (table[`${name}>${key}`]) walk(item, key, name, childPath);
          else if (!h.anyElement) out.push(unknownElement(key, written, shown, h, { path: childPath, ...at(doc.elementOf.get(item)) }));
        });
      }
    }
  };
  for (const [key, roots] of Object.entries(doc.instance)) {
    for (const root of roots as JsonElement[]) {
      if (table[`>${key}`]) walk(root, key, '', `/${doc.elementOf.get(root)?.name ?? displayName(key)}`);
      else {
        out.push({
          code: 'UnknownElement',
          severity: 'error',
          message: `the root element must be <domain>, found <${displayName(key)}>`,
          found: key,
          allowed: ['domain'],
          path: `/${displayName(key)}`,
          ...at(doc.elementOf.get(root)),
        });
      }
    }
  }
  return out;
}

function unknownElement(key: string, shown: string, parent: string, h: Hint, where: Pick<ValidationDiagnostic, 'path' | 'line' | 'column' | 'file'>): ValidationDiagnostic {
  const elsewhere = (parentsOf?.get(key) ?? []).filter((p) => p !== '').map((p) => `<${displayName(p)}>`);
  const suggestion = didYouMean(key, h.children);
  const hint = elsewhere.length
    ? `; <${shown}> belongs in ${listOf([...new Set(elsewhere)], 6)}`
    : suggestion
      ? `; did you mean <${displayName(suggestion)}>?`
      : '';
  return {
    code: elsewhere.length ? 'MisplacedElement' : 'UnknownElement',
    severity: 'error',
    message: `${elsewhere.length ? 'element' : 'unknown element'} <${shown}> is not allowed in <${parent}>${hint}${h.children.length ? ` (allowed: ${listOf(h.children.map(displayName))})` : ' (it takes no child elements)'}`,
    found: shown,
    allowed: h.children.map(displayName),
    ...(suggestion && !elsewhere.length ? { suggestion: displayName(suggestion) } : {}),
    ...where,
  };
}

function badValue(what: string, value: string, allowed: readonly string[], where: Pick<ValidationDiagnostic, 'path' | 'line' | 'column' | 'file'>): ValidationDiagnostic {
  const suggestion = didYouMean(value, allowed);
  return {
    code: 'BadValue',
    severity: 'error',
    message: `invalid value '${clip(value)}' for ${what}${suggestion ? `; did you mean '${suggestion}'?` : ''} (allowed: ${listOf(allowed)})`,
    found: value,
    allowed,
    ...(suggestion ? { suggestion } : {}),
    ...where,
  };
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

// ---------------------------------------------------------------------------------------------
// Pass 2: ajv's errors, when every name and enum value is one the element could have

interface Candidate {
  readonly d: ValidationDiagnostic;
  /** A complaint from a variant the document did not choose (a value valid elsewhere, a conflict). */
  readonly cascade: boolean;
  /** Instance pointer of the element the complaint is about. */
  readonly elementPointer: string;
}

function errorPass(doc: JsonDocument, errors: readonly AjvError[], at: Locator): ValidationDiagnostic[] {
  const table = hintTable();
  const byKey = new Map<string, Candidate>();
  const selectors = new Map<string, { pointer: string; key: string; present: string | undefined; values: string[]; element: XmlElement | undefined; path: string }>();
  const add = (key: string, c: Candidate): void => {
    const prev = byKey.get(key);
    if (!prev) byKey.set(key, c);
    else if (prev.d.allowed && c.d.allowed) {
      // several variants each allow some values: list them all
      const allowed = [...new Set([...prev.d.allowed, ...c.d.allowed])];
      byKey.set(key, { ...prev, d: { ...prev.d, allowed, message: prev.d.message.replace(/\(allowed: .*\)$/, `(allowed: ${listOf(allowed)})`) } });
    }
  };
  const hintAt = (pointer: string): Hint | undefined => {
    const names = pointerTokens(pointer).filter((_, i) => i % 2 === 0);
    return table[`${names.at(-2) ?? ''}>${names.at(-1) ?? ''}`];
  };
  for (const e of errors) {
    const tokens = pointerTokens(e.instancePath);
    const last = tokens.at(-1) ?? '';
    const isValueSpot = last.startsWith('@') || last === '#text';
    const elementPointer = isValueSpot ? e.instancePath.slice(0, e.instancePath.lastIndexOf('/')) : e.instancePath;
    const loc = locate(doc, e.instancePath);
    const el = loc.element;
    const elName = el ? el.name : '?';
    switch (e.keyword) {
      case 'const':
      case 'enum':
      case 'pattern':
      case 'maxLength':
      case 'not': {
        if (e.keyword === 'not' && !isValueSpot) {
          const conflict = conflictKeys(e, doc, e.instancePath);
          add(`conflict ${e.instancePath} ${conflict.join(',')}`, {
            cascade: true,
            elementPointer,
            d: {
              code: 'Conflict',
              severity: 'error',
              message: `<${elName}> mixes parts of different variants: ${conflict.map(keyLabel).join(', ')} cannot appear with the rest of it`,
              path: loc.path,
              ...at(el),
            },
          });
          break;
        }
        if (!isValueSpot) break;
        const value = String(e.data ?? '');
        const what = last === '#text' ? `the content of <${elName}>` : `attribute '${displayName(last.slice(1))}' of <${elName}>`;
        const h = hintAt(elementPointer);
        const vh = last === '#text' ? h?.text : h?.attributes[last.slice(1)];
        const validElsewhere = vh !== undefined && (vh.values.includes(value) || (vh.open === true && e.keyword !== 'pattern' && e.keyword !== 'maxLength'));
        const where = { path: loc.path, ...at(el, last.startsWith('@') ? last.slice(1) : undefined) };
        if (e.keyword === 'const' || e.keyword === 'enum') {
          const allowed = (e.keyword === 'const' ? [String(e.params.allowedValue)] : (e.params.allowedValues as unknown[]).map(String));
          add(`value ${e.instancePath}`, { cascade: validElsewhere, elementPointer, d: badValue(what, value, allowed, where) });
        } else {
          const format = typeof e.parentSchema?.description === 'string' ? e.parentSchema.description : undefined;
          // an integer type's description says its range, clearer than the digit regex
          const expected = e.keyword === 'pattern' ? (format?.includes('an integer') ? format : `${format ? `${format} ` : ''}(pattern ${String(e.params.pattern)})`) : e.keyword === 'maxLength' ? `at most ${String(e.params.limit)} characters` : 'a different value';
          add(`value ${e.instancePath}`, {
            cascade: validElsewhere && vh?.values.includes(value) === true,
            elementPointer,
            d: { code: 'BadFormat', severity: 'error', message: `invalid value '${clip(value)}' for ${what}: expected ${expected}`, found: value, ...where },
          });
        }
        break;
      }
      case 'required': {
        const missing = String(e.params.missingProperty);
        const isAttr = missing.startsWith('@');
        const h = hintAt(e.instancePath);
        const text = missing === '#text';
        add(`required ${e.instancePath} ${missing}`, {
          cascade: false,
          elementPointer,
          d: {
            code: text ? 'MissingText' : isAttr ? 'MissingAttribute' : 'MissingElement',
            severity: 'error',
            message: text
              ? `<${elName}> needs a value${h?.text?.values.length ? ` (allowed: ${listOf(h.text.values)})` : ''}`
              : isAttr
                ? `<${elName}> is missing attribute '${displayName(missing.slice(1))}'`
                : `<${elName}> is missing child element <${displayName(missing)}>`,
            path: loc.path,
            found: '',
            ...at(el),
          },
        });
        break;
      }
      case 'unevaluatedProperties': {
        const key = String(e.params.unevaluatedProperty);
        const where = locate(doc, `${e.instancePath}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
        const label = keyLabel(key);
        const variant = selector(doc, e.instancePath);
        add(`extra ${e.instancePath} ${key}`, {
          cascade: true,
          elementPointer,
          d: {
            code: 'NotAllowedHere',
            severity: 'error',
            message: `${label} is not allowed on <${elName}>${variant ? ` with ${variant}` : ' in this combination'}`,
            path: where.path,
            found: displayName(key.replace(/^@/, '')),
            ...at(key.startsWith('@') ? el : (where.element ?? el), key.startsWith('@') ? key.slice(1) : undefined),
          },
        });
        break;
      }
      case 'maxItems':
      case 'minItems': {
        const items = e.data as unknown[];
        const name = displayName(last);
        const limit = Number(e.params.limit);
        const parentLoc = locate(doc, elementPointer.slice(0, elementPointer.lastIndexOf('/')));
        const first = e.keyword === 'maxItems' ? items[limit] : undefined;
        const target = first ? doc.elementOf.get(first as object) : parentLoc.element;
        const parentHint = hintAt(elementPointer.slice(0, elementPointer.lastIndexOf('/')));
        add(`count ${e.instancePath}`, {
          cascade: e.keyword === 'maxItems' && parentHint?.repeat?.includes(last) === true,
          elementPointer: e.instancePath.slice(0, e.instancePath.lastIndexOf('/')),
          d: {
            code: e.keyword === 'maxItems' ? 'TooMany' : 'TooFew',
            severity: 'error',
            message:
              e.keyword === 'maxItems'
                ? `<${name}> may appear at most ${limit} time${limit === 1 ? '' : 's'} in <${parentLoc.element?.name ?? '?'}>, found ${items.length}`
                : `<${name}> must appear at least ${limit} time${limit === 1 ? '' : 's'} in <${parentLoc.element?.name ?? '?'}>`,
            path: `${parentLoc.path}/${name}${first ? `[${limit + 1}]` : ''}`,
            ...at(target),
          },
        });
        break;
      }
      case 'if': {
        // a variant picked by an attribute value (<clock offset='utc'>): the attribute is missing
        // or has a value no variant takes
        const sel = (e.parentSchema?.if ?? {}) as { required?: string[]; properties?: Record<string, { enum?: string[] }> };
        const key = sel.required?.[0];
        if (!key) break;
        const values = sel.properties?.[key]?.enum ?? [];
        const node = locate(doc, e.instancePath);
        const present = node.element ? nodeAt(doc, e.instancePath)?.[key] : undefined;
        const id = `selector ${e.instancePath} ${key}`;
        const prev = selectors.get(id);
        selectors.set(id, { pointer: e.instancePath, key, present: present as string | undefined, values: [...(prev?.values ?? []), ...values], element: node.element, path: node.path });
        break;
      }
      case 'false schema': {
        add(`false ${e.instancePath}`, {
          cascade: true,
          elementPointer,
          d: { code: 'NotAllowedHere', severity: 'error', message: `<${elName}> is not allowed here`, path: loc.path, ...at(el) },
        });
        break;
      }
      default:
    }
  }
  for (const sel of selectors.values()) {
    const allowed = [...new Set(sel.values)].sort();
    const name = displayName(sel.key.slice(1));
    if (sel.present === undefined) {
      add(`required ${sel.pointer} ${sel.key}`, {
        cascade: false,
        elementPointer: sel.pointer,
        d: {
          code: 'MissingAttribute',
          severity: 'error',
          message: `<${sel.element?.name ?? '?'}> is missing attribute '${name}' (one of: ${listOf(allowed)})`,
          path: sel.path,
          allowed,
          ...at(sel.element),
        },
      });
    } else if (!allowed.includes(sel.present)) {
      // a value another choice of the same element takes is that choice's business
      const h = hintAt(sel.pointer);
      add(`value ${sel.pointer}/${sel.key}`, {
        cascade: h?.attributes[sel.key.slice(1)]?.values.includes(sel.present) === true,
        elementPointer: sel.pointer,
        d: badValue(`attribute '${name}' of <${sel.element?.name ?? '?'}>`, sel.present, allowed, { path: `${sel.path}/@${name}`, ...at(sel.element, name) }),
      });
    }
  }
  collapseMissing(byKey);
  const all = [...byKey.values()];
  const primary = all.filter((c) => !c.cascade);
  // Next to a wrong value or count, a missing part is usually the need of a variant the document
  // did not choose (a failed branch leaves its siblings' requirements behind): the value is the mistake.
  const definite = primary.filter((c) => !c.d.code.startsWith('Missing'));
  const chosen = definite.length ? definite : primary.length ? primary : deepest(all);
  return chosen.map((c) => c.d);
}

/**
 * Several parts missing from one element are the needs of its different variants: one of them
 * is missing, so they become one complaint listing the alternatives.
 */
function collapseMissing(byKey: Map<string, Candidate>): void {
  const byElement = new Map<string, Array<[string, Candidate]>>();
  for (const [k, c] of byKey) {
    if (c.d.code === 'MissingAttribute' || c.d.code === 'MissingElement') {
      byElement.set(c.elementPointer, [...(byElement.get(c.elementPointer) ?? []), [k, c]]);
    }
  }
  for (const list of byElement.values()) {
    if (list.length < 2) continue;
    const first = list[0]![1];
    const parts = list.map(([, c]) => c.d.message.replace(/^<[^>]*> is missing /, ''));
    for (const [k] of list) byKey.delete(k);
    byKey.set(`missing ${first.elementPointer}`, {
      ...first,
      d: { ...first.d, code: list.every(([, c]) => c.d.code === 'MissingElement') ? 'MissingElement' : 'MissingAttribute', message: `${first.d.message.replace(/ is missing .*$/, '')} is incomplete: it needs ${parts.join(', or ')}` },
    });
  }
}

/** The JSON object at a pointer. */
function nodeAt(doc: JsonDocument, pointer: string): JsonElement | undefined {
  let node: unknown = doc.instance;
  for (const t of pointerTokens(pointer)) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[t] : undefined;
  return node && typeof node === 'object' && !Array.isArray(node) ? (node as JsonElement) : undefined;
}

/** The complaints about the most deeply nested element: the closest to the actual mistake. */
function deepest(list: readonly Candidate[]): Candidate[] {
  const depth = (c: Candidate) => pointerTokens(c.elementPointer).length;
  const max = Math.max(...list.map(depth));
  const rank = (c: Candidate) => ['NotAllowedHere', 'BadValue', 'BadFormat', 'Conflict'].indexOf(c.d.code);
  return list.filter((c) => depth(c) === max).sort((a, b) => rank(a) - rank(b)).slice(0, 3);
}

/** The keys an `absent(...)` subschema found present. */
function conflictKeys(e: AjvError, doc: JsonDocument, pointer: string): string[] {
  const schema = e.schema as { anyOf?: Array<{ required?: string[] }> } | undefined;
  const keys = (schema?.anyOf ?? []).flatMap((s) => s.required ?? []);
  let node: unknown = doc.instance;
  for (const t of pointerTokens(pointer)) node = (node as Record<string, unknown>)[t];
  return keys.filter((k) => node && typeof node === 'object' && k in (node as object));
}

/** The nearest element on the pointer (itself first) whose type= picks its variant: "<disk type='file'>". */
function selector(doc: JsonDocument, pointer: string): string | undefined {
  const tokens = pointerTokens(pointer);
  const nodes: unknown[] = [];
  let node: unknown = doc.instance;
  for (const t of tokens) {
    node = (node as Record<string, unknown>)[t];
    nodes.push(node);
  }
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (n && typeof n === 'object' && !Array.isArray(n) && typeof (n as JsonElement)['@type'] === 'string') {
      const el = doc.elementOf.get(n);
      return `<${el?.name ?? '?'} type='${String((n as JsonElement)['@type'])}'>`;
    }
  }
  return undefined;
}

function keyLabel(key: string): string {
  return key.startsWith('@') ? `attribute '${displayName(key.slice(1))}'` : key === '#text' ? 'text' : `<${displayName(key)}>`;
}
