import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, isoMinutesAgo, request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';

describe('HTTP ingest: POST /v1/readings', () => {
  let t: TestGateway;
  let secret: string;
  const url = (): string => `${t.baseUrl}/v1/readings`;

  beforeAll(async () => {
    t = await startTestGateway();
    await t.admin.createPatient('p-1');
    secret = await t.admin.createDevice({ id: 'cuff-1', kind: 'bp-cuff', patientId: 'p-1' });
  });
  afterAll(async () => t.close());

  it('answers 202 with an outcome per reading, after which the readings are readable with LOINC codes and UCUM units', async () => {
    const measuredAt = isoMinutesAgo(30);
    const res = await request(url(), {
      token: secret,
      json: { readings: [{ id: 'bp-1', kind: 'blood-pressure', systolic: 142, diastolic: 91, pulse: 72, unit: 'mmHg', measuredAt }] },
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ accepted: 1, duplicate: 0, rejected: 0, outcomes: [{ index: 0, status: 'accepted', clientId: 'bp-1' }] });
    const readings = await t.admin.readings('p-1');
    const bp = readings.find((r) => r.clientId === 'bp-1');
    expect(bp).toMatchObject({
      kind: 'blood-pressure',
      code: { system: 'http://loinc.org', code: '85354-9' },
      measuredAt,
      deviceId: 'cuff-1',
      patientId: 'p-1',
      reported: { unit: 'mmHg', values: { systolic: 142, diastolic: 91, pulse: 72 } },
    });
    expect(bp.components).toEqual([
      { name: 'systolic', code: { system: 'http://loinc.org', code: '8480-6', display: 'Systolic blood pressure' }, value: 142, unit: 'mm[Hg]' },
      { name: 'diastolic', code: { system: 'http://loinc.org', code: '8462-4', display: 'Diastolic blood pressure' }, value: 91, unit: 'mm[Hg]' },
      { name: 'pulse', code: { system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }, value: 72, unit: '/min' },
    ]);
  });

  it('converts units with UCUM and keeps what the device reported', async () => {
    const res = await request(url(), {
      token: secret,
      json: { readings: [{ id: 'w-lb', kind: 'body-weight', value: 180, unit: 'lb', measuredAt: isoMinutesAgo(20) }] },
    });
    expect(res.status).toBe(202);
    const w = (await t.admin.readings('p-1', '?kind=body-weight')).find((r) => r.clientId === 'w-lb');
    expect(w).toMatchObject({ value: 81.6466, unit: 'kg', code: { code: '29463-7' }, reported: { unit: 'lb', values: { value: 180 } } });
    // A scale reading from a BP cuff is stored, but flagged.
    expect(w.flags).toContain('device-kind-mismatch');
  });

  it('treats a retried reading as a duplicate, by client id or else by (kind, measuredAt)', async () => {
    const measuredAt = isoMinutesAgo(15);
    const body = { readings: [{ id: 'r-dup', kind: 'heart-rate', value: 66, unit: '/min', measuredAt }, { kind: 'heart-rate', value: 67, unit: 'bpm', measuredAt: isoMinutesAgo(14) }] };
    const first = await request(url(), { token: secret, json: body });
    const second = await request(url(), { token: secret, json: body });
    expect(first.body.outcomes.map((o: { status: string }) => o.status)).toEqual(['accepted', 'accepted']);
    expect(second.status).toBe(202);
    expect(second.body.outcomes.map((o: { status: string }) => o.status)).toEqual(['duplicate', 'duplicate']);
    expect(second.body.outcomes[0].id).toBe(first.body.outcomes[0].id);
    const hr = await t.admin.readings('p-1', '?kind=heart-rate');
    expect(hr.filter((r) => r.clientId === 'r-dup')).toHaveLength(1);
    expect(hr.filter((r) => r.components[0].value === 67)).toHaveLength(1);
  });

  it('rejects only the bad readings of a batch, each with a code and the path of the bad field', async () => {
    const res = await request(url(), {
      token: secret,
      json: {
        readings: [
          { kind: 'spo2', value: 101, unit: '%', measuredAt: isoMinutesAgo(5) },
          { kind: 'blood-pressure', systolic: 80, diastolic: 120, unit: 'mmHg', measuredAt: isoMinutesAgo(5) },
          { kind: 'body-weight', value: 2000, unit: 'kg', measuredAt: isoMinutesAgo(5) },
          { kind: 'heart-rate', value: '72', unit: '/min', measuredAt: isoMinutesAgo(5) },
          { kind: 'heart-rate', value: 72, unit: '/min', measuredAt: isoMinutesAgo(-60) },
          { kind: 'telepathy', value: 1, unit: '%', measuredAt: isoMinutesAgo(5) },
          { kind: 'body-temperature', value: 37, unit: 'K', measuredAt: isoMinutesAgo(5) },
          { kind: 'heart-rate', value: 72, unit: '/min', measuredAt: '2026-12-01 07:00' },
          { kind: 'respiratory-rate', value: 16, unit: '/min', measuredAt: isoMinutesAgo(5), id: 'ok-rr' },
        ],
      },
    });
    expect(res.status).toBe(202);
    const o = res.body.outcomes;
    expect(o[0]).toMatchObject({ status: 'rejected', code: 'RPM_ERR_READING_IMPLAUSIBLE', path: '/readings/0/value' });
    expect(o[1]).toMatchObject({ status: 'rejected', code: 'RPM_ERR_READING_IMPLAUSIBLE', path: '/readings/1/systolic' });
    expect(o[2]).toMatchObject({ status: 'rejected', code: 'RPM_ERR_READING_IMPLAUSIBLE', path: '/readings/2/value' });
    expect(o[3]).toMatchObject({ status: 'rejected', code: 'RPM_ERR_READING_INVALID', path: '/readings/3/value' });
    expect(o[4]).toMatchObject({ status: 'rejected', code: 'RPM_ERR_READING_TIME_IN_FUTURE', path: '/readings/4/measuredAt' });
    expect(o[5]).toMatchObject({ status: 'rejected', code: 'RPM_ERR_READING_UNKNOWN_KIND', path: '/readings/5/kind' });
    expect(o[6]).toMatchObject({ status: 'rejected', code: 'RPM_ERR_READING_UNIT_UNSUPPORTED', path: '/readings/6/unit' });
    expect(o[7]).toMatchObject({ status: 'rejected', code: 'RPM_ERR_READING_TIME_INVALID', path: '/readings/7/measuredAt' });
    expect(o[8]).toMatchObject({ status: 'accepted', clientId: 'ok-rr' });
    expect(res.body).toMatchObject({ accepted: 1, rejected: 8 });
    // Rejected readings are never stored as if valid...
    const all = await t.admin.readings('p-1');
    expect(all.some((r) => r.kind === 'spo2' || r.kind === 'body-temperature')).toBe(false);
    // ...but the rejection is recorded for the operator, with its reason.
    const rej = await t.admin.get('/v1/admin/devices/cuff-1/rejections');
    expect(rej.body.rejections.map((r: { code: string }) => r.code)).toContain('RPM_ERR_READING_IMPLAUSIBLE');
  });

  it('answers problem+json with a stable code for a bad envelope', async () => {
    const cases: Array<[string, { body?: string; json?: unknown; headers?: Record<string, string> }, number, string]> = [
      ['malformed JSON', { body: '{"readings": [', headers: { 'content-type': 'application/json' } }, 400, 'RPM_ERR_REQUEST_MALFORMED_JSON'],
      ['no readings array', { json: { reading: [] } }, 400, 'RPM_ERR_REQUEST_INVALID'],
      ['empty readings', { json: { readings: [] } }, 400, 'RPM_ERR_REQUEST_NO_READINGS'],
      ['readings not an array', { json: { readings: 'x' } }, 400, 'RPM_ERR_REQUEST_INVALID'],
      ['too many readings', { json: { readings: Array.from({ length: 1001 }, () => ({})) } }, 413, 'RPM_ERR_REQUEST_TOO_MANY_READINGS'],
      ['wrong media type', { body: 'hello', headers: { 'content-type': 'text/plain' } }, 415, 'RPM_ERR_REQUEST_UNSUPPORTED_MEDIA_TYPE'],
    ];
    for (const [name, init, status, code] of cases) {
      const res = await request(url(), { token: secret, ...init });
      expect(res.status, name).toBe(status);
      expect(res.headers.get('content-type'), name).toMatch(/^application\/problem\+json/);
      expect(res.body, name).toMatchObject({ status, code, type: `urn:rpm-gateway:problem:${code}` });
    }
  });

  it('refuses an oversize body with 413', async () => {
    const small = await startTestGateway({ RPM_HTTP_BODY_LIMIT_BYTES: '2048' });
    try {
      await small.admin.createPatient('p-x');
      const s = await small.admin.createDevice({ id: 'scale-x', kind: 'scale', patientId: 'p-x' });
      const readings = Array.from({ length: 40 }, (_, i) => ({ kind: 'body-weight', value: 80 + i / 10, unit: 'kg', measuredAt: isoMinutesAgo(100 + i) }));
      const res = await request(`${small.baseUrl}/v1/readings`, { token: s, json: { readings } });
      expect(res.status).toBe(413);
      expect(res.body).toMatchObject({ code: 'RPM_ERR_REQUEST_BODY_TOO_LARGE' });
      expect(await small.admin.readings('p-x')).toHaveLength(0);
    } finally {
      await small.close();
    }
  });

  it('refuses missing, malformed, wrong and revoked credentials', async () => {
    const body = { readings: [{ kind: 'heart-rate', value: 70, unit: '/min', measuredAt: isoMinutesAgo(1) }] };
    const missing = await request(url(), { json: body });
    expect(missing.status).toBe(401);
    expect(missing.body.code).toBe('RPM_ERR_AUTH_MISSING');
    const malformed = await request(url(), { json: body, token: 'not-a-secret' });
    expect(malformed.status).toBe(401);
    expect(malformed.body.code).toBe('RPM_ERR_AUTH_INVALID');
    const wrong = await request(url(), { json: body, token: `${secret.slice(0, -4)}AAAA` });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('RPM_ERR_AUTH_INVALID');
    // The admin token is not a device credential.
    const admin = await request(url(), { json: body, token: ADMIN_TOKEN });
    expect(admin.status).toBe(401);

    await t.admin.createPatient('p-rev');
    const s = await t.admin.createDevice({ id: 'ox-rev', kind: 'pulse-oximeter', patientId: 'p-rev' });
    expect((await request(url(), { json: body, token: s })).status).toBe(202);
    expect((await t.admin.post('/v1/admin/devices/ox-rev/revoke')).status).toBe(200);
    const revoked = await request(url(), { json: body, token: s });
    expect(revoked.status).toBe(403);
    expect(revoked.body.code).toBe('RPM_ERR_AUTH_DEVICE_REVOKED');
  });

  it('rotates a secret: the new one works at once, the old one until its grace period ends', async () => {
    await t.admin.createPatient('p-rot');
    const old = await t.admin.createDevice({ id: 'therm-rot', kind: 'thermometer', patientId: 'p-rot' });
    const body = (m: number) => ({ readings: [{ kind: 'body-temperature', value: 98.6, unit: '[degF]', measuredAt: isoMinutesAgo(m) }] });
    expect((await request(url(), { json: body(3), token: old })).status).toBe(202);
    const rotated = await t.admin.post('/v1/admin/devices/therm-rot/rotate-secret', { graceSeconds: 3600 });
    expect(rotated.status).toBe(200);
    expect((await request(url(), { json: body(2), token: rotated.body.secret })).status).toBe(202);
    expect((await request(url(), { json: body(1), token: old })).status).toBe(202);
    const again = await t.admin.post('/v1/admin/devices/therm-rot/rotate-secret', { graceSeconds: 0 });
    expect((await request(url(), { json: body(0), token: rotated.body.secret })).status).toBe(401);
    expect((await request(url(), { json: body(0), token: again.body.secret })).status).toBe(202);
    const temps = await t.admin.readings('p-rot');
    expect(temps.map((r) => r.value)).toEqual([37, 37, 37, 37]);
    expect(temps[0].unit).toBe('Cel');
  });

  it('keeps and flags readings from an unassigned device, and attributes them when it is assigned', async () => {
    const s = await t.admin.createDevice({ id: 'gluco-u', kind: 'glucometer' });
    const res = await request(url(), {
      token: s,
      json: { readings: [{ kind: 'blood-glucose', value: 6.1, unit: 'mmol/L', mealContext: 'fasting', measuredAt: isoMinutesAgo(90) }] },
    });
    expect(res.body.outcomes[0].status).toBe('accepted');
    await t.admin.createPatient('p-gl');
    const assigned = await t.admin.post('/v1/admin/devices/gluco-u/assignments', { patientId: 'p-gl' });
    expect(assigned.status).toBe(201);
    expect(assigned.body.attributedReadings).toBe(1);
    const [g] = await t.admin.readings('p-gl');
    expect(g).toMatchObject({ kind: 'blood-glucose', unit: 'mg/dL', code: { code: '41653-7' }, mealContext: 'fasting', flags: ['attributed'] });
    expect(g.value).toBeCloseTo(109.9, 1);
  });

  it('attributes each reading by its measurement time across a reassignment', async () => {
    await t.admin.createPatient('p-a');
    await t.admin.createPatient('p-b');
    const s = await t.admin.createDevice({ id: 'scale-re', kind: 'scale', patientId: 'p-a' });
    const switchAt = new Date(Date.now() - 60 * 60_000).toISOString();
    expect((await t.admin.post('/v1/admin/devices/scale-re/assignments', { patientId: 'p-b', from: switchAt })).status).toBe(201);
    await request(url(), {
      token: s,
      json: {
        readings: [
          { kind: 'body-weight', value: 70, unit: 'kg', measuredAt: isoMinutesAgo(120) },
          { kind: 'body-weight', value: 90, unit: 'kg', measuredAt: isoMinutesAgo(30) },
        ],
      },
    });
    expect((await t.admin.readings('p-a')).map((r) => r.value)).toEqual([70]);
    expect((await t.admin.readings('p-b')).map((r) => r.value)).toEqual([90]);
    const dev = await t.admin.get('/v1/admin/devices/scale-re');
    expect(dev.body.assignments).toHaveLength(2);
    expect(dev.body.assignments[0]).toMatchObject({ patientId: 'p-a', to: switchAt });
  });

  it('lets a hub relay readings for its paired devices, and only those', async () => {
    await t.admin.createPatient('p-hub');
    const hubSecret = await t.admin.createDevice({ id: 'hub-1', kind: 'hub' });
    await t.admin.createDevice({ id: 'ox-on-hub', kind: 'pulse-oximeter', patientId: 'p-hub', hubId: 'hub-1' });
    await t.admin.createDevice({ id: 'ox-alone', kind: 'pulse-oximeter', patientId: 'p-hub' });
    const res = await request(url(), {
      token: hubSecret,
      json: {
        readings: [
          { kind: 'spo2', value: 95, pulse: 80, unit: '%', deviceId: 'ox-on-hub', measuredAt: isoMinutesAgo(600), batteryPercent: 41 },
          { kind: 'spo2', value: 94, unit: '%', deviceId: 'ox-alone', measuredAt: isoMinutesAgo(600) },
        ],
      },
    });
    expect(res.body.outcomes[0].status).toBe('accepted');
    expect(res.body.outcomes[1]).toMatchObject({ status: 'rejected', code: 'RPM_ERR_READING_DEVICE_NOT_RELAYABLE', path: '/readings/1/deviceId' });
    const [r] = await t.admin.readings('p-hub');
    expect(r).toMatchObject({ deviceId: 'ox-on-hub', hubId: 'hub-1', value: 95, code: { code: '59408-5' } });
    expect(r.components[1]).toMatchObject({ name: 'pulse', value: 80, unit: '/min', code: { code: '8867-4' } });
    // The battery level is the measuring device's, not the hub's.
    expect((await t.admin.get('/v1/admin/devices/ox-on-hub')).body.batteryPercent).toBe(41);
    expect((await t.admin.get('/v1/admin/devices/hub-1')).body.batteryPercent).toBeNull();
  });

  it('filters the read API by kind and time, pages with a cursor, and audits every read', async () => {
    await t.admin.createPatient('p-q');
    const s = await t.admin.createDevice({ id: 'multi-q', kind: 'multi-parameter', patientId: 'p-q' });
    const readings = Array.from({ length: 5 }, (_, i) => ({ kind: 'respiratory-rate', value: 12 + i, unit: '/min', measuredAt: isoMinutesAgo(50 - i * 10) }));
    await request(url(), { token: s, json: { readings: [...readings, { kind: 'heart-rate', value: 60, unit: '/min', measuredAt: isoMinutesAgo(5) }] } });
    const page1 = await t.admin.get('/v1/patients/p-q/readings?kind=respiratory-rate&limit=2');
    expect(page1.body.readings.map((r: { value: number }) => r.value)).toEqual([12, 13]);
    const page2 = await t.admin.get(`/v1/patients/p-q/readings?kind=respiratory-rate&limit=2&cursor=${page1.body.nextCursor}`);
    expect(page2.body.readings.map((r: { value: number }) => r.value)).toEqual([14, 15]);
    const from = new Date(Date.now() - 25 * 60_000).toISOString();
    const windowed = await t.admin.get(`/v1/patients/p-q/readings?from=${encodeURIComponent(from)}`);
    expect(windowed.body.readings.map((r: { value: number }) => r.value)).toEqual([15, 16, 60]);
    const badKind = await t.admin.get('/v1/patients/p-q/readings?kind=nope');
    expect(badKind.status).toBe(400);
    const unknown = await t.admin.get('/v1/patients/nobody/readings');
    expect(unknown.status).toBe(404);
    const noAuth = await request(`${t.baseUrl}/v1/patients/p-q/readings`);
    expect(noAuth.status).toBe(401);
    const audit = await t.admin.get('/v1/admin/audit?subject=patient:p-q');
    expect(audit.body.entries.filter((e: { action: string }) => e.action === 'readings.read').length).toBeGreaterThanOrEqual(3);
  });

  it('publishes an OpenAPI 3 document generated from the schemas at /docs', async () => {
    const res = await request(`${t.baseUrl}/docs/json`);
    expect(res.status).toBe(200);
    expect(res.body.openapi).toMatch(/^3\./);
    expect(Object.keys(res.body.paths)).toEqual(expect.arrayContaining(['/v1/readings', '/v1/admin/devices', '/v1/patients/{id}/readings']));
    const ingest = res.body.paths['/v1/readings'].post;
    expect(JSON.stringify(ingest.requestBody)).toContain('blood-pressure');
    const ui = await fetch(`${t.baseUrl}/docs`);
    expect(ui.status).toBe(200);
  });
});

describe('HTTP ingest limits', () => {
  it('limits requests per device with 429 and Retry-After', async () => {
    const t = await startTestGateway({ RPM_RATE_LIMIT_PER_DEVICE_PER_MIN: '3' });
    try {
      await t.admin.createPatient('p-rl');
      const s = await t.admin.createDevice({ id: 'rl-1', kind: 'heart-rate-monitor', patientId: 'p-rl' });
      const statuses: number[] = [];
      let last;
      for (let i = 0; i < 5; i++) {
        last = await request(`${t.baseUrl}/v1/readings`, { token: s, json: { readings: [{ kind: 'heart-rate', value: 70, unit: '/min', measuredAt: isoMinutesAgo(i) }] } });
        statuses.push(last.status);
      }
      expect(statuses).toEqual([202, 202, 202, 429, 429]);
      expect(last?.body).toMatchObject({ code: 'RPM_ERR_RATE_LIMITED' });
      expect(last?.headers.get('retry-after')).toMatch(/^\d+$/);
      // The window the message names is the limit's (a minute), and the wait is the header's.
      expect(last?.body.detail).toBe(`at most 3 requests per minute per device; retry in ${last?.headers.get('retry-after')} s`);
      // Another device is not affected.
      const s2 = await t.admin.createDevice({ id: 'rl-2', kind: 'heart-rate-monitor', patientId: 'p-rl' });
      expect((await request(`${t.baseUrl}/v1/readings`, { token: s2, json: { readings: [{ kind: 'heart-rate', value: 70, unit: '/min', measuredAt: isoMinutesAgo(9) }] } })).status).toBe(202);
    } finally {
      await t.close();
    }
  });

  it('never lets pending rows past RPM_COMMIT_MAX_PENDING: a request that does not fit is shed at admission', async () => {
    const t = await startTestGateway({ RPM_COMMIT_MAX_PENDING: '2', RPM_MAX_READINGS_PER_REQUEST: '2', RPM_COMMIT_LINGER_MS: '1000' });
    try {
      await t.admin.createPatient('p-hb');
      const s = await t.admin.createDevice({ id: 'hb-1', kind: 'heart-rate-monitor', patientId: 'p-hb' });
      const send = (...minutes: number[]) =>
        request(`${t.baseUrl}/v1/readings`, { token: s, json: { readings: minutes.map((m) => ({ kind: 'heart-rate', value: 70, unit: '/min', measuredAt: isoMinutesAgo(m) })) } });
      // One reading pending (held by the linger): one row of room, and the next request has two.
      const first = send(1);
      while (t.gw.ctx.committer.pending === 0) await new Promise((r) => setTimeout(r, 2));
      const second = await send(2, 3);
      expect(second.status).toBe(503);
      expect(second.body).toMatchObject({ code: 'RPM_ERR_OVERLOADED' });
      expect(second.headers.get('retry-after')).toBe('1');
      expect((await first).status).toBe(202);
      expect(t.gw.ctx.committer.stats.peakPending).toBeLessThanOrEqual(2);
      expect(await t.admin.readings('p-hb')).toHaveLength(1);
    } finally {
      await t.close();
    }
  });

  it('sheds load with 503 and Retry-After while the commit queue is full', async () => {
    // One pending reading fills the queue; a long linger keeps it pending while the second request arrives.
    const t = await startTestGateway({ RPM_COMMIT_MAX_PENDING: '1', RPM_MAX_READINGS_PER_REQUEST: '1', RPM_COMMIT_LINGER_MS: '1000' });
    try {
      await t.admin.createPatient('p-bp');
      const s = await t.admin.createDevice({ id: 'bp-bp', kind: 'heart-rate-monitor', patientId: 'p-bp' });
      const send = (i: number) => request(`${t.baseUrl}/v1/readings`, { token: s, json: { readings: [{ kind: 'heart-rate', value: 70, unit: '/min', measuredAt: isoMinutesAgo(i) }] } });
      const first = send(1);
      while (t.gw.ctx.committer.pending === 0) await new Promise((r) => setTimeout(r, 2));
      const second = await send(2);
      expect(second.status).toBe(503);
      expect(second.body).toMatchObject({ code: 'RPM_ERR_OVERLOADED' });
      expect(second.headers.get('retry-after')).toBe('1');
      const ready = await request(`${t.baseUrl}/readyz`);
      expect(ready.status).toBe(503);
      expect((await first).status).toBe(202);
      expect((await send(3)).status).toBe(202);
      expect(await t.admin.readings('p-bp')).toHaveLength(2);
    } finally {
      await t.close();
    }
  });
});
