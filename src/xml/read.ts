// Reads domain XML text into an XmlElement tree with line:column spans, using fast-xml-parser.
//
// fast-xml-parser does not report positions, so a small scanner finds the start tags in document
// order and the n-th element of the parse gets the n-th start tag's position.
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
  processEntities: true,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: '#comment',
});

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
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    return fail('XmlSyntax', { reason: msg }, { file, line, column: col });
  }
  const starts = startTagOffsets(text);
  let next = 0;
  const convert = (node: FxpNode): XmlElement | undefined => {
    const name = Object.keys(node).find((k) => k !== ':@');
    if (!name || name === '#text' || name === '#comment') return undefined;
    const span = next < starts.length ? at(starts[next++]!) : undefined;
    const kids = (node[name] as FxpNode[]) ?? [];
    const children: XmlElement[] = [];
    let textContent = '';
    for (const k of kids) {
      if ('#text' in k) textContent += String(k['#text']);
      else {
        const c = convert(k);
        if (c) children.push(c);
      }
    }
    return { name, attrs: { ...(node[':@'] ?? {}) }, children, text: textContent, ...(span ? { span } : {}) };
  };
  const doc = parser.parse(text) as FxpNode[];
  const roots = doc.map(convert).filter((e): e is XmlElement => e !== undefined);
  if (roots.length !== 1) return fail('XmlSyntax', { reason: 'expected exactly one root element' }, at(0));
  return roots[0]!;
}

function lineStarts(text: string): number[] {
  const out = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) out.push(i + 1);
  return out;
}

/** Offsets of '<' of each start tag, skipping comments, CDATA, declarations and PIs. */
function startTagOffsets(text: string): number[] {
  const out: number[] = [];
  let i = 0;
  while ((i = text.indexOf('<', i)) >= 0) {
    if (text.startsWith('<!--', i)) i = after(text, '-->', i);
    else if (text.startsWith('<![CDATA[', i)) i = after(text, ']]>', i);
    else if (text.startsWith('<?', i)) i = after(text, '?>', i);
    else if (text.startsWith('<!', i)) i = after(text, '>', i);
    else if (text[i + 1] === '/') i += 2;
    else {
      out.push(i);
      i += 1;
    }
  }
  return out;
}

function after(text: string, end: string, from: number): number {
  const j = text.indexOf(end, from);
  return j < 0 ? text.length : j + end.length;
}
