import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isoMinutesAgo, request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';

/**
 * A device often measures before it is assigned (shipped to the patient, enrolment finished
 * later). Those readings are kept unassigned; once the assignment covers them they belong to the
 * patient, and the rules must judge them then: a severe reading must not stay silent.
 */
describe('Readings attributed by a later assignment are evaluated by the rules', () => {
  let t: TestGateway;
  let nurse: string;
  let cuff: string;

  beforeAll(async () => {
    t = await startTestGateway();
    await t.admin.createOrganization('org-a');
    await t.admin.createStaff({ email: 'ann@a.example', role: 'nurse', organizationId: 'org-a' });
    nurse = await t.admin.login('ann@a.example');
    await t.admin.createPatient('pa-late', { organizationId: 'org-a' });
    const plan = await request(`${t.baseUrl}/v1/patients/pa-late/care-plan`, { token: nurse, method: 'PUT', json: { programs: ['general', 'hypertension'] } });
    expect(plan.status).toBe(200);
    cuff = await t.admin.createDevice({ id: 'cuff-late', kind: 'bp-cuff' });
  });
  afterAll(async () => t.close());

  const post = (readings: unknown[]) => request(`${t.baseUrl}/v1/readings`, { token: cuff, json: { readings } });
  const worklist = async () => (await request(`${t.baseUrl}/v1/worklist`, { token: nurse })).body;

  it('raises the alert the readings deserve, stamped with their measurement time, when the assignment arrives', async () => {
    const first = isoMinutesAgo(40);
    const res = await post([
      { id: 'late-1', kind: 'blood-pressure', systolic: 186, diastolic: 100, unit: 'mmHg', measuredAt: first },
      { id: 'late-2', kind: 'blood-pressure', systolic: 190, diastolic: 104, unit: 'mmHg', measuredAt: isoMinutesAgo(35) },
    ]);
    expect(res.body.accepted).toBe(2);
    await t.gw.ctx.alerting!.drain();
    // No patient yet: nothing to alert anyone about.
    expect((await worklist()).patients).toEqual([]);

    const assigned = await t.admin.post('/v1/admin/devices/cuff-late/assignments', { patientId: 'pa-late', from: isoMinutesAgo(60) });
    expect(assigned.status).toBe(201);
    expect(assigned.body.attributedReadings).toBe(2);

    // Evaluated before the assignment was answered: the alert is on the worklist already.
    const rows = (await worklist()).patients;
    expect(rows).toHaveLength(1);
    expect(rows[0].patientId).toBe('pa-late');
    expect(rows[0].alerts).toHaveLength(1);
    // The repeat within 15 minutes confirms it, as if the readings had come in live.
    expect(rows[0].alerts[0]).toMatchObject({ rule: 'bp-severe', severity: 'critical', status: 'open', confirmation: 'confirmed' });
    expect(Date.parse(rows[0].alerts[0].measuredAt)).toBeGreaterThanOrEqual(Date.parse(first));
  });

  it('does not evaluate them a second time when more readings follow', async () => {
    const before = (await worklist()).patients[0].alerts[0];
    expect((await post([{ id: 'late-3', kind: 'blood-pressure', systolic: 188, diastolic: 101, unit: 'mmHg', measuredAt: isoMinutesAgo(2) }])).body.accepted).toBe(1);
    await t.gw.ctx.alerting!.drain();
    const rows = (await worklist()).patients;
    expect(rows).toHaveLength(1);
    expect(rows[0].alerts).toHaveLength(1);
    expect(rows[0].alerts[0].id).toBe(before.id);
    const history = await request(`${t.baseUrl}/v1/alerts/${before.id}`, { token: nurse });
    expect(history.status).toBe(200);
    // One "raised" event: the attributed readings opened it once, nothing replayed it.
    const events = history.body.history as { action: string }[];
    expect(events.filter((e) => e.action === 'raised')).toHaveLength(1);
  });
});
