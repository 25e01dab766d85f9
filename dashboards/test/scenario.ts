import type { Page } from 'playwright-core';
import { request, STAFF_PASSWORD, type TestGateway } from '../../test/helpers/gateway.js';
import { bpHistory, createNurse, enrolPatient, isoAgo, type Nurse, postReadings } from './seed.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

export interface Ward {
  readonly ann: Nurse;
  readonly marcus: Nurse;
  /** The patient with a month of charts (home and clinic), an open critical alert and a resolved one. */
  readonly featured: string;
}

/**
 * A realistic ward for the screenshots: one organization, two nurses, eight patients with
 * different programs and alerts, one of them with 30 days of home and clinic readings, all
 * through the public APIs and the rules engine.
 */
export async function seedWard(t: TestGateway): Promise<Ward> {
  await t.admin.createOrganization('riverside', 'Riverside Clinic');
  const ann = await createNurse(t, 'riverside', 'ann.rivera@riverside.example', 'Ann Rivera');
  const marcus = await createNurse(t, 'riverside', 'marcus.lee@riverside.example', 'Marcus Lee');
  const org = 'riverside';

  // The featured patient: a month of BP (every 6th in clinic) and SpO2; an old severe episode a nurse resolved.
  const featured = 'pt-1042';
  const cuff = await enrolPatient(t, ann, { id: featured, organizationId: org, programs: ['general', 'hypertension'], riskTier: 2 }, { id: 'cuff-1042', kind: 'bp-cuff', manufacturer: 'Omron', model: 'BP7450' });
  const oxRes = await t.admin.post('/v1/admin/devices', { id: 'ox-1042', kind: 'pulse-oximeter', patientId: featured, manufacturer: 'Masimo', model: 'MightySat' });
  const ox = (oxRes.body as { secret: string }).secret;
  const history = bpHistory(150, 30, { clinicEvery: 6, base: [136, 84] });
  history.splice(60, 0, { kind: 'blood-pressure', systolic: 184, diastolic: 104, unit: 'mmHg', measuredAt: isoAgo(17 * DAY) }, { kind: 'blood-pressure', systolic: 181, diastolic: 101, unit: 'mmHg', measuredAt: isoAgo(17 * DAY - 8 * MIN) });
  await postReadings(t, cuff, history);
  await postReadings(
    t,
    ox,
    Array.from({ length: 60 }, (_, i) => ({ kind: 'spo2', value: 95 + Math.round(Math.sin(i / 4) * 1.5), pulse: 72 + (i % 5), unit: '%', measuredAt: isoAgo(30 * DAY - i * 12 * HOUR) })),
  );
  await t.gw.ctx.alerting!.drain();
  const old = await openAlerts(t, ann, featured);
  for (const a of old) {
    await act(t, ann, a.id, 'claim', { version: a.version });
    const severe = a.rule === 'bp-severe';
    await act(t, ann, a.id, 'resolve', {
      outcome: severe ? 'contacted-patient' : 'care-plan-changed',
      note: severe
        ? 'Called the patient: had missed two doses of amlodipine. Took them with me on the phone; recheck in 1 h was 148/92.'
        : 'Reviewed with Dr. Patel: amlodipine increased to 10 mg daily. Home readings to continue twice a day.',
    });
  }
  await postReadings(t, cuff, [
    { kind: 'blood-pressure', systolic: 186, diastolic: 102, pulse: 88, unit: 'mmHg', measuredAt: isoAgo(22 * MIN) },
    { kind: 'blood-pressure', systolic: 192, diastolic: 108, pulse: 91, unit: 'mmHg', measuredAt: isoAgo(14 * MIN) },
  ]);

  // The rest of the ward, one breach each.
  const others: [string, string[], string, Record<string, unknown>[]][] = [
    ['pt-2210', ['general', 'copd'], 'pulse-oximeter', [{ kind: 'spo2', value: 86, unit: '%', measuredAt: isoAgo(41 * MIN) }]],
    ['pt-0877', ['general', 'heart-failure'], 'scale', [
      { kind: 'body-weight', value: 80.1, unit: 'kg', measuredAt: isoAgo(25 * HOUR) },
      { kind: 'body-weight', value: 81.3, unit: 'kg', measuredAt: isoAgo(70 * MIN) },
    ]],
    ['pt-3391', ['general', 'diabetes'], 'glucometer', [{ kind: 'blood-glucose', value: 52, unit: 'mg/dL', measuredAt: isoAgo(9 * MIN) }]],
    ['pt-1555', ['general'], 'thermometer', [{ kind: 'body-temperature', value: 38.6, unit: 'Cel', measuredAt: isoAgo(2 * HOUR) }]],
    ['pt-4410', ['general'], 'pulse-oximeter', [{ kind: 'spo2', value: 96, pulse: 134, unit: '%', measuredAt: isoAgo(33 * MIN) }, { kind: 'heart-rate', value: 134, unit: 'bpm', measuredAt: isoAgo(33 * MIN) }]],
    ['pt-0420', ['general', 'diabetes'], 'glucometer', [{ kind: 'blood-glucose', value: 286, unit: 'mg/dL', measuredAt: isoAgo(3 * HOUR) }]],
    ['pt-5120', ['general', 'hypertension'], 'bp-cuff', [{ kind: 'blood-pressure', systolic: 84, diastolic: 52, unit: 'mmHg', measuredAt: isoAgo(55 * MIN) }]],
  ];
  for (const [id, programs, kind, readings] of others) {
    const secret = await enrolPatient(t, ann, { id, organizationId: org, programs }, { id: `${kind}-${id}`, kind });
    await postReadings(t, secret, readings);
  }
  await t.gw.ctx.alerting!.drain();

  // Some alerts already in hand: Marcus holds one, Ann acknowledged another.
  const [low] = await openAlerts(t, marcus, 'pt-5120');
  if (low !== undefined) await act(t, marcus, low.id, 'claim', { version: low.version });
  const [fever] = await openAlerts(t, ann, 'pt-1555');
  if (fever !== undefined) await act(t, ann, fever.id, 'acknowledge', { version: fever.version });

  // Time already logged this month.
  await request(`${t.baseUrl}/v1/patients/${featured}/time`, { token: ann.token, method: 'POST', json: { startedAt: isoAgo(40 * MIN), minutes: 14, interactive: true, note: 'Medication review call' } });
  return { ann, marcus, featured };
}

async function openAlerts(t: TestGateway, nurse: Nurse, patientId: string): Promise<{ id: string; version: number; rule: string }[]> {
  const res = await request<{ alerts: { id: string; version: number; rule: string }[] }>(`${t.baseUrl}/v1/patients/${patientId}/alerts`, { token: nurse.token });
  return res.body.alerts;
}

async function act(t: TestGateway, nurse: Nurse, alertId: string, action: string, body: Record<string, unknown>): Promise<void> {
  const res = await request(`${t.baseUrl}/v1/alerts/${alertId}/${action}`, { token: nurse.token, method: 'POST', json: body });
  if (res.status !== 200) throw new Error(`${action} ${alertId}: ${res.status} ${JSON.stringify(res.body)}`);
}

/** Signs in through the login form, as a nurse would. */
export async function signIn(page: Page, baseUrl: string, email: string, password = STAFF_PASSWORD): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Worklist' }).waitFor();
}
