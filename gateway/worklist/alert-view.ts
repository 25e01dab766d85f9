import { z } from 'zod';
import { describeFinding, formatTime } from '../../core/display/describe.js';
import type { DisplayPrefs } from '../../core/display/units.js';
import { type Alert, type AlertEvent, CONFIRMATION_STATES, type EpisodePoint } from '../../core/model/alert.js';
import { afterResolveText, confirmationText, criteriaText, ruleAction, ruleName, ruleTitle } from '../../rules/describe.js';
import { ruleDefinition, type RuleDefinition, severityRank } from '../../rules/model.js';
import type { PriorityReason } from '../../rules/priority.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const pointView = z.object({
  readingId: z.string().nullable(),
  measuredAt: z.string(),
  measuredAtText: z.string().describe("Measurement time in the reader's time zone, with the zone"),
  text: z.string().describe("What the rule saw, in the reader's display units"),
  severity: z.enum(['low', 'medium', 'high', 'critical']).nullable(),
});

export const priorityReasonView = z.object({
  code: z.string(),
  points: z.number(),
  label: z.string(),
});

export const alertView = z.object({
  id: z.string(),
  patientId: z.string(),
  rule: z.string().describe('Rule id, e.g. bp-severe'),
  title: z.string().describe('What fired and its limits, in your display units, e.g. "Severe hypertension (systolic ≥ 180 mmHg or diastolic ≥ 120 mmHg)"'),
  name: z.string().describe('The rule or tier name without limits, e.g. "Level 2 hypoglycemia"'),
  criteria: z.string().describe('The limits this alert reached'),
  severity: z.enum(['low', 'medium', 'high', 'critical']),
  status: z.enum(['open', 'claimed', 'acknowledged', 'resolved']),
  version: z.number().int(),
  measuredAt: z.string().describe('Measurement time of the reading that opened the episode'),
  measuredAtText: z.string(),
  raisedAt: z.string(),
  updatedAt: z.string(),
  detail: z.string().describe("The episode's worst reading, in your display units; its time is `episode.worst.measuredAt`"),
  value: z.number().nullable().describe('The number the rule judged at the worst reading (canonical unit)'),
  episode: z
    .object({ first: pointView, worst: pointView })
    .nullable()
    .describe('The reading that opened the episode and the worst so far: each value shown with its own time'),
  confirmation: z.enum(CONFIRMATION_STATES).nullable(),
  confirmationText: z.string().nullable(),
  action: z.string().nullable().describe('What to do, from the rule’s source'),
  afterResolve: z.string().describe('What happens if the patient is still past the limit after you resolve it'),
  inRange: z.boolean(),
  flapping: z.boolean(),
  worsening: z.boolean(),
  late: z.boolean().describe('Raised from readings that arrived late (backfill, an offline device): look at when they were measured'),
  claimedBy: z.string().nullable(),
  acknowledgedBy: z.string().nullable(),
  resolvedBy: z.string().nullable(),
  outcome: z.string().nullable(),
  note: z.string().nullable(),
  snoozedUntil: z.string().nullable(),
  escalationLevel: z.number().int(),
  slaDueAt: z.string(),
  timeZone: z.string().describe('The time zone the *Text fields are written in'),
  priority: z.number().optional(),
  priorityReasons: z.array(priorityReasonView).optional().describe('The terms of `priority` (README, "Priority")'),
});
export type AlertView = z.infer<typeof alertView>;

/** The rule as it was in force for this alert (stored with it); undefined for alerts from before rules were kept. */
export function ruleOf(a: Alert): RuleDefinition | undefined {
  const parsed = ruleDefinition.safeParse(a.rule);
  return parsed.success ? parsed.data : undefined;
}

function point(p: EpisodePoint, prefs: DisplayPrefs): z.infer<typeof pointView> {
  return { readingId: p.readingId, measuredAt: new Date(p.atMs).toISOString(), measuredAtText: formatTime(p.atMs, prefs), text: describeFinding(p.finding, prefs), severity: p.severity };
}

/** An alert as a staff member reads it: values in her display units, times in her time zone. */
export function toAlertView(a: Alert, prefs: DisplayPrefs, priority?: { readonly score: number; readonly reasons: readonly PriorityReason[] }): AlertView {
  const rule = ruleOf(a);
  // The title names the worst level the episode reached ("Level 2 hypoglycemia" after a 48 mg/dL,
  // even once it is back at 62): the same reading the detail shows.
  const worst = a.episode?.worst.severity ?? null;
  const named = worst !== null && severityRank(worst) > severityRank(a.severity) ? worst : a.severity;
  return {
    id: a.id,
    patientId: a.patientId,
    rule: a.ruleId,
    title: rule === undefined ? a.ruleTitle : ruleTitle(rule, prefs, named, a.episode?.worst.finding),
    name: rule === undefined ? a.ruleTitle : ruleName(rule, named),
    criteria: rule === undefined ? '' : criteriaText(rule, prefs, named, a.episode?.worst.finding),
    severity: a.severity,
    status: a.status,
    version: a.version,
    measuredAt: new Date(a.measuredAtMs).toISOString(),
    measuredAtText: formatTime(a.measuredAtMs, prefs),
    raisedAt: new Date(a.createdAtMs).toISOString(),
    updatedAt: new Date(a.updatedAtMs).toISOString(),
    detail: a.episode === null ? a.detail : describeFinding(a.episode.worst.finding, prefs),
    value: a.value,
    episode: a.episode === null ? null : { first: point(a.episode.first, prefs), worst: point(a.episode.worst, prefs) },
    confirmation: a.confirmation,
    confirmationText: rule === undefined ? null : confirmationText(rule, a.confirmation),
    action: rule === undefined ? null : ruleAction(rule, prefs),
    afterResolve: rule === undefined ? 'If readings stay past the limit, a new alert is raised later, or at once if they get worse.' : afterResolveText(rule, a.severity),
    inRange: a.inRange,
    flapping: a.flapping,
    worsening: a.worsening,
    late: a.late,
    claimedBy: a.claimedBy,
    acknowledgedBy: a.acknowledgedBy,
    resolvedBy: a.resolvedBy,
    outcome: a.outcome,
    note: a.note,
    snoozedUntil: iso(a.snoozedUntilMs),
    escalationLevel: a.escalationLevel,
    slaDueAt: new Date(a.slaDueAtMs).toISOString(),
    timeZone: prefs.timeZone,
    ...(priority === undefined ? {} : { priority: priority.score, priorityReasons: priority.reasons.map((r) => ({ ...r })) }),
  };
}

export const alertEventView = z.object({
  version: z.number().int(),
  at: z.string(),
  atText: z.string(),
  actor: z.string(),
  action: z.string(),
  fromStatus: z.string().nullable(),
  toStatus: z.string(),
  severity: z.string(),
  note: z.string().nullable().describe("A nurse's note, or what the engine saw (in your display units)"),
});

export function toAlertEventView(e: AlertEvent, prefs: DisplayPrefs): z.infer<typeof alertEventView> {
  const seen = e.finding === undefined || e.finding === null ? null : describeFinding(e.finding, prefs);
  const note = seen === null ? e.note : e.note === null ? seen : `${e.note}: ${seen}`;
  return { version: e.version, at: new Date(e.atMs).toISOString(), atText: formatTime(e.atMs, prefs), actor: e.actor, action: e.action, fromStatus: e.fromStatus, toStatus: e.toStatus, severity: e.severity, note };
}
