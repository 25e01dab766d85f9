export function median(xs: readonly number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function range(xs: readonly number[]): [number, number] {
  const s = xs.filter((x) => Number.isFinite(x));
  return s.length === 0 ? [Number.NaN, Number.NaN] : [Math.min(...s), Math.max(...s)];
}

/** 12345.6 → "12,346"; 0.6123 → "0.61"; 3.456 → "3.5" */
export function fmt(x: number, digits?: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  const d = digits ?? (Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2);
  return x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}
