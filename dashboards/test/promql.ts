/**
 * Just enough PromQL reading to find the metric names a Grafana dashboard queries, so a test can
 * hold them against what the gateway really exports. Not a parser: the dashboards' queries are
 * selectors, aggregations and functions, and a name that slipped through would fail the check
 * loudly rather than pass silently.
 */

/** Words that look like names but are PromQL keywords (aggregation modifiers, set operators). */
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/** The metric names in one PromQL expression (functions and label names excluded), in order of appearance. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // label values, which may hold anything
    .replace(/\{[^}]*\}/g, ' ') // label matchers: label names are not metrics
    .replace(/\[[^\]]*\]/g, ' ') // range and subquery durations
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\$\{?\w+\}?/g, ' '); // Grafana variables ($instance, $__rate_interval)
  const names: string[] = [];
  // A whole word that is not followed by "(" (a function or an aggregation) and not a number's exponent.
  for (const m of stripped.matchAll(/(?<![\w:.])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g)) {
    const name = m[1];
    if (name !== undefined && !KEYWORDS.has(name) && !names.includes(name)) names.push(name);
  }
  return names;
}

/** The metric of a Grafana variable query: `label_values(metric, label)` or `label_values(metric{…}, label)`. */
export function variableMetric(query: string): string | undefined {
  const m = /^\s*label_values\(\s*([a-zA-Z_:][\w:]*)/.exec(query);
  return m?.[1];
}

/** Sample names in Prometheus text exposition (`name{labels} value`), e.g. `x_bucket`, `x_sum`, `x_count` for a histogram. */
export function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const m = /^([a-zA-Z_:][\w:]*)[{ ]/.exec(line);
    if (m?.[1] !== undefined) names.add(m[1]);
  }
  return names;
}
