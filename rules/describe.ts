import { KIND_NAME, renderTemplate } from '../core/display/describe.js';
import { type DisplayPrefs, formatQuantity, displayUnitOf, formatNumber, toDisplay, unitSymbol } from '../core/display/units.js';
import type { ConfirmationState, Finding } from '../core/model/alert.js';
import { type ComponentName, componentSpec, type ReadingKind } from '../core/model/reading-kinds.js';
import { renotifyMs } from './alert-sync.js';
import type { Comparator, RuleDefinition, Severity } from './model.js';
import { severityRank } from './model.js';
import { compare } from './verdicts.js';

/**
 * A rule in words for the people who act on it: its title with the limits that fire it (in the
 * reader's units, with the comparator exactly as the rule applies it), its action line, and what
 * happens after a resolve. Titles are generated from the rule, so title, rule and chart bands
 * cannot disagree.
 */

const OP: Readonly<Record<Comparator, string>> = { '>': '>', '>=': '≥', '<': '<', '<=': '≤' };

function limitText(kind: ReadingKind, component: ComponentName, comparator: Comparator, value: number, prefs: DisplayPrefs, delta = false): string {
  const spec = componentSpec(kind, component) ?? componentSpec(kind, 'value');
  if (spec === undefined) return `${OP[comparator]} ${value}`;
  const unit = displayUnitOf(spec.quantity, prefs);
  const symbol = unitSymbol(unit);
  return `${OP[comparator]} ${formatNumber(toDisplay(spec.quantity, value, unit, delta), unit)}${symbol === '%' ? ' %' : ` ${symbol}`}`;
}

function componentLabel(kind: ReadingKind, component: ComponentName): string {
  if (kind === 'blood-pressure') return component;
  return '';
}

function joinOr(parts: readonly string[]): string {
  return parts.length <= 1 ? parts.join('') : `${parts.slice(0, -1).join(', ')} or ${parts[parts.length - 1]}`;
}

/**
 * The limits of a rule as text, e.g. "systolic ≥ 180 mmHg or diastolic ≥ 120 mmHg", "> 2.0 lb in
 * 24 h", "< 54 mg/dL". With a severity, only the tiers of that severity (what this alert reached).
 */
export function criteriaText(rule: RuleDefinition, prefs: DisplayPrefs, severity?: Severity, finding?: Finding): string {
  switch (rule.type) {
    case 'threshold': {
      // A severity no tier has (a severe BP waiting for its repeat is shown at "high") names the limits that fire at all.
      const reached = severity !== undefined && rule.limits.some((l) => l.tiers.some((t) => t.severity === severity)) ? severity : undefined;
      // With what was seen: of two limits on one component, the one it is past (RR 32 is past
      // "≥ 25", not "≤ 8"); limits on other components stay (severe BP is "systolic or diastolic").
      const isPast = (l: (typeof rule.limits)[number]): boolean => {
        if (finding?.type !== 'reading') return false;
        const v = finding.values[l.component] ?? (rule.kind === 'heart-rate' ? finding.values.pulse : undefined);
        const first = l.tiers[0];
        return v !== undefined && first !== undefined && compare(v, l.comparator, first.value);
      };
      const past = rule.limits.filter((l) => isPast(l) || !rule.limits.some((o) => o !== l && o.component === l.component && isPast(o)));
      const parts: string[] = [];
      for (const l of past.length > 0 ? past : rule.limits) {
        const tier = reached === undefined ? l.tiers[0] : l.tiers.filter((t) => t.severity === reached)[0];
        if (tier === undefined) continue;
        const label = componentLabel(rule.kind, l.component);
        const text = `${label === '' ? '' : `${label} `}${limitText(rule.kind, l.component, l.comparator, tier.value, prefs)}`;
        // Two limits on one component in one direction (250 and 400 mg/dL): the generic title names the first.
        if (reached === undefined && parts.some((p) => p.startsWith(text.slice(0, label.length + 2)))) continue;
        parts.push(text);
      }
      return joinOr(parts);
    }
    case 'n-of-m':
      return `${rule.n} of the last ${rule.m} ${limitText(rule.kind, rule.component, rule.comparator, rule.value, prefs)} within ${rule.withinHours} h`;
    case 'change': {
      const window = rule.windowHours % 24 === 0 && rule.windowHours >= 48 ? `${rule.windowHours / 24} days` : `${rule.windowHours} h`;
      const against = rule.reference === 'extreme' ? ` (against the ${upwardChange(rule.comparator, rule.delta) ? 'lowest' : 'highest'} reading of the last ${window})` : '';
      return `${limitText(rule.kind, rule.component, rule.comparator, rule.delta, prefs, true)} in ${window}${against}`;
    }
    case 'rolling-mean':
      return `${joinOr(rule.limits.map((l) => `${componentLabel(rule.kind, l.component) || 'mean'} ${limitText(rule.kind, l.component, l.comparator, l.value, prefs)}`))}; needs readings on ${rule.minDays} days`;
    case 'baseline':
      return `${limitText(rule.kind, rule.component, rule.comparator, rule.delta, prefs, true)} vs the median of days ${rule.baselineFromDays}–${rule.baselineToDays} before`;
    case 'missing':
      return `none for ${rule.hours} h`;
    case 'news2': {
      const tiers = [...rule.tiers].sort((a, b) => a.total - b.total);
      const shown = severity === undefined ? tiers : tiers.filter((t) => t.severity === severity);
      return `${(shown.length > 0 ? shown : tiers).map((t) => `score ≥ ${t.total}`).join(', ')}${rule.spo2Scale === 2 ? ', SpO2 scale 2' : ''}`;
    }
  }
}

function upwardChange(op: Comparator, delta: number): boolean {
  return op === '>' || op === '>=' ? delta >= 0 : delta > 0;
}

/** The name of what fired: a tier's label where it has one ("Level 2 hypoglycemia"), else the rule's title. */
export function ruleName(rule: RuleDefinition, severity?: Severity): string {
  if (rule.type === 'threshold' && severity !== undefined) {
    for (const l of rule.limits) {
      const label = l.tiers.find((t) => t.severity === severity)?.label;
      if (label !== undefined) return label;
    }
  }
  return rule.title;
}

/**
 * "Severe hypertension (systolic ≥ 180 mmHg or diastolic ≥ 120 mmHg)", "Level 2 hypoglycemia (< 54 mg/dL)".
 * With a finding, only the limits it is past.
 */
export function ruleTitle(rule: RuleDefinition, prefs: DisplayPrefs, severity?: Severity, finding?: Finding): string {
  const criteria = criteriaText(rule, prefs, severity, finding);
  return criteria === '' ? ruleName(rule, severity) : `${ruleName(rule, severity)} (${criteria})`;
}

export function ruleAction(rule: RuleDefinition, prefs: DisplayPrefs): string | null {
  return rule.action === undefined ? null : renderTemplate(rule.action, prefs);
}

function minutesText(ms: number): string {
  const min = Math.round(ms / 60_000);
  return min % 60 === 0 ? `${min / 60} h` : `${min} min`;
}

/** What happens after a nurse resolves this alert while the patient is still past the limit. */
export function afterResolveText(rule: RuleDefinition, severity: Severity): string {
  if (rule.type === 'missing') return 'If no reading arrives, the alert comes back at the next check.';
  const interval = minutesText(renotifyMs(rule, severity));
  return `If readings stay past the limit, a new alert is raised ${interval} after you resolve this one, or at once if they get worse.`;
}

/** The confirmation state as a nurse reads it. */
export function confirmationText(rule: RuleDefinition, state: ConfirmationState | null): string | null {
  if (state === null || rule.type !== 'threshold' || rule.confirmation === undefined) return null;
  const c = rule.confirmation;
  switch (state) {
    case 'pending':
      return `Waiting for a repeat reading (at least ${c.minMinutes} min after the first, within ${c.withinMinutes} min).`;
    case 'confirmed':
      return 'Confirmed by a repeat reading.';
    case 'not-confirmed':
      return 'Not confirmed: the repeat reading was below the limit. Review and resolve.';
    case 'expired':
      return `No repeat reading within ${c.withinMinutes} min: call the patient.`;
  }
}

/** The band a chart shades for one component of a kind: limits that fire, in the reader's units. */
export interface ChartBand {
  readonly kind: ReadingKind;
  readonly component: ComponentName;
  readonly comparator: Comparator;
  readonly value: number;
  readonly unit: string;
  readonly severity: Severity;
  readonly ruleId: string;
  readonly label: string;
}

/**
 * Every single-reading limit in force, per component, converted to the reader's units: a chart
 * draws each component's limits for that component only (a diastolic limit is not a systolic one).
 */
export function chartBands(rules: readonly RuleDefinition[], prefs: DisplayPrefs): ChartBand[] {
  const bands: ChartBand[] = [];
  for (const rule of rules) {
    if (rule.type !== 'threshold') continue;
    for (const l of rule.limits) {
      for (const t of l.tiers) {
        const spec = componentSpec(rule.kind, l.component);
        if (spec === undefined) continue;
        const unit = displayUnitOf(spec.quantity, prefs);
        bands.push({
          kind: rule.kind,
          component: rule.kind === 'heart-rate' ? 'value' : l.component,
          comparator: l.comparator,
          value: Number(formatNumber(toDisplay(spec.quantity, t.value, unit), unit)),
          unit,
          severity: t.severity,
          ruleId: rule.id,
          label: `${t.label ?? ruleName(rule)} ${limitText(rule.kind, l.component, l.comparator, t.value, prefs)}`,
        });
      }
    }
  }
  return bands.sort((a, b) => severityRank(a.severity) - severityRank(b.severity));
}

export { formatQuantity, KIND_NAME };
