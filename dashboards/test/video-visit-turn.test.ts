import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Coturn, startCoturn } from '../../test/helpers/coturn.js';
import { ADMIN_TOKEN, request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { buildDashboard, FAKE_MEDIA_ARGS, launchChromium } from './browser.js';
import { signIn } from './scenario.js';
import { createNurse, type Nurse } from './seed.js';

/** Keeps every RTCPeerConnection the page makes. */
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

/** The newest peer connection: state, video bytes received, and the candidate types of the pair in use. */
function media(page: Page): Promise<{ state: string | null; videoBytes: number; local: string | null; remote: string | null }> {
  return page.evaluate(async () => {
    const pc = ((window as unknown as { __pcs?: RTCPeerConnection[] }).__pcs ?? []).at(-1);
    if (pc === undefined) return { state: null, videoBytes: 0, local: null, remote: null };
    const stats = new Map<string, Record<string, unknown>>();
    (await pc.getStats()).forEach((r: Record<string, unknown>) => stats.set(r.id as string, r));
    let videoBytes = 0;
    let pairId: string | undefined;
    for (const r of stats.values()) {
      if (r.type === 'inbound-rtp' && r.kind === 'video') videoBytes += (r.bytesReceived as number | undefined) ?? 0;
      if (r.type === 'transport') pairId = r.selectedCandidatePairId as string | undefined;
    }
    const pair = pairId === undefined ? undefined : stats.get(pairId);
    const type = (id: unknown): string | null => (typeof id === 'string' ? ((stats.get(id)?.candidateType as string | undefined) ?? null) : null);
    return { state: pc.connectionState, videoBytes, local: type(pair?.localCandidateId), remote: type(pair?.remoteCandidateId) };
  });
}

/**
 * The embedded provider through a real TURN server: coturn with the TURN REST API's shared
 * secret, the gateway handing each browser its own expiring TURN credentials, and
 * RPM_VIDEO_ICE_TRANSPORT_POLICY=relay, so the call can only work through coturn (neither
 * browser learns the other's address). Video flows both ways over relay candidates.
 */
describe('Video visit through coturn (TURN REST credentials, relay only)', () => {
  let build: Awaited<ReturnType<typeof buildDashboard>>;
  let turn: Coturn;
  let t: TestGateway;
  let browser: Browser;
  let nurse: Nurse;
  const contexts: BrowserContext[] = [];

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
    contexts.push(context);
    await context.addInitScript(capturePeerConnections);
    return context.newPage();
  }

  beforeAll(async () => {
    build = await buildDashboard();
    turn = await startCoturn('coturn-test-shared-secret-0123456789');
    t = await startTestGateway({
      RPM_DASHBOARD_DIR: build.dir,
      RPM_VIDEO_ICE_SERVERS: `turn:127.0.0.1:${turn.port}?transport=udp,turn:127.0.0.1:${turn.port}?transport=tcp`,
      RPM_VIDEO_TURN_SECRET: turn.secret,
      RPM_VIDEO_ICE_TRANSPORT_POLICY: 'relay',
    });
    browser = await launchChromium(FAKE_MEDIA_ARGS);
    await t.admin.createOrganization('org-a', 'Clinic A');
    nurse = await createNurse(t, 'org-a', 'ann@a.example', 'Ann Example');
    await t.admin.createPatient('pa-1', { organizationId: 'org-a' });
    expect((await request(`${t.baseUrl}/v1/patients/pa-1/consents/telehealth`, { token: ADMIN_TOKEN, json: { granted: true, method: 'written' } })).status).toBe(201);
  });

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await t?.close();
    await turn?.stop();
    build?.dispose();
  });

  it('connects nurse and patient over relay candidates only, with video both ways', async () => {
    const visit = await request(`${t.baseUrl}/v1/visits`, { token: nurse.token, json: { patientId: 'pa-1', sendSms: false } });
    expect(visit.status, JSON.stringify(visit.body)).toBe(201);
    const staff = await newPage();
    await signIn(staff, t.baseUrl, nurse.email);
    await staff.goto(`${t.baseUrl}/#/visits/${visit.body.visit.id}`);
    await staff.locator('.call-status[data-state="waiting"]').waitFor();
    const patient = await newPage();
    await patient.goto(visit.body.link.url);
    await patient.getByRole('button', { name: 'Join the video visit' }).click();

    for (const [who, page] of [
      ['nurse', staff],
      ['patient', patient],
    ] as const) {
      await expect.poll(async () => (await media(page)).state, { timeout: 30_000, message: `${who}: connection state` }).toBe('connected');
      const first = await media(page);
      expect(first, who).toMatchObject({ local: 'relay', remote: 'relay' });
      await expect.poll(async () => (await media(page)).videoBytes, { timeout: 20_000, message: `${who}: inbound video bytes rising` }).toBeGreaterThan(first.videoBytes);
    }
    // coturn saw allocations under the gateway's TURN REST usernames (<expiry>:<participant>).
    expect(turn.output()).toMatch(new RegExp(`\\d+:staff-${nurse.id}`));
    expect(turn.output()).toMatch(new RegExp(`\\d+:patient-${visit.body.visit.id}`));
  });
});
