// validateDomainXml: domain XML text → verdict and located diagnostics (schema, then libvirt's semantic rules).
import { DomxmlError } from '../errors.js';
import { readXml, tagEnd as endOfTag } from '../xml/read.js';
import type { XmlElement } from '../xml/tree.js';
import type { ValidationDiagnostic, ValidationResult } from './diagnostic.js';
import { elementPaths, RULE_DOCS, semanticCheck, type RuleOptions } from './rules.js';
import { schemaCheck, type Locator } from './schema-check.js';
import { toJson } from './to-json.js';

export { RULE_DOCS, type RuleDoc } from './rules.js';
export { formatText, type ValidationDiagnostic, type ValidationResult } from './diagnostic.js';

export interface ValidateOptions extends RuleOptions {
  /** Shown in diagnostics (FILE:LINE:COLUMN). */
  readonly file?: string;
  /** Run the semantic rules after the schema (default true); false checks only what the RelaxNG checks. */
  readonly rules?: boolean;
}

export function validateDomainXml(text: string, options: ValidateOptions = {}): ValidationResult {
  const file = options.file;
  let root: XmlElement;
  try {
    root = readXml(text, file);
  } catch (err) {
    if (!(err instanceof DomxmlError)) throw err;
    const d = err.diagnostic;
    return {
      valid: false,
      diagnostics: [{ code: 'XmlSyntax', severity: 'error', message: d.message, path: '/', ...(file !== undefined ? { file } : {}), ...(d.span ? { line: d.span.line, column: d.span.column } : {}) }],
    };
  }
  const at = locator(text, file);
  const schema = schemaCheck(toJson(root), at);
  const diagnostics: ValidationDiagnostic[] = [...schema.diagnostics];
  if (options.rules === false) return { valid: schema.valid, diagnostics };
  const paths = elementPaths(root);
  semanticCheck(
    root,
    (code, message, element, attribute) => {
      const path = paths.get(element) ?? '?';
      diagnostics.push({ code, severity: RULE_DOCS[code]!.severity, message, path: attribute ? `${path}/@${attribute}` : path, ...at(element, attribute) });
    },
    options,
  );
  diagnostics.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  return { valid: schema.valid && !diagnostics.some((d) => d.severity === 'error'), diagnostics };
}

/** Positions from the source: an element's start tag, or an attribute name inside it. */
function locator(text: string, file: string | undefined): Locator {
  return (element, attribute) => {
    const span = element?.span;
    const base = file !== undefined ? { file } : {};
    if (!span) return base;
    if (attribute !== undefined && span.offset !== undefined) {
      const local = attribute.replace(/^\{[^}]*\}/, '').replace(/^@/, '');
      const tagEnd = Math.min(endOfTag(text, span.offset) + 1, text.length);
      const tag = text.slice(span.offset, tagEnd);
      const m = new RegExp(`\\s((?:[\\w.-]+:)?${local.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')})\\s*=`).exec(tag);
      if (m) {
        const offset = span.offset + m.index + 1;
        let line = span.line;
        let lineStart = text.lastIndexOf('\n', span.offset - 1) + 1;
        for (let i = span.offset; i < offset; i++) {
          if (text.charCodeAt(i) === 10) {
            line++;
            lineStart = i + 1;
          }
        }
        return { ...base, line, column: offset - lineStart + 1 };
      }
    }
    return { ...base, line: span.line, column: span.column };
  };
}
