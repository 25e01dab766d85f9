/** Left-aligned columns separated by two spaces; null and empty cells show as "-". */
export function table(header: readonly string[], rows: readonly (readonly (string | null)[])[]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === null || c === '' ? '-' : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n');
}

/** "Label  value" lines, labels padded to one width. */
export function fields(pairs: readonly (readonly [string, string | null])[]): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${v === null || v === '' ? '-' : v}`).join('\n');
}
