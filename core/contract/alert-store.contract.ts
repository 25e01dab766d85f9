import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Alert, AlertEvent, AlertStatus } from '../model/alert.js';
import type { ProgressStore } from '../ports/progress-store.js';
import { TIME_MODALITIES, type AlertStore, type EvaluationWrite, type NewTimeEntry } from '../ports/alert-store.js';

/**
 * The AlertStore contract, run by every adapter against its real backend: the guarantees of the
 * port's doc block, and what the rules engine (pipeline/alerting-service.ts), the worklist and the
 * SLA escalator (gateway/worklist/) rely on. `make` returns a fresh, empty store.
 */
export function alertStoreContract(name: string, make: () => Promise<{ store: AlertStore; progress: ProgressStore; dispose: () => Promise<void> }>): void {
  describe(`AlertStore contract: ${name}`, () => {
    let store: AlertStore;
    let progress: ProgressStore;
    let dispose: () => Promise<void>;
    beforeEach(async () => {
      ({ store, progress, dispose } = await make());
    });
    afterEach(async () => dispose());

    let n = 0;
    /** A complete alert, every field set to something that must survive the round trip. */
    const alert = (overrides: Partial<Alert> = {}): Alert => {
      n += 1;
      return {
        id: `al-${n}`,
        organizationId: 'org-1',
        patientId: 'p-1',
        ruleId: `rule-${n}`,
        ruleTitle: 'SpO₂ below 90 %',
        severity: 'high',
        status: 'open',
        version: 1,
        measuredAtMs: 1_000,
        createdAtMs: 2_000,
        updatedAtMs: 2_000,
        readingId: `r-${n}`,
        value: 88.5,
        detail: 'spo2 88.5 % < 90',
        confirmation: null,
        episode: {
          first: { readingId: `r-${n}`, atMs: 1_000, severity: 'high', finding: { type: 'reading', kind: 'spo2', values: { value: 88.5 }, breached: ['value'] }, value: 88.5, badness: 1.5 },
          worst: { readingId: `r-${n}`, atMs: 1_000, severity: 'high', finding: { type: 'reading', kind: 'spo2', values: { value: 88.5 }, breached: ['value'] }, value: 88.5, badness: 1.5 },
        },
        rule: { id: `rule-${n}`, kind: 'spo2', below: 90, nested: { list: [1, 2.5, 'x'], flag: true } },
        late: false,
        inRange: false,
        flapping: false,
        worsening: false,
        claimedBy: null,
        claimedAtMs: null,
        acknowledgedBy: null,
        acknowledgedAtMs: null,
        resolvedBy: null,
        resolvedAtMs: null,
        outcome: null,
        note: null,
        snoozedUntilMs: null,
        escalationLevel: 0,
        escalatedAtMs: null,
        slaDueAtMs: 10_000,
        ...overrides,
      };
    };
    const event = (a: Alert, action: AlertEvent['action'], fromStatus: AlertStatus | null, extra: Partial<AlertEvent> = {}): AlertEvent => ({
      alertId: a.id,
      version: a.version,
      atMs: a.updatedAtMs,
      actor: 'engine',
      action,
      fromStatus,
      toStatus: a.status,
      severity: a.severity,
      note: null,
      finding: { type: 'reading', kind: 'spo2', values: { value: 88.5 }, breached: ['value'] },
      ...extra,
    });
    /** An evaluation write; the engine's updates are read at the version before theirs unless `expectedVersions` says otherwise. */
    const write = (w: Partial<EvaluationWrite>): EvaluationWrite => ({
      cursor: 0,
      conditions: [],
      created: [],
      updated: [],
      events: [],
      expectedVersions: new Map((w.updated ?? []).map((a) => [a.id, a.version - 1])),
      ...w,
    });
    const raise = async (a: Alert, cursor = 0): Promise<Alert> => {
      await store.applyEvaluation(write({ cursor, created: [a], events: [event(a, 'raised', null)] }));
      return a;
    };
    const transition = (a: Alert, changes: Partial<Alert>, atMs: number): Alert => ({ ...a, ...changes, version: a.version + 1, updatedAtMs: atMs });

    it('round-trips every field of an alert and of its events', async () => {
      const a = await raise(alert({ confirmation: 'pending', late: true, inRange: true, flapping: true, worsening: true, escalationLevel: 2, escalatedAtMs: 9_000 }));
      expect(await store.getAlert(a.id)).toEqual(a);
      expect(await store.events(a.id)).toEqual([event(a, 'raised', null)]);
      const bare = await raise(alert({ episode: null, rule: null, value: null, readingId: null, organizationId: null }));
      expect(await store.getAlert(bare.id)).toEqual(bare);
      expect(await store.getAlert('ghost')).toBeUndefined();
    });

    it('moves the unresolved alerts of a patient to another organization, leaving resolved ones and other patients alone', async () => {
      const open = await raise(alert({ ruleId: 'r-open', patientId: 'p-mv' }));
      const resolved = await raise(alert({ ruleId: 'r-done', patientId: 'p-mv' }));
      const done = transition(resolved, { status: 'resolved', resolvedBy: 'staff-1', resolvedAtMs: 3_000, outcome: 'contacted-patient' }, 3_000);
      expect(await store.saveTransition(done, resolved.version, event(done, 'resolve', 'open'))).toBe(true);
      const other = await raise(alert({ ruleId: 'r-other', patientId: 'p-other' }));
      const moved = await store.moveUnresolvedAlerts('p-mv', 'org-2');
      expect(moved).toEqual([{ ...open, organizationId: 'org-2' }]);
      expect(await store.getAlert(open.id)).toEqual({ ...open, organizationId: 'org-2' });
      expect(await store.getAlert(resolved.id)).toEqual(done);
      expect(await store.getAlert(other.id)).toEqual(other);
      expect((await store.unresolvedAlerts({ organizationId: 'org-2' })).map((a) => a.id)).toEqual([open.id]);
      expect(await store.moveUnresolvedAlerts('nobody', 'org-2')).toEqual([]);
    });

    it('counts unresolved alerts by severity and status', async () => {
      expect(await store.openAlertCounts()).toEqual([]);
      await raise(alert({ severity: 'high' }));
      await raise(alert({ severity: 'high' }));
      const c = await raise(alert({ severity: 'critical' }));
      const claimed = transition(c, { status: 'claimed', claimedBy: 's-1', claimedAtMs: 3_000 }, 3_000);
      expect(await store.saveTransition(claimed, c.version, event(claimed, 'claim', 'open'))).toBe(true);
      const r = await raise(alert({ severity: 'low' }));
      const done = transition(r, { status: 'resolved', resolvedBy: 's-1', resolvedAtMs: 3_000, outcome: 'contacted-patient' }, 3_000);
      expect(await store.saveTransition(done, r.version, event(done, 'resolve', 'open'))).toBe(true);
      const counts = await store.openAlertCounts();
      expect(new Set(counts.map((x) => `${x.severity}/${x.status}=${x.count}`))).toEqual(new Set(['high/open=2', 'critical/claimed=1']));
    });

    it('applies an evaluation atomically: cursor, condition states, new and updated alerts and events together', async () => {
      expect(await store.evaluationCursor()).toBe(0);
      const a = alert({ ruleId: 'spo2-low' });
      const b = alert({ ruleId: 'hr-high' });
      await store.applyEvaluation(
        write({
          cursor: 7,
          conditions: [
            { patientId: 'p-1', ruleId: 'spo2-low', state: { phase: 'breaching', since: 1000, readings: [1, 2] } },
            { patientId: 'p-1', ruleId: 'hr-high', state: { phase: 'ok' } },
            { patientId: 'p-2', ruleId: 'spo2-low', state: { phase: 'ok' } },
          ],
          created: [a, b],
          events: [event(a, 'raised', null), event(b, 'raised', null)],
        }),
      );
      expect(await store.evaluationCursor()).toBe(7);
      expect(await store.conditionStates('p-1')).toEqual(
        new Map<string, unknown>([
          ['spo2-low', { phase: 'breaching', since: 1000, readings: [1, 2] }],
          ['hr-high', { phase: 'ok' }],
        ]),
      );
      expect(await store.conditionStates('nobody')).toEqual(new Map());

      // The engine's update bumps the version it read; a condition is replaced.
      const worse = transition(a, { severity: 'critical', worsening: true, value: 85 }, 3_000);
      await store.applyEvaluation(
        write({ cursor: 9, conditions: [{ patientId: 'p-1', ruleId: 'spo2-low', state: { phase: 'worse' } }], updated: [worse], events: [event(worse, 'updated', 'open')] }),
      );
      expect(await store.evaluationCursor()).toBe(9);
      expect((await store.conditionStates('p-1')).get('spo2-low')).toEqual({ phase: 'worse' });
      expect(await store.getAlert(a.id)).toEqual(worse);
      expect((await store.events(a.id)).map((e) => [e.version, e.action])).toEqual([
        [1, 'raised'],
        [2, 'updated'],
      ]);

      // A write that breaks a rule (a second unresolved alert of p-1 × spo2-low) leaves everything as it was.
      const twin = alert({ ruleId: 'spo2-low' });
      const c = alert({ ruleId: 'bp-high' });
      await expect(
        store.applyEvaluation(
          write({
            cursor: 12,
            conditions: [{ patientId: 'p-1', ruleId: 'spo2-low', state: { phase: 'lost' } }],
            created: [c, twin],
            updated: [transition(worse, { note: 'lost' }, 4_000)],
            events: [event(c, 'raised', null), event(twin, 'raised', null)],
          }),
        ),
      ).rejects.toBeDefined();
      expect(await store.evaluationCursor()).toBe(9);
      expect((await store.conditionStates('p-1')).get('spo2-low')).toEqual({ phase: 'worse' });
      expect(await store.getAlert(c.id)).toBeUndefined();
      expect(await store.getAlert(twin.id)).toBeUndefined();
      expect(await store.getAlert(a.id)).toEqual(worse);
      expect(await store.events(c.id)).toEqual([]);
    });

    it("refuses an engine update of an alert changed since the pass read it (a nurse's action), writing nothing of the pass", async () => {
      const a = await raise(alert({ ruleId: 'spo2-low' }), 3);
      const other = alert({ ruleId: 'hr-high' });
      // The pass read `a` at version 1; meanwhile a nurse claimed it (version 2).
      const claimed = transition(a, { status: 'claimed', claimedBy: 's-1', claimedAtMs: 3_000 }, 3_000);
      expect(await store.saveTransition(claimed, a.version, event(claimed, 'claim', 'open'))).toBe(true);
      const worse = transition(a, { severity: 'critical', worsening: true, value: 85 }, 4_000);
      await expect(
        store.applyEvaluation(
          write({
            cursor: 8,
            conditions: [{ patientId: 'p-1', ruleId: 'spo2-low', state: { phase: 'worse' } }],
            created: [other],
            updated: [worse],
            expectedVersions: new Map([[a.id, 1]]),
            events: [event(other, 'raised', null), event(worse, 'updated', 'open')],
          }),
        ),
      ).rejects.toMatchObject({ code: 'RPM_ERR_ALERT_CHANGED' });
      expect(await store.getAlert(a.id)).toEqual(claimed);
      expect(await store.getAlert(other.id)).toBeUndefined();
      expect(await store.evaluationCursor()).toBe(3);
      expect((await store.conditionStates('p-1')).get('spo2-low')).toBeUndefined();
      expect((await store.events(a.id)).map((e) => e.action)).toEqual(['raised', 'claim']);

      // Judged again from the claimed alert (version 2), the update applies and keeps the claim.
      const judgedAgain = transition(claimed, { severity: 'critical', worsening: true, value: 85 }, 4_000);
      await store.applyEvaluation(write({ cursor: 8, updated: [judgedAgain], expectedVersions: new Map([[a.id, 2]]), events: [event(judgedAgain, 'updated', 'claimed')] }));
      expect(await store.getAlert(a.id)).toMatchObject({ version: 3, status: 'claimed', claimedBy: 's-1', severity: 'critical' });
      expect(await store.evaluationCursor()).toBe(8);
    });

    it('keeps one cursor per rule partition, starting where the single engine stood, and fences each write', async () => {
      await store.applyEvaluation(write({ cursor: 30 }));
      const p3 = { index: 3, count: 16 };
      const p4 = { index: 4, count: 16 };
      expect(await store.evaluationCursor(p3)).toBe(30);
      await store.applyEvaluation(write({ cursor: 45, partition: p3, fence: 30 }));
      expect(await store.evaluationCursor(p3)).toBe(45);
      // Partitions move on their own; the single engine's cursor is not theirs.
      expect(await store.evaluationCursor(p4)).toBe(30);
      expect(await store.evaluationCursor()).toBe(30);
      // Another count is another layout: its cursors start afresh from the single engine's.
      expect(await store.evaluationCursor({ index: 3, count: 8 })).toBe(30);

      // A worker whose pass started at 30 lost the partition to one that wrote 45: it writes nothing.
      const a = alert({ patientId: 'p-fenced', ruleId: 'spo2-low' });
      const stale = store.applyEvaluation(
        write({ cursor: 50, partition: p3, fence: 30, conditions: [{ patientId: 'p-fenced', ruleId: 'spo2-low', state: { phase: 'x' } }], created: [a], events: [event(a, 'raised', null)] }),
      );
      await expect(stale).rejects.toMatchObject({ code: 'RPM_ERR_CURSOR_MOVED' });
      expect(await store.evaluationCursor(p3)).toBe(45);
      expect(await store.getAlert(a.id)).toBeUndefined();
      expect(await store.conditionStates('p-fenced')).toEqual(new Map());
      // The fence holds for the single engine too.
      await expect(store.applyEvaluation(write({ cursor: 60, fence: 29 }))).rejects.toMatchObject({ code: 'RPM_ERR_CURSOR_MOVED' });
      expect(await store.evaluationCursor()).toBe(30);
    });

    it('moves a follower position with the evaluation, atomically', async () => {
      await store.applyEvaluation(write({ cursor: 5, progress: { name: 'rules-attributions', seq: 3 } }));
      expect(await progress.position('rules-attributions')).toBe(3);
      await expect(store.applyEvaluation(write({ cursor: 6, fence: 4, progress: { name: 'rules-attributions', seq: 9 } }))).rejects.toMatchObject({ code: 'RPM_ERR_CURSOR_MOVED' });
      expect(await progress.position('rules-attributions')).toBe(3);
    });

    it('lets exactly one of two passes racing from the same fence write', async () => {
      const p = { index: 1, count: 4 };
      const a1 = alert({ patientId: 'p-race', ruleId: 'spo2-low' });
      const a2 = alert({ patientId: 'p-race', ruleId: 'hr-high' });
      const results = await Promise.allSettled([
        store.applyEvaluation(write({ cursor: 10, partition: p, fence: 0, created: [a1], events: [event(a1, 'raised', null)] })),
        store.applyEvaluation(write({ cursor: 10, partition: p, fence: 0, created: [a2], events: [event(a2, 'raised', null)] })),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const written = [await store.getAlert(a1.id), await store.getAlert(a2.id)].filter((x) => x !== undefined);
      expect(written).toHaveLength(1);
      expect(await store.evaluationCursor(p)).toBe(10);
    });

    it('never moves the cursor backwards', async () => {
      await store.applyEvaluation(write({ cursor: 50 }));
      await store.applyEvaluation(write({ cursor: 20 }));
      expect(await store.evaluationCursor()).toBe(50);
    });

    it('keeps at most one unresolved alert per patient and rule; a resolved one makes room and is found as the last resolved', async () => {
      const first = await raise(alert({ patientId: 'p-u', ruleId: 'spo2-low' }));
      expect((await store.unresolvedAlert('p-u', 'spo2-low'))?.id).toBe(first.id);
      await expect(raise(alert({ patientId: 'p-u', ruleId: 'spo2-low' }))).rejects.toBeDefined();
      // Another patient, or another rule, is a different pair.
      await raise(alert({ patientId: 'p-v', ruleId: 'spo2-low' }));
      await raise(alert({ patientId: 'p-u', ruleId: 'hr-high' }));

      expect(await store.lastResolvedAlert('p-u', 'spo2-low')).toBeUndefined();
      const resolved = transition(first, { status: 'resolved', resolvedBy: 'staff:n-1', resolvedAtMs: 5_000, outcome: 'contacted-patient', note: 'called' }, 5_000);
      expect(await store.saveTransition(resolved, first.version, event(resolved, 'resolve', 'open', { actor: 'staff:n-1', note: 'called' }))).toBe(true);
      expect(await store.unresolvedAlert('p-u', 'spo2-low')).toBeUndefined();
      expect(await store.lastResolvedAlert('p-u', 'spo2-low')).toEqual(resolved);

      const second = await raise(alert({ patientId: 'p-u', ruleId: 'spo2-low', createdAtMs: 6_000 }));
      expect((await store.unresolvedAlert('p-u', 'spo2-low'))?.id).toBe(second.id);
      const resolvedAgain = transition(second, { status: 'resolved', resolvedAtMs: 7_000, outcome: 'auto-resolved' }, 7_000);
      await store.applyEvaluation(write({ updated: [resolvedAgain], events: [event(resolvedAgain, 'auto-resolved', 'open')] }));
      expect((await store.lastResolvedAlert('p-u', 'spo2-low'))?.id).toBe(second.id);
    });

    it('writes a transition only at the expected version: of two racing nurses exactly one wins', async () => {
      const a = await raise(alert());
      const claimBy = (who: string): Alert => transition(a, { status: 'claimed', claimedBy: who, claimedAtMs: 3_000 }, 3_000);
      const results = await Promise.all(
        ['staff:ann', 'staff:amy', 'staff:bob'].map((who) => store.saveTransition(claimBy(who), a.version, event(claimBy(who), 'claim', 'open', { actor: who }))),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = ['staff:ann', 'staff:amy', 'staff:bob'][results.indexOf(true)];
      const stored = await store.getAlert(a.id);
      expect(stored).toMatchObject({ status: 'claimed', claimedBy: winner, version: 2 });
      // Only the winner's event was written.
      expect((await store.events(a.id)).map((e) => [e.version, e.action, e.actor])).toEqual([
        [1, 'raised', 'engine'],
        [2, 'claim', winner],
      ]);
      // A stale version writes nothing.
      const stale = transition(a, { status: 'acknowledged' }, 4_000);
      expect(await store.saveTransition(stale, a.version, event(stale, 'acknowledge', 'open'))).toBe(false);
      expect(await store.getAlert(a.id)).toEqual(stored);
      const ack = transition(stored as Alert, { status: 'acknowledged', acknowledgedBy: winner ?? null, acknowledgedAtMs: 4_000 }, 4_000);
      expect(await store.saveTransition(ack, 2, event(ack, 'acknowledge', 'claimed'))).toBe(true);
      expect((await store.events(a.id)).map((e) => e.version)).toEqual([1, 2, 3]);
    });

    it('lists unresolved alerts by organization and by patients, and a patient’s alerts newest first', async () => {
      const a1 = await raise(alert({ organizationId: 'org-a', patientId: 'pa-1', createdAtMs: 1_000 }));
      const a2 = await raise(alert({ organizationId: 'org-a', patientId: 'pa-2', createdAtMs: 2_000 }));
      const b1 = await raise(alert({ organizationId: 'org-b', patientId: 'pb-1', createdAtMs: 3_000 }));
      const a1b = await raise(alert({ organizationId: 'org-a', patientId: 'pa-1', createdAtMs: 4_000 }));
      const done = transition(a1, { status: 'resolved', resolvedAtMs: 5_000, outcome: 'false-alarm' }, 5_000);
      await store.saveTransition(done, 1, event(done, 'resolve', 'open'));

      const ids = (alerts: Alert[]): string[] => alerts.map((x) => x.id).sort();
      expect(ids(await store.unresolvedAlerts({ organizationId: 'org-a' }))).toEqual([a1b.id, a2.id].sort());
      expect(ids(await store.unresolvedAlerts({ organizationId: 'org-b' }))).toEqual([b1.id]);
      expect(ids(await store.unresolvedAlerts({ patientIds: ['pa-1', 'pb-1'] }))).toEqual([a1b.id, b1.id].sort());
      expect(ids(await store.unresolvedAlerts({ organizationId: 'org-a', patientIds: ['pb-1'] }))).toEqual([]);
      expect(await store.unresolvedAlerts({ patientIds: [] })).toEqual([]);
      expect(ids(await store.unresolvedAlerts({}))).toEqual([a1b.id, a2.id, b1.id].sort());

      expect((await store.alertsOfPatient('pa-1', { includeResolved: true, limit: 10 })).map((x) => x.id)).toEqual([a1b.id, a1.id]);
      expect((await store.alertsOfPatient('pa-1', { includeResolved: false, limit: 10 })).map((x) => x.id)).toEqual([a1b.id]);
      expect((await store.alertsOfPatient('pa-1', { includeResolved: true, limit: 1 })).map((x) => x.id)).toEqual([a1b.id]);
    });

    it('answers the clock-driven lists: due for escalation, waiting for a repeat reading, snoozes that ended', async () => {
      const due = await raise(alert({ slaDueAtMs: 1_000 }));
      const claimedDue = await raise(alert({ status: 'claimed', claimedBy: 'staff:n', slaDueAtMs: 1_000 }));
      await raise(alert({ status: 'acknowledged', slaDueAtMs: 1_000 }));
      await raise(alert({ slaDueAtMs: 9_000 }));
      const snoozed = await raise(alert({ slaDueAtMs: 1_000, snoozedUntilMs: 8_000 }));
      // Escalated at its deadline: not due again until the deadline moves past the escalation.
      await raise(alert({ slaDueAtMs: 1_000, escalatedAtMs: 1_500, escalationLevel: 1 }));
      const resolved = await raise(alert({ slaDueAtMs: 1_000 }));
      const gone = transition(resolved, { status: 'resolved', resolvedAtMs: 1_100, outcome: 'other' }, 1_100);
      await store.saveTransition(gone, 1, event(gone, 'resolve', 'open'));

      expect((await store.dueForEscalation(5_000)).map((a) => a.id).sort()).toEqual([due.id, claimedDue.id].sort());
      expect((await store.dueForEscalation(8_000)).map((a) => a.id).sort()).toEqual([due.id, claimedDue.id, snoozed.id].sort());
      expect(await store.dueForEscalation(500)).toEqual([]);

      expect((await store.snoozesEnded(7_999)).map((a) => a.id)).toEqual([]);
      expect((await store.snoozesEnded(8_000)).map((a) => a.id)).toEqual([snoozed.id]);

      const waiting = await raise(alert({ confirmation: 'pending' }));
      await raise(alert({ confirmation: 'confirmed' }));
      const waitingResolved = await raise(alert({ confirmation: 'pending' }));
      const closed = transition(waitingResolved, { status: 'resolved', resolvedAtMs: 2_000, outcome: 'other' }, 2_000);
      await store.saveTransition(closed, 1, event(closed, 'resolve', 'open'));
      expect((await store.pendingConfirmations()).map((a) => a.id)).toEqual([waiting.id]);
    });

    it('versions care plans: every save is a new version, a stale expected version fails, null skips the check', async () => {
      expect(await store.carePlan('p-c')).toBeUndefined();
      const v1 = await store.saveCarePlan('p-c', { programs: ['general'], riskTier: 2 }, null, 'staff:n-1', 100);
      expect(v1).toEqual({ patientId: 'p-c', version: 1, plan: { programs: ['general'], riskTier: 2 }, savedBy: 'staff:n-1', savedAtMs: 100 });
      const v2 = await store.saveCarePlan('p-c', { programs: ['general', 'hypertension'], riskTier: 3 }, 1, 'staff:n-2', 200);
      expect(v2.version).toBe(2);
      await expect(store.saveCarePlan('p-c', { programs: [] }, 1, 'staff:n-3', 300)).rejects.toMatchObject({ code: 'RPM_ERR_CARE_PLAN_VERSION_CONFLICT' });
      expect(await store.carePlan('p-c')).toEqual(v2);
      expect((await store.carePlanHistory('p-c')).map((p) => [p.version, p.savedBy])).toEqual([
        [1, 'staff:n-1'],
        [2, 'staff:n-2'],
      ]);
      expect((await store.saveCarePlan('p-c', { programs: ['copd'] }, null, 'admin', 400)).version).toBe(3);

      // Two nurses saving over the same version at once: one wins, the other is told.
      await store.saveCarePlan('p-d', { programs: ['general'] }, null, 'admin', 1);
      const racing = await Promise.allSettled([
        store.saveCarePlan('p-d', { programs: ['a'] }, 1, 'staff:ann', 2),
        store.saveCarePlan('p-d', { programs: ['b'] }, 1, 'staff:amy', 2),
      ]);
      expect(racing.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      const lost = racing.find((r) => r.status === 'rejected');
      expect(lost?.status === 'rejected' ? lost.reason : undefined).toMatchObject({ code: 'RPM_ERR_CARE_PLAN_VERSION_CONFLICT' });
      expect((await store.carePlanHistory('p-d')).map((p) => p.version)).toEqual([1, 2]);
      expect((await store.carePlanPatients()).sort()).toEqual(['p-c', 'p-d']);
    });

    it('keeps the time log: one running timer per staff member, stops never before the start, with the reason', async () => {
      const entry = (id: string, overrides: Partial<NewTimeEntry> = {}): NewTimeEntry => ({
        id,
        organizationId: 'org-1',
        patientId: 'p-t',
        staffId: 'n-1',
        startedAtMs: 10_000,
        interactive: false,
        modality: null,
        note: null,
        source: 'timer',
        ...overrides,
      });
      expect(await store.startTime(entry('t-1', { interactive: true, modality: 'video', note: 'call' }))).toEqual({
        ...entry('t-1', { interactive: true, modality: 'video', note: 'call' }),
        endedAtMs: null,
        stopReason: null,
      });
      await expect(store.startTime(entry('t-2', { patientId: 'p-other' }))).rejects.toMatchObject({ code: 'RPM_ERR_TIME_ENTRY_RUNNING' });
      // Another staff member's timer is hers alone.
      await store.startTime(entry('t-3', { staffId: 'n-2', startedAtMs: 11_000 }));
      // Two starts at once (two tabs): one timer runs, the other start is refused.
      const racing = await Promise.allSettled([
        store.startTime(entry('t-6', { staffId: 'n-3', patientId: 'p-race' })),
        store.startTime(entry('t-7', { staffId: 'n-3', patientId: 'p-race' })),
      ]);
      expect(racing.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect(await store.timeEntries({ staffId: 'n-3', running: true })).toHaveLength(1);

      expect(await store.timeEntries({ running: true })).toHaveLength(3);
      // Stopped "before" it started (a clock step): it ends at its start, never with negative time.
      expect(await store.stopTime('t-1', 9_000)).toMatchObject({ id: 't-1', endedAtMs: 10_000, stopReason: 'stopped' });
      // Stopping twice changes nothing.
      expect(await store.stopTime('t-1', 20_000, 'signed-out')).toMatchObject({ endedAtMs: 10_000, stopReason: 'stopped' });
      expect(await store.stopTime('t-3', 15_000, 'session-expired')).toMatchObject({ endedAtMs: 15_000, stopReason: 'session-expired' });
      expect(await store.stopTime('ghost', 1)).toBeUndefined();

      // Once stopped, a new timer may start.
      await store.startTime(entry('t-4', { startedAtMs: 30_000 }));
      const manual = await store.addTime({ ...entry('t-5', { source: 'manual', startedAtMs: 5_000, note: 'chart review' }), endedAtMs: 8_000 });
      expect(manual).toMatchObject({ endedAtMs: 8_000, stopReason: null, source: 'manual', modality: null });
      expect((await store.timeEntries({ staffId: 'n-1' })).find((e) => e.id === 't-1')?.modality).toBe('video');

      expect((await store.timeEntries({ patientId: 'p-t' })).map((e) => e.id)).toEqual(['t-5', 't-1', 't-3', 't-4']);
      expect((await store.timeEntries({ staffId: 'n-1' })).map((e) => e.id)).toEqual(['t-5', 't-1', 't-4']);
      expect((await store.timeEntries({ staffId: 'n-1', running: true })).map((e) => e.id)).toEqual(['t-4']);
      expect((await store.timeEntries({ running: false })).map((e) => e.id)).toEqual(['t-5', 't-1', 't-3']);
      expect((await store.timeEntries({ patientId: 'p-t', fromMs: 10_000, toMs: 30_000 })).map((e) => e.id)).toEqual(['t-1', 't-3']);
    });

    it('records every time-entry modality (one list with video visits) and refuses any other value', async () => {
      const entry = (id: string, modality: unknown): NewTimeEntry & { endedAtMs: number } => ({
        id,
        organizationId: 'org-1',
        patientId: 'p-m',
        staffId: 'n-9',
        startedAtMs: 1_000,
        endedAtMs: 2_000,
        interactive: true,
        modality: modality as NewTimeEntry['modality'],
        note: null,
        source: 'manual',
      });
      for (const [i, modality] of TIME_MODALITIES.entries()) expect((await store.addTime(entry(`t-m${i}`, modality))).modality).toBe(modality);
      await expect(store.addTime(entry('t-bad', 'audio-video'))).rejects.toThrow();
      expect((await store.timeEntries({ staffId: 'n-9' })).map((e) => e.modality).sort()).toEqual([...TIME_MODALITIES].sort());
    });

    it('keeps the notification outbox: pending oldest first, failed attempts stay pending and counted, sent and failed leave it', async () => {
      for (const [id, at] of [
        ['sms-2', 2_000],
        ['sms-1', 1_000],
        ['sms-3', 3_000],
      ] as const) {
        await store.enqueueNotification({ id, alertId: 'al-x', channel: 'sms', recipientStaffId: 'n-1', body: 'An alert waits in the worklist', createdAtMs: at });
      }
      expect((await store.pendingNotifications(10)).map((x) => [x.id, x.status, x.attempts])).toEqual([
        ['sms-1', 'pending', 0],
        ['sms-2', 'pending', 0],
        ['sms-3', 'pending', 0],
      ]);
      expect(await store.pendingNotifications(1)).toEqual([
        { id: 'sms-1', alertId: 'al-x', channel: 'sms', recipientStaffId: 'n-1', body: 'An alert waits in the worklist', createdAtMs: 1_000, status: 'pending', attempts: 0 },
      ]);
      await store.markNotification('sms-1', 'pending', 4_000, 'provider answered 503');
      await store.markNotification('sms-2', 'sent', 4_000, null);
      await store.markNotification('sms-3', 'failed', 4_000, 'recipient has no phone number');
      expect((await store.pendingNotifications(10)).map((x) => [x.id, x.attempts])).toEqual([['sms-1', 1]]);
    });
  });
}
