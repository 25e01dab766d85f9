import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ChildGateway, sleep } from './helpers/child-gateway.js';
import { ADMIN_TOKEN, AdminClient, isoMinutesAgo, request, tempDir } from './helpers/gateway.js';

/*
 * The store failing under a running gateway, as a full disk does: every write fails, reads still
 * work. Made real, without privileges, by lowering the gateway process's file-size limit
 * (RLIMIT_FSIZE, `prlimit --fsize=1`): from then on every write to a file fails (EFBIG; Node
 * ignores SIGXFSZ), so SQLite commits fail exactly as on a full disk, and raising the limit again
 * is the disk freed. Needs util-linux `prlimit` (Debian: installed by default); without it the
 * tests fail.
 */

/** Every write of the process fails from now on (the disk is full). */
function fillDisk(pid: number): void {
  execFileSync('prlimit', ['--pid', String(pid), '--fsize=1:']);
}

/** Writes work again (space was freed). */
function freeDisk(pid: number): void {
  execFileSync('prlimit', ['--pid', String(pid), '--fsize=unlimited:']);
}

const heartRate = (value: number, minutesAgo: number, id: string) => ({ id, kind: 'heart-rate', value, unit: '/min', measuredAt: isoMinutesAgo(minutesAgo) });

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

describe('a gateway whose store stops taking writes (disk full)', () => {
  const dataDir = tempDir('rpm-store-failure-');
  const gateway = new ChildGateway({ dataDir });
  let admin: AdminClient;
  let secret: string;
  let pid: number;

  beforeAll(async () => {
    const p = await gateway.start();
    pid = p.pid as number;
    admin = new AdminClient(gateway.baseUrl);
    await admin.createPatient('p-full');
    secret = await admin.createDevice({ id: 'hrm-full', kind: 'heart-rate-monitor', patientId: 'p-full' });
  }, 60_000);
  afterEach(() => {
    if (gateway.current?.running === true) freeDisk(pid);
  });
  afterAll(async () => {
    await gateway.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const ingest = (...readings: unknown[]) => request(`${gateway.baseUrl}/v1/readings`, { token: secret, json: { readings } });

  it('turns unready at the first failed commit, refuses devices meanwhile, and becomes ready again by itself once the disk takes writes', async () => {
    expect((await ingest(heartRate(70, 10, 'ok-1'))).status).toBe(202);
    expect((await request(`${gateway.baseUrl}/readyz`)).status).toBe(200);

    fillDisk(pid);
    const refused = await ingest(heartRate(71, 9, 'full-1'));
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ code: 'RPM_ERR_STORE_FAILURE' });
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);

    const ready = await request<any>(`${gateway.baseUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: 'unavailable', reasons: ['store-failing'], store: { writable: false, failingSince: expect.any(String) } });
    expect(await (await fetch(`${gateway.baseUrl}/metrics`)).text()).toMatch(/^rpm_store_writable 0$/m);
    // A device connecting now would only be turned away at its first publish: CONNACK 3.
    const connack = await mqtt
      .connectAsync(gateway.mqttUrl, { username: 'hrm-full', password: secret, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 }, false)
      .then(
        async (c) => {
          await c.endAsync(true);
          return 0;
        },
        (err: { code?: number }) => err.code,
      );
    expect(connack).toBe(3);

    // Space comes back. No traffic arrives (a load balancer stopped sending it): the gateway
    // finds out by itself, with a probe write, and is ready again.
    freeDisk(pid);
    await eventually('readiness to come back', async () => ((await request(`${gateway.baseUrl}/readyz`)).status === 200 ? true : undefined));
    expect((await ingest(heartRate(72, 8, 'ok-2'))).status).toBe(202);
    expect((await admin.readings('p-full')).map((r) => r.clientId).sort()).toEqual(['ok-1', 'ok-2']);
  });

  it('refuses a read of patient data whose audit record cannot be written with 503 RPM_ERR_AUDIT_UNAVAILABLE and Retry-After', async () => {
    fillDisk(pid);
    const res = await request(`${gateway.baseUrl}/v1/patients/p-full/readings`, { token: ADMIN_TOKEN });
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'RPM_ERR_AUDIT_UNAVAILABLE', status: 503 });
    expect(res.headers.get('retry-after')).toBe('5');
    // No reading left unaudited: the answer carries none.
    expect(JSON.stringify(res.body)).not.toContain('ok-1');
    freeDisk(pid);
    expect((await request(`${gateway.baseUrl}/v1/patients/p-full/readings`, { token: ADMIN_TOKEN })).status).toBe(200);
  });

  it('on SIGTERM with the disk full, flushes what it can, logs what it could not, exits 75, and keeps every acknowledged reading', async () => {
    const client = await mqtt.connectAsync(gateway.mqttUrl, { username: 'hrm-full', password: secret, protocolVersion: 4, reconnectPeriod: 0 }, false);
    client.on('error', () => undefined);
    await client.publishAsync('devices/hrm-full/readings', JSON.stringify({ readings: [heartRate(73, 7, 'mqtt-1')] }), { qos: 1 });
    fillDisk(pid);
    const exit = await gateway.stop('SIGTERM');
    client.end(true);
    expect(exit, gateway.current?.tail()).toEqual({ code: 75, signal: null });
    const out = gateway.current?.stdout ?? '';
    expect(out).toContain('could not be written at shutdown');
    expect(out).toContain('shutdown done; some state could not be written');

    const db = new Database(path.join(dataDir, 'rpm.sqlite'), { readonly: true, fileMustExist: true });
    try {
      const ids = (db.prepare('SELECT client_id FROM readings ORDER BY client_id').all() as { client_id: string }[]).map((r) => r.client_id);
      expect(ids).toEqual(['mqtt-1', 'ok-1', 'ok-2']);
    } finally {
      db.close();
    }
  });
});
