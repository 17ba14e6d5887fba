// Prints an XmlElement tree the way `virsh dumpxml` does: 2-space indentation, single-quoted
// attributes, empty elements as <x/>, text inline.
import type { XmlElement } from './tree.js';

export function writeXml(root: XmlElement): string {
  const out: string[] = [];
  write(root, 0, out);
  return out.join('');
}

function write(e: XmlElement, depth: number, out: string[]): void {
  const pad = '  '.repeat(depth);
  let open = `${pad}<${e.name}`;
  for (const [k, v] of Object.entries(e.attrs)) open += ` ${k}='${escape(v)}'`;
  if (e.children.length === 0) {
    out.push(e.text === '' ? `${open}/>\n` : `${open}>${escape(e.text)}</${e.name}>\n`);
    return;
  }
  out.push(`${open}>\n`);
  for (const c of e.children) write(c, depth + 1, out);
  out.push(`${pad}</${e.name}>\n`);
}

/** libvirt's virBufferEscapeString set: < > & ' " */
function escape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}
