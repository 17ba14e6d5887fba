// A small element tree for domain XML: what the reader produces and the writer prints.
import type { Span } from '../errors.js';

export interface XmlElement {
  readonly name: string;
  /** Attributes in document order. */
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** Text content (concatenated text nodes), '' when none. */
  readonly text: string;
  readonly span?: Span;
}

type AttrValue = string | number | boolean | undefined | null;
type Child = XmlElement | undefined | null | false | readonly (XmlElement | undefined | null | false)[];

/** Builds an element; undefined attributes and children are left out, as libvirt omits unset fields. */
export function el(name: string, attrs: Record<string, AttrValue> = {}, ...content: Array<Child | string>): XmlElement {
  const a: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    a[k] = typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v);
  }
  const children: XmlElement[] = [];
  let text = '';
  for (const c of content) {
    if (typeof c === 'string') text += c;
    else if (Array.isArray(c)) for (const x of c) { if (x) children.push(x); }
    else if (c) children.push(c as XmlElement);
  }
  return { name, attrs: a, children, text };
}

/** An element with only text, or nothing when the text is undefined. */
export function textEl(name: string, value: string | number | undefined, attrs: Record<string, AttrValue> = {}): XmlElement | undefined {
  return value === undefined ? undefined : el(name, attrs, String(value));
}

export function child(e: XmlElement, name: string): XmlElement | undefined {
  return e.children.find((c) => c.name === name);
}

export function children(e: XmlElement, name: string): XmlElement[] {
  return e.children.filter((c) => c.name === name);
}

export function attr(e: XmlElement | undefined, name: string): string | undefined {
  return e?.attrs[name];
}

export function childText(e: XmlElement, name: string): string | undefined {
  const c = child(e, name);
  return c ? c.text.trim() : undefined;
}
