/**
 * How long the roster and the monthly billing report take for one organization's panel, on the
 * embedded store: `node --import tsx benchmarks/panel/roster-bench.ts [patients] [readingsPerPatient]`.
 * Each patient has a cuff with a reading a day for the last 40 days and a time entry; the
 * roster is read as a physician (whole organization). Run once, briefly (shared machine).
 */
import { request, startTestGateway } from '../../test/helpers/gateway.js';

const patients = Number(process.argv[2] ?? 300);
const perPatient = Number(process.argv[3] ?? 40);
const DAY = 86_400_000;
const t = await startTestGateway();
try {
  await t.admin.createOrganization('org-a');
  await t.admin.createStaff({ email: 'dr@a.example', role: 'physician', organizationId: 'org-a' });
  const token = await t.admin.login('dr@a.example');
  const now = Date.now();
  for (let i = 0; i < patients; i++) {
    const id = `p-${String(i).padStart(4, '0')}`;
    await t.admin.createPatient(id, { organizationId: 'org-a' });
    const secret = await t.admin.createDevice({ id: `cuff-${i}`, kind: 'bp-cuff', patientId: id, assignedFrom: new Date(now - 45 * DAY).toISOString() });
    const readings = Array.from({ length: perPatient }, (_, d) => ({ kind: 'blood-pressure', systolic: 120 + (d % 7), diastolic: 78, unit: 'mmHg', measuredAt: new Date(now - (d + 1) * DAY + i * 1000).toISOString() }));
    await request(`${t.baseUrl}/v1/readings`, { token: secret, json: { readings } });
    await request(`${t.baseUrl}/v1/patients/${id}/time`, { token, json: { startedAt: new Date(now - 3 * DAY).toISOString(), minutes: 12, interactive: true } });
  }
  await t.gw.ctx.alerting?.drain();
  const time = async (label: string, path: string): Promise<void> => {
    const runs: number[] = [];
    for (let r = 0; r < 3; r++) {
      const started = performance.now();
      const res = await request(`${t.baseUrl}${path}`, { token });
      runs.push(performance.now() - started);
      if (res.status !== 200) throw new Error(`${label}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
    }
    console.log(`${label}: ${runs.map((ms) => `${ms.toFixed(0)} ms`).join(', ')} (${patients} patients × ${perPatient} readings)`);
  };
  await time('GET /v1/roster', '/v1/roster');
  const month = new Date(now - 15 * DAY).toISOString().slice(0, 7);
  await time(`GET /v1/billing/report?month=${month}`, `/v1/billing/report?month=${month}`);
} finally {
  await t.close();
}
