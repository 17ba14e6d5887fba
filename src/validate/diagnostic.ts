// Validation diagnostics: what `domxml validate` reports, and "did you mean" by edit distance.

export type ValidationSeverity = 'error' | 'warning';

export interface ValidationDiagnostic {
  /** Stable code, e.g. UnknownAttribute, DuplicateDiskTarget (see RULE_DOCS). */
  readonly code: string;
  readonly severity: ValidationSeverity;
  readonly message: string;
  /** Element path: /domain/devices/disk[2]/target/@bus */
  readonly path: string;
  readonly file?: string;
  /** 1-based; the start tag of the element, or the attribute's name. */
  readonly line?: number;
  readonly column?: number;
  /** What the document has there (a name or value). */
  readonly found?: string;
  /** What the schema allows there. */
  readonly allowed?: readonly string[];
  readonly suggestion?: string;
}

export interface ValidationResult {
  readonly valid: boolean;
  readonly diagnostics: readonly ValidationDiagnostic[];
}

/** Optimal string alignment distance (Damerau–Levenshtein with adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  const d: number[][] = Array.from({ length: m + 1 }, (_, i) => Array.from({ length: n + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[m]![n]!;
}

/** The closest candidate, if it is close enough to be a plausible typo (a case slip always is). */
export function didYouMean(found: string, candidates: readonly string[]): string | undefined {
  const lower = found.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    if (c === found) continue;
    const score = c.toLowerCase() === lower ? 0 : editDistance(lower, c.toLowerCase());
    if (score < bestScore) {
      best = c;
      bestScore = score;
    }
  }
  const limit = Math.max(1, Math.floor(found.length / 3));
  return best !== undefined && bestScore <= limit ? best : undefined;
}

/** A list for a message: at most `max` items, then "…". */
export function listOf(items: readonly string[], max = 12): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')}, … (${items.length} in all)`;
}

/** One line per diagnostic; `color` marks the severity with ANSI colours (for a terminal). */
export function formatText(d: ValidationDiagnostic, opts: { readonly color?: boolean } = {}): string {
  const where = d.file !== undefined || d.line !== undefined ? `${d.file ?? '<input>'}${d.line !== undefined ? `:${d.line}:${d.column ?? 1}` : ''}: ` : '';
  const severity = opts.color ? `\x1b[${d.severity === 'error' ? '1;31' : '1;33'}m${d.severity}\x1b[0m` : d.severity;
  return `${where}${severity} ${d.code}: ${d.message} [${d.path}]`;
}
