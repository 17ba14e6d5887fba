// Maps an XmlElement tree to the JSON instance that schemas/domain.schema.json describes, and JSON pointers back to elements.
//
// Mapping: element → object; attribute a → "@a"; children named n → "n": [object, …] in document
// order; non-blank text → "#text" (as written). Namespaced names use Clark notation ({uri}local);
// xmlns declarations are dropped (they are not attributes to RelaxNG).
import type { XmlElement } from '../xml/tree.js';

export type JsonElement = { [key: string]: string | JsonElement[] };

export interface JsonDocument {
  /** `{ <root name>: [root object] }` */
  readonly instance: JsonElement;
  /** Each JSON object's element, for mapping error locations back to the source. */
  readonly elementOf: WeakMap<object, XmlElement>;
}

type Scope = ReadonlyMap<string, string>;

function splitName(name: string): [string | undefined, string] {
  const i = name.indexOf(':');
  return i < 0 ? [undefined, name] : [name.slice(0, i), name.slice(i + 1)];
}

/** The Clark name of an element (default namespace applies) or attribute (it does not). */
export function clarkName(name: string, scope: Scope, isAttribute: boolean): string {
  const [prefix, local] = splitName(name);
  const uri = prefix === undefined ? (isAttribute ? undefined : scope.get('')) : scope.get(prefix);
  if (prefix === 'xml') return `{http://www.w3.org/XML/1998/namespace}${local}`;
  return uri ? `{${uri}}${local}` : prefix !== undefined && uri === undefined ? name : local;
}

function extendScope(e: XmlElement, scope: Scope): Scope {
  let out: Map<string, string> | undefined;
  for (const [k, v] of Object.entries(e.attrs)) {
    if (k === 'xmlns' || k.startsWith('xmlns:')) {
      out ??= new Map(scope);
      out.set(k === 'xmlns' ? '' : k.slice(6), v);
    }
  }
  return out ?? scope;
}

export function toJson(root: XmlElement): JsonDocument {
  const elementOf = new WeakMap<object, XmlElement>();
  const convert = (e: XmlElement, parentScope: Scope): JsonElement => {
    const scope = extendScope(e, parentScope);
    const o: JsonElement = {};
    for (const [k, v] of Object.entries(e.attrs)) {
      if (k === 'xmlns' || k.startsWith('xmlns:')) continue;
      o['@' + clarkName(k, scope, true)] = v;
    }
    for (const c of e.children) {
      const key = clarkName(c.name, extendScope(c, scope), false);
      const list = (o[key] ??= []) as JsonElement[];
      list.push(convert(c, scope));
    }
    // NB: kept as written: RelaxNG ignores blank text, but a value's own blanks matter to patterns
    if (e.text.trim() !== '') o['#text'] = e.text;
    elementOf.set(o, e);
    return o;
  };
  const rootScope = extendScope(root, new Map());
  return { instance: { [clarkName(root.name, rootScope, false)]: [convert(root, new Map())] }, elementOf };
}

/** Decodes a JSON pointer (RFC 6901) into its tokens. */
export function pointerTokens(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export interface Located {
  /** The deepest element on the pointer. */
  readonly element: XmlElement | undefined;
  /** The attribute the pointer ends at ('@name'), if any. */
  readonly attribute?: string;
  /** /domain/devices/disk[2]/target/@bus — indexes only where the element repeats. */
  readonly path: string;
}

/** Follows an instance pointer to the element (and attribute) it designates. */
export function locate(doc: JsonDocument, pointer: string): Located {
  let node: unknown = doc.instance;
  let element: XmlElement | undefined;
  let path = '';
  let attribute: string | undefined;
  const tokens = pointerTokens(pointer);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (node === undefined || node === null || typeof node !== 'object') break;
    const next = (node as Record<string, unknown>)[t];
    if (Array.isArray(next)) {
      const idx = tokens[i + 1];
      if (idx !== undefined && /^\d+$/.test(idx)) {
        const item = next[Number(idx)];
        const label = (item && doc.elementOf.get(item as object)?.name) ?? displayName(t);
        path += next.length > 1 ? `/${label}[${Number(idx) + 1}]` : `/${label}`;
        node = item;
        element = (item && doc.elementOf.get(item as object)) ?? element;
        i++;
      } else {
        path += `/${displayName(t)}`;
        node = next;
      }
    } else if (t.startsWith('@')) {
      attribute = t;
      path += `/@${displayName(t.slice(1))}`;
      break;
    } else if (t === '#text') {
      path += '/text()';
      break;
    } else break;
  }
  return { element, path: path || '/', ...(attribute ? { attribute } : {}) };
}

/** A Clark name shown as its local part: libvirt's namespaced elements are known by their prefix-less names. */
export function displayName(key: string): string {
  return key.replace(/^\{[^}]*\}/, '');
}
