import { z } from 'zod';
import type { Alert, AlertEvent } from '../../core/model/alert.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export const alertView = z.object({
  id: z.string(),
  patientId: z.string(),
  rule: z.string().describe('Rule id, e.g. bp-severe'),
  title: z.string(),
  severity: z.enum(['low', 'medium', 'high', 'critical']),
  status: z.enum(['open', 'claimed', 'acknowledged', 'resolved']),
  version: z.number().int(),
  measuredAt: z.string().describe('Measurement time of the reading that raised the alert'),
  raisedAt: z.string(),
  updatedAt: z.string(),
  detail: z.string(),
  value: z.number().nullable(),
  confirmation: z.enum(['pending', 'confirmed']).nullable(),
  inRange: z.boolean(),
  flapping: z.boolean(),
  worsening: z.boolean(),
  claimedBy: z.string().nullable(),
  acknowledgedBy: z.string().nullable(),
  resolvedBy: z.string().nullable(),
  outcome: z.string().nullable(),
  note: z.string().nullable(),
  snoozedUntil: z.string().nullable(),
  escalationLevel: z.number().int(),
  slaDueAt: z.string(),
  priority: z.number().optional(),
});
export type AlertView = z.infer<typeof alertView>;

export function toAlertView(a: Alert, priority?: number): AlertView {
  return {
    id: a.id,
    patientId: a.patientId,
    rule: a.ruleId,
    title: a.ruleTitle,
    severity: a.severity,
    status: a.status,
    version: a.version,
    measuredAt: new Date(a.measuredAtMs).toISOString(),
    raisedAt: new Date(a.createdAtMs).toISOString(),
    updatedAt: new Date(a.updatedAtMs).toISOString(),
    detail: a.detail,
    value: a.value,
    confirmation: a.confirmation,
    inRange: a.inRange,
    flapping: a.flapping,
    worsening: a.worsening,
    claimedBy: a.claimedBy,
    acknowledgedBy: a.acknowledgedBy,
    resolvedBy: a.resolvedBy,
    outcome: a.outcome,
    note: a.note,
    snoozedUntil: iso(a.snoozedUntilMs),
    escalationLevel: a.escalationLevel,
    slaDueAt: new Date(a.slaDueAtMs).toISOString(),
    ...(priority === undefined ? {} : { priority }),
  };
}

export const alertEventView = z.object({
  version: z.number().int(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  fromStatus: z.string().nullable(),
  toStatus: z.string(),
  severity: z.string(),
  note: z.string().nullable(),
});

export function toAlertEventView(e: AlertEvent): z.infer<typeof alertEventView> {
  return { version: e.version, at: new Date(e.atMs).toISOString(), actor: e.actor, action: e.action, fromStatus: e.fromStatus, toStatus: e.toStatus, severity: e.severity, note: e.note };
}
