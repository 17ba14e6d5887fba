// Reads domain XML text into an XmlElement tree with line:column spans, using fast-xml-parser.
//
// fast-xml-parser does not report positions, so a small scanner finds the start tags in document
// order and the n-th element of the parse gets the n-th start tag's position. The same scanner
// enforces the hardening limits before the parser sees the text: no DOCTYPE (so no entity
// expansion, internal or external), a size limit and a nesting limit.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { fail, type Span } from '../errors.js';
import type { XmlElement } from './tree.js';

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: false,
  // NB: entities are decoded below, in one pass with character references (&#10;), which
  // fast-xml-parser leaves alone unless HTML's entities are switched on too
  processEntities: false,
  cdataPropName: '#cdata',
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: '#comment',
  // no callbacks here read the element path, and the default (its string, built for every
  // element) costs about a sixth of the parse
  jPath: false,
});

/** Largest document accepted, in characters (libvirt's own domain XML files are a few KiB). */
export const MAX_XML_CHARS = 16 * 1024 * 1024;
/** Deepest element nesting accepted (a domain nests about 6 deep). */
export const MAX_XML_DEPTH = 64;
/** The one namespace extension of the domain schema that domxml compiles. */
export const QEMU_NS = 'http://libvirt.org/schemas/domain/qemu/1.0';

type FxpNode = Record<string, unknown> & { ':@'?: Record<string, string> };

export function readXml(text: string, file?: string): XmlElement {
  const lines = lineStarts(text);
  const at = (offset: number): Span => {
    let lo = 0;
    let hi = lines.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lines[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { file, line: lo + 1, column: offset - lines[lo]! + 1, offset };
  };
  if (text.length > MAX_XML_CHARS) {
    return fail('InputTooLarge', { what: 'XML document', size: text.length, limit: MAX_XML_CHARS }, at(MAX_XML_CHARS));
  }
  const { starts, doctype, tooDeep } = scanTags(text);
  if (doctype !== undefined) return fail('XmlDoctype', {}, at(doctype));
  if (tooDeep !== undefined) return fail('XmlTooDeep', { limit: MAX_XML_DEPTH }, at(tooDeep));
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    return fail('XmlSyntax', { reason: msg }, { file, line, column: col });
  }
  let next = 0;
  const convert = (node: FxpNode, scope: ReadonlyMap<string, string>): XmlElement | undefined => {
    const raw = Object.keys(node).find((k) => k !== ':@');
    if (!raw || raw === '#text' || raw === '#comment' || raw === '#cdata') return undefined;
    const span = next < starts.length ? at(starts[next++]!) : undefined;
    const attrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(node[':@'] ?? {})) attrs[k] = decodeEntities(v, span);
    const inner = bindings(attrs, scope);
    const name = qualify(raw, inner, span);
    const kids = (node[raw] as FxpNode[]) ?? [];
    const children: XmlElement[] = [];
    let textContent = '';
    for (const k of kids) {
      if ('#text' in k) textContent += decodeEntities(String(k['#text']), span);
      else if ('#cdata' in k) textContent += (k['#cdata'] as FxpNode[]).map((t) => String(t['#text'] ?? '')).join('');
      else {
        const c = convert(k, inner);
        if (c) children.push(c);
      }
    }
    return { name, attrs, children, text: textContent, ...(span ? { span } : {}) };
  };
  const doc = parser.parse(text) as FxpNode[];
  const roots = doc.map((n) => convert(n, new Map())).filter((e): e is XmlElement => e !== undefined);
  if (roots.length !== 1) return fail('XmlSyntax', { reason: 'expected exactly one root element' }, at(0));
  return roots[0]!;
}

const XML_ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** XML's five entities and character references, in one pass: "&amp;#10;" stays "&#10;". */
function decodeEntities(s: string, span: Span | undefined): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(lt|gt|amp|quot|apos));/g, (m, hex?: string, dec?: string, name?: string) => {
    if (name) return XML_ENTITIES[name]!;
    const cp = hex !== undefined ? parseInt(hex, 16) : Number(dec);
    // XML 1.0's Char production: no NUL or other C0 controls but tab/newline/return, no surrogates
    const ok = cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
    return ok ? String.fromCodePoint(cp) : fail('XmlSyntax', { reason: `character reference ${m} is not an XML character` }, span);
  });
}

function lineStarts(text: string): number[] {
  const out = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) out.push(i + 1);
  return out;
}

/** The namespace prefixes in scope inside an element with these attributes. */
function bindings(attrs: Record<string, string>, outer: ReadonlyMap<string, string>): ReadonlyMap<string, string> {
  let inner: Map<string, string> | undefined;
  for (const [k, v] of Object.entries(attrs)) {
    if (!k.startsWith('xmlns:')) continue;
    inner ??= new Map(outer);
    inner.set(k.slice(6), v);
  }
  return inner ?? outer;
}

/**
 * An element's name as the domain reader sees it: `qemu:NAME` for an element in the QEMU
 * namespace whatever prefix the document chose, the name as written otherwise. Elements of
 * other namespaces stay unknown to the readers, which keep them and warn that they are not
 * compiled.
 */
function qualify(raw: string, scope: ReadonlyMap<string, string>, span: Span | undefined): string {
  const colon = raw.indexOf(':');
  if (colon < 0) return raw;
  const prefix = raw.slice(0, colon);
  const uri = scope.get(prefix);
  if (uri === undefined) return fail('XmlSyntax', { reason: `namespace prefix ${prefix} on <${raw}> is not defined` }, span);
  if (uri === QEMU_NS) return `qemu:${raw.slice(colon + 1)}`;
  // NB: the `qemu` prefix bound to another namespace must not pass for the QEMU extension
  return prefix === 'qemu' ? `{${uri}}${raw.slice(colon + 1)}` : raw;
}

interface TagScan {
  /** Offsets of '<' of each start tag, in document order. */
  readonly starts: number[];
  /** Offset of a <!DOCTYPE or <!ENTITY declaration, if any. */
  readonly doctype?: number;
  /** Offset of the first start tag nested deeper than MAX_XML_DEPTH, if any. */
  readonly tooDeep?: number;
}

/** Start tags, skipping comments, CDATA and PIs; stops at a DOCTYPE or too deep a nesting. */
function scanTags(text: string): TagScan {
  const starts: number[] = [];
  let depth = 0;
  let i = 0;
  while ((i = text.indexOf('<', i)) >= 0) {
    if (text.startsWith('<!--', i)) i = after(text, '-->', i);
    else if (text.startsWith('<![CDATA[', i)) i = after(text, ']]>', i);
    else if (text.startsWith('<?', i)) i = after(text, '?>', i);
    else if (text.startsWith('<!', i)) return { starts, doctype: i };
    else if (text[i + 1] === '/') {
      depth--;
      i += 2;
    } else {
      starts.push(i);
      const end = tagEnd(text, i + 1);
      if (text[end - 1] !== '/' && ++depth > MAX_XML_DEPTH) return { starts, tooDeep: i };
      i = end + 1;
    }
  }
  return { starts };
}

/** Offset of the '>' closing the tag whose name starts at `from` ('>' in quoted values skipped). */
export function tagEnd(text: string, from: number): number {
  let quote = '';
  for (let i = from; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '>') return i;
  }
  return text.length;
}

function after(text: string, end: string, from: number): number {
  const j = text.indexOf(end, from);
  return j < 0 ? text.length : j + end.length;
}
