import { request, type TestGateway } from '../../test/helpers/gateway.js';

/** Builds scenarios through the gateway's public APIs only (admin API, staff API, device ingest): no database access. */

export interface Nurse {
  readonly id: string;
  readonly email: string;
  readonly token: string;
}

export async function createNurse(t: TestGateway, organizationId: string, email: string, displayName: string): Promise<Nurse> {
  const staff = await t.admin.createStaff({ email, role: 'nurse', organizationId, displayName });
  return { id: staff.id, email, token: await t.admin.login(email) };
}

/** A patient enrolled in programs by a nurse of the organization, with one device; answers the device secret. */
export async function enrolPatient(
  t: TestGateway,
  nurse: Nurse,
  patient: { id: string; organizationId: string; programs: string[]; riskTier?: number },
  device: { id: string; kind: string; manufacturer?: string; model?: string },
): Promise<string> {
  await t.admin.createPatient(patient.id, { organizationId: patient.organizationId });
  const plan = await request(`${t.baseUrl}/v1/patients/${patient.id}/care-plan`, {
    token: nurse.token,
    method: 'PUT',
    json: { programs: patient.programs, riskTier: patient.riskTier ?? 1 },
  });
  if (plan.status !== 200) throw new Error(`care plan ${patient.id}: ${plan.status} ${JSON.stringify(plan.body)}`);
  const res = await t.admin.post('/v1/admin/devices', { id: device.id, kind: device.kind, patientId: patient.id, ...(device.manufacturer === undefined ? {} : { manufacturer: device.manufacturer, model: device.model }) });
  if (res.status !== 201) throw new Error(`device ${device.id}: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { secret: string }).secret;
}

/** Device ingest over HTTP (up to 1000 readings a request); fails unless every reading was accepted. */
export async function postReadings(t: TestGateway, secret: string, readings: readonly Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < readings.length; i += 1000) {
    const res = await request<{ outcomes: { status: string; message?: string }[] }>(`${t.baseUrl}/v1/readings`, { token: secret, json: { readings: readings.slice(i, i + 1000) } });
    if (res.status !== 202) throw new Error(`ingest: ${res.status} ${JSON.stringify(res.body)}`);
    const refused = res.body.outcomes.filter((o) => o.status === 'rejected');
    if (refused.length > 0) throw new Error(`ingest rejected ${refused.length}: ${refused[0]?.message}`);
  }
}

export const isoAgo = (ms: number): string => new Date(Date.now() - ms).toISOString();

/** A plausible home/clinic blood-pressure history: `count` readings spread over `days`, every `clinicEvery`-th in clinic. */
export function bpHistory(count: number, days: number, options: { clinicEvery?: number; base?: [number, number] } = {}): Record<string, unknown>[] {
  const [sys, dia] = options.base ?? [122, 78];
  const span = days * 86_400_000;
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const ageMs = span - (i * span) / count + 3_600_000;
    // A daily rhythm plus a slow drift: looks like a real chart, stays below every alert limit.
    const wave = Math.sin(i / 3) * 6 + Math.sin(i / 17) * 4;
    const clinic = options.clinicEvery !== undefined && i % options.clinicEvery === options.clinicEvery - 1;
    out.push({
      kind: 'blood-pressure',
      systolic: Math.round(sys + wave - 6),
      diastolic: Math.round(dia + wave / 2 - 4),
      pulse: Math.round(70 + wave),
      unit: 'mmHg',
      measuredAt: isoAgo(ageMs),
      // The cuff's battery runs down over the weeks shown.
      batteryPercent: Math.max(5, Math.round(95 - (i * 60) / count)),
      ...(clinic ? { setting: 'clinic' } : {}),
    });
  }
  return out;
}
