import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ManualClock } from './helpers/clock.js';
import { request, startTestGateway, type TestGateway } from './helpers/gateway.js';

/**
 * Golden scenarios (test/golden/*.json, format in test/golden/README.md): each file is one
 * patient's timeline, replayed through the real gateway — HTTP ingest, SQLite, the rules engine
 * — and compared with the alerts a nurse of the patient's organization reads back.
 */

const GOLDEN_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden');

const offset = z.string().regex(/^(0|-?(\d+d)?(\d+h)?(\d+m)?(\d+s)?)$/, 'an offset like -72h, -30m, -6d1h or 0');
const severity = z.enum(['low', 'medium', 'high', 'critical']);

const readingStep = z
  .object({
    at: offset,
    kind: z.string(),
    value: z.number().optional(),
    systolic: z.number().optional(),
    diastolic: z.number().optional(),
    pulse: z.number().optional(),
    unit: z.string().optional(),
    device: z.string().optional(),
    batch: z.number().int().optional(),
  })
  .strict();
const assignStep = z.object({ action: z.literal('assign'), device: z.string(), from: offset }).strict();
const expectedAlert = z
  .object({
    rule: z.string(),
    severity,
    status: z.enum(['open', 'claimed', 'acknowledged', 'resolved']),
    measuredAt: offset,
    outcome: z.string().nullable().optional(),
    confirmation: z.enum(['pending', 'confirmed']).nullable().optional(),
    inRange: z.boolean().optional(),
    flapping: z.boolean().optional(),
    worsening: z.boolean().optional(),
    value: z.number().nullable().optional(),
    detail: z.string().optional(),
    titleContains: z.string().optional(),
    not: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

const scenarioSchema = z
  .object({
    description: z.string().min(1),
    carePlan: z.record(z.string(), z.unknown()).optional(),
    devices: z
      .array(z.object({ id: z.string(), kind: z.string(), hub: z.string().optional(), assigned: z.boolean().default(true) }).strict())
      .default([{ id: 'dev', kind: 'multi-parameter', assigned: true }]),
    readings: z.array(z.union([readingStep, assignStep])).min(1),
    expect: z.object({ alerts: z.array(expectedAlert), absent: z.array(z.string()).default([]) }).strict(),
  })
  .strict();
type Scenario = z.infer<typeof scenarioSchema>;
type ReadingStep = z.infer<typeof readingStep>;

const UNITS: Record<string, string> = {
  'blood-pressure': 'mmHg',
  spo2: '%',
  'body-weight': 'kg',
  'heart-rate': '/min',
  'respiratory-rate': '/min',
  'body-temperature': 'Cel',
  'blood-glucose': 'mg/dL',
};

/** "-6d1h" → milliseconds (negative = before now). */
function offsetMs(text: string): number {
  if (text === '0') return 0;
  const sign = text.startsWith('-') ? -1 : 1;
  const unit: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
  let ms = 0;
  for (const [, n, u] of text.matchAll(/(\d+)([dhms])/g)) ms += Number(n) * (unit[u as string] as number);
  return sign * ms;
}

/** Milliseconds → "-6d1h", for readable failures. */
function formatOffset(ms: number): string {
  if (ms === 0) return '0';
  let rest = Math.abs(ms);
  let out = ms < 0 ? '-' : '+';
  for (const [u, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${u}`;
    rest -= n * size;
  }
  return rest === 0 ? out : `${out}${rest}ms`;
}

const files = readdirSync(GOLDEN_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

describe('golden scenarios through the running gateway', () => {
  // Whole seconds, so measurement times survive the ISO round trip exactly.
  const now = Math.floor(Date.now() / 1000) * 1000;
  const clock = new ManualClock(now);
  let t: TestGateway;
  let nurse: string;

  beforeAll(async () => {
    t = await startTestGateway({}, { clock });
    await t.admin.createOrganization('golden-org');
    await t.admin.createStaff({ email: 'nina@golden.example', role: 'nurse', organizationId: 'golden-org' });
    nurse = await t.admin.login('nina@golden.example');
  });
  afterAll(async () => t?.close());

  it('has the scenarios the rules engine is held to', () => {
    expect(files.length).toBeGreaterThanOrEqual(18);
  });

  for (const file of files) {
    it(file.replace(/\.json$/, ''), async () => {
      const scenario: Scenario = scenarioSchema.parse(JSON.parse(readFileSync(path.join(GOLDEN_DIR, file), 'utf8')));
      const name = file.replace(/\.json$/, '');
      const patientId = `g-${name}`;
      await t.admin.createPatient(patientId, { organizationId: 'golden-org' });

      // Devices: ids are prefixed with the scenario so scenarios never share one.
      const secrets = new Map<string, string>();
      const hubOf = new Map<string, string>();
      const devId = (local: string): string => `${name}-${local}`;
      const assignedFrom = new Date(now - 30 * 86_400_000).toISOString();
      for (const d of scenario.devices) {
        const secret = await t.admin.createDevice({
          id: devId(d.id),
          kind: d.kind,
          ...(d.hub === undefined ? {} : { hubId: devId(d.hub) }),
          ...(d.assigned && d.kind !== 'hub' ? { patientId, assignedFrom } : {}),
        });
        secrets.set(d.id, secret);
        if (d.hub !== undefined) hubOf.set(d.id, d.hub);
      }
      const defaultDevice = scenario.devices.find((d) => d.kind !== 'hub')?.id ?? 'dev';

      if (scenario.carePlan !== undefined) {
        const res = await request(`${t.baseUrl}/v1/patients/${patientId}/care-plan`, { token: nurse, method: 'PUT', json: scenario.carePlan });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
      }

      // Requests in file order: an unbatched reading alone, a batch where its first reading appears.
      type Request = { kind: 'post'; sender: string; readings: ReadingStep[] } | { kind: 'assign'; device: string; from: string };
      const requests: Request[] = [];
      const batches = new Map<number, Request & { kind: 'post' }>();
      for (const step of scenario.readings) {
        if ('action' in step) {
          requests.push({ kind: 'assign', device: step.device, from: step.from });
          continue;
        }
        const device = step.device ?? defaultDevice;
        const sender = hubOf.get(device) ?? device;
        if (step.batch === undefined) {
          requests.push({ kind: 'post', sender, readings: [step] });
          continue;
        }
        let batch = batches.get(step.batch);
        if (batch === undefined) {
          batch = { kind: 'post', sender, readings: [] };
          batches.set(step.batch, batch);
          requests.push(batch);
        }
        expect(batch.sender, `batch ${step.batch} mixes senders`).toBe(sender);
        batch.readings.push(step);
      }

      let n = 0;
      for (const req of requests) {
        if (req.kind === 'assign') {
          const res = await t.admin.post(`/v1/admin/devices/${devId(req.device)}/assignments`, { patientId, from: new Date(now + offsetMs(req.from)).toISOString() });
          expect(res.status, JSON.stringify(res.body)).toBe(201);
          continue;
        }
        const body = req.readings.map((r) => {
          const device = r.device ?? defaultDevice;
          const { at, device: _d, batch: _b, unit, ...values } = r;
          return {
            id: `${name}-${++n}`,
            ...values,
            unit: unit ?? UNITS[r.kind] ?? '',
            measuredAt: new Date(now + offsetMs(at)).toISOString(),
            ...(hubOf.has(device) ? { deviceId: devId(device) } : {}),
          };
        });
        const token = secrets.get(req.sender);
        expect(token, `no device ${req.sender}`).toBeDefined();
        const res = await request<{ outcomes: { status: string }[] }>(`${t.baseUrl}/v1/readings`, { token: token as string, json: { readings: body } });
        expect(res.status, JSON.stringify(res.body)).toBe(202);
        expect(res.body.outcomes.map((o) => o.status), JSON.stringify(res.body)).toEqual(body.map(() => 'accepted'));
        await t.gw.ctx.alerting.drain();
      }

      const res = await request<{ alerts: Record<string, unknown>[] }>(`${t.baseUrl}/v1/patients/${patientId}/alerts?includeResolved=true`, { token: nurse });
      expect(res.status).toBe(200);
      const actual = res.body.alerts
        .map((a): Record<string, unknown> & { measuredAtMs: number } => ({ ...a, measuredAtMs: Date.parse(a.measuredAt as string) }))
        .sort((a, b) => String(a.rule).localeCompare(String(b.rule)) || a.measuredAtMs - b.measuredAtMs);
      const expected = [...scenario.expect.alerts].sort((a, b) => a.rule.localeCompare(b.rule) || offsetMs(a.measuredAt) - offsetMs(b.measuredAt));
      const summary = actual.map((a) => `${String(a.rule)} ${String(a.severity)} ${String(a.status)} at ${formatOffset(a.measuredAtMs - now)} (${String(a.detail)})`);

      for (const rule of scenario.expect.absent) expect(actual.filter((a) => a.rule === rule).map((a) => a.rule), `no ${rule} alert expected; got:\n${summary.join('\n')}`).toEqual([]);
      expect(actual.length, `alerts:\n${summary.join('\n')}`).toBe(expected.length);
      for (const [i, e] of expected.entries()) {
        const a = actual[i] as (typeof actual)[number];
        const { measuredAt, titleContains, not, ...fields } = e;
        const picked = Object.fromEntries(Object.keys(fields).map((k) => [k, a[k]]));
        expect({ ...picked, measuredAt: formatOffset(a.measuredAtMs - now) }, `alert ${i + 1} of:\n${summary.join('\n')}`).toEqual({
          ...fields,
          measuredAt: formatOffset(offsetMs(measuredAt)),
        });
        if (titleContains !== undefined) expect(String(a.title)).toContain(titleContains);
        for (const [k, v] of Object.entries(not ?? {})) expect(a[k], `alert ${i + 1}: ${k} must not be ${JSON.stringify(v)}`).not.toEqual(v);
        // Engine alerts are tenant-stamped, so they reach this organization's worklist and stream.
        expect(a.patientId).toBe(patientId);
      }
    });
  }
});
