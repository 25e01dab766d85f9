import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/postgres.js';
import { dropRedisPrefix, freshRedisPrefix, REDIS_TEST_URL, requireRedis } from '../../test/helpers/redis.js';
import { buildDashboard, FAKE_MEDIA_ARGS, launchChromium } from './browser.js';
import { signIn } from './scenario.js';
import { createNurse, enrolPatient, type Nurse } from './seed.js';

/** Keeps every RTCPeerConnection the page makes (the app keeps none on window). */
function capturePeerConnections(): void {
  const Native = window.RTCPeerConnection;
  const all: RTCPeerConnection[] = [];
  (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs = all;
  window.RTCPeerConnection = class extends Native {
    constructor(config?: RTCConfiguration) {
      super(config);
      all.push(this);
    }
  } as typeof RTCPeerConnection;
}

/** The newest peer connection's state and the video bytes it has received. */
function media(page: Page): Promise<{ state: string | null; videoBytes: number }> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { __pcs?: RTCPeerConnection[] }).__pcs ?? [];
    const pc = pcs.at(-1);
    if (pc === undefined) return { state: null, videoBytes: 0 };
    let videoBytes = 0;
    (await pc.getStats()).forEach((r: { type: string; kind?: string; bytesReceived?: number }) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') videoBytes += r.bytesReceived ?? 0;
    });
    return { state: pc.connectionState, videoBytes };
  });
}

async function expectVideoFlowing(page: Page, who: string): Promise<void> {
  await expect.poll(async () => (await media(page)).state, { timeout: 30_000, message: `${who}: peer connection state` }).toBe('connected');
  await expect.poll(async () => (await media(page)).videoBytes, { timeout: 20_000, message: `${who}: inbound video bytes` }).toBeGreaterThan(0);
  const first = (await media(page)).videoBytes;
  await expect.poll(async () => (await media(page)).videoBytes, { timeout: 20_000, message: `${who}: inbound video bytes rising` }).toBeGreaterThan(first);
}

/**
 * The distributed mode's video visit in real Chromium: two gateways (role `gateway`) over one
 * PostgreSQL and Redis, as behind a load balancer without stickiness. The nurse's dashboard is on
 * the first gateway, the patient's page (and its signaling socket) on the second; the offer, answer
 * and ICE candidates cross between them over Redis, and each browser receives the other's video.
 */
describe('Video visit in Chromium with the nurse and the patient on different gateways', () => {
  let build: Awaited<ReturnType<typeof buildDashboard>>;
  let db: TestDatabase;
  const prefix = freshRedisPrefix();
  const gateways: TestGateway[] = [];
  let browser: Browser;
  let nurse: Nurse;
  const contexts: BrowserContext[] = [];

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, permissions: ['camera', 'microphone'] });
    contexts.push(context);
    await context.addInitScript(capturePeerConnections);
    return context.newPage();
  }

  beforeAll(async () => {
    await requireRedis();
    [build, db] = await Promise.all([buildDashboard(), createTestDatabase()]);
    const env = {
      RPM_DASHBOARD_DIR: build.dir,
      RPM_STORE: 'postgres',
      RPM_DATABASE_URL: db.url,
      RPM_DATABASE_POOL_SIZE: '4',
      RPM_REDIS_URL: REDIS_TEST_URL,
      RPM_REDIS_PREFIX: prefix,
      RPM_SECRET_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    };
    // The first gateway migrates the database; the second finds it current.
    for (const name of ['gw-a', 'gw-b']) gateways.push(await startTestGateway({ ...env, RPM_NODE_NAME: name }, { role: 'gateway' }));
    browser = await launchChromium(FAKE_MEDIA_ARGS);
    const t = gateways[0]!;
    await t.admin.createOrganization('org-a', 'Clinic A');
    nurse = await createNurse(t, 'org-a', 'ann@a.example', 'Ann Example');
    await enrolPatient(t, nurse, { id: 'pa-1', organizationId: 'org-a', programs: ['general'] }, { id: 'cuff-a1', kind: 'bp-cuff' });
    const identity = await request(`${t.baseUrl}/v1/patients/pa-1/identity`, {
      token: ADMIN_TOKEN,
      method: 'PUT',
      json: { givenName: 'Maria', familyName: 'Gonzalez', birthDate: '1950-03-14', mrn: 'MRN-1001', phone: '+15551230001', preferredLanguage: 'en', timeZone: 'America/Chicago' },
    });
    expect(identity.status, JSON.stringify(identity.body)).toBe(200);
    expect((await request(`${t.baseUrl}/v1/patients/pa-1/consents/telehealth`, { token: ADMIN_TOKEN, json: { granted: true, method: 'verbal' } })).status).toBe(201);
  }, 120_000);

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    for (const g of gateways) await g.close();
    await db?.drop();
    await dropRedisPrefix(prefix).catch(() => undefined);
    build?.dispose();
  });

  it('connects them across the two gateways: each receives the other’s video, and the end reaches both', { timeout: 120_000 }, async () => {
    const [gwA, gwB] = gateways as [TestGateway, TestGateway];
    const started = await request(`${gwA.baseUrl}/v1/visits`, { token: nurse.token, json: { patientId: 'pa-1', sendSms: false } });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const visitId = started.body.visit.id as string;
    const link = started.body.link.url as string;

    // The nurse's call view, from the first gateway.
    const staff = await newPage();
    await signIn(staff, gwA.baseUrl, nurse.email);
    await staff.goto(`${gwA.baseUrl}/#/visits/${visitId}`);
    await expect.poll(() => staff.locator('.call-status').getAttribute('data-state'), { timeout: 20_000 }).toBe('waiting');

    // The patient's link opened where the load balancer sent her: the second gateway.
    const patient = await newPage();
    await patient.goto(`${gwB.baseUrl}/visit${link.slice(link.indexOf('#'))}`);
    await expect.poll(() => patient.url()).toBe(`${gwB.baseUrl}/visit`);
    await patient.getByRole('button', { name: 'Join the video visit' }).click();

    await expectVideoFlowing(staff, 'nurse (gateway A)');
    await expectVideoFlowing(patient, 'patient (gateway B)');
    await expect.poll(() => staff.locator('.call-status').getAttribute('data-state')).toBe('connected');
    await expect.poll(() => patient.locator('#visit-status').getAttribute('data-state')).toBe('connected');
    expect((await request(`${gwB.baseUrl}/v1/visits/${visitId}`, { token: nurse.token })).body.status).toBe('in-progress');

    await staff.getByRole('button', { name: 'End visit' }).click();
    await staff.locator('[data-minutes]').waitFor();
    // Ended at the first gateway; the patient's page, signaled by the second, hears it.
    await expect.poll(() => patient.locator('#visit-status').getAttribute('data-state'), { timeout: 10_000 }).toBe('ended');
  });
});
