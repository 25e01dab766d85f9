import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../test/helpers/clock.js';
import { ADMIN_TOKEN, request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { startTwilioDouble, type TwilioDouble } from '../../test/helpers/twilio-double.js';
import { seriousViolations } from './axe.js';
import { buildDashboard, FAKE_MEDIA_ARGS, launchChromium } from './browser.js';
import { signIn } from './scenario.js';
import { createNurse, enrolPatient, isoAgo, type Nurse, postReadings } from './seed.js';

const PHONE = '+15551230001';

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
function media(page: Page): Promise<{ state: string | null; videoBytes: number; videoTracks: number }> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { __pcs?: RTCPeerConnection[] }).__pcs ?? [];
    const pc = pcs.at(-1);
    if (pc === undefined) return { state: null, videoBytes: 0, videoTracks: 0 };
    let videoBytes = 0;
    (await pc.getStats()).forEach((r: { type: string; kind?: string; bytesReceived?: number }) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') videoBytes += r.bytesReceived ?? 0;
    });
    return { state: pc.connectionState, videoBytes, videoTracks: pc.getReceivers().filter((r) => r.track.kind === 'video').length };
  });
}

/** Both connected, and video bytes still rising a second later: each side sees the other. */
async function expectVideoFlowing(page: Page, who: string): Promise<void> {
  await expect.poll(async () => (await media(page)).state, { timeout: 30_000, message: `${who}: peer connection state` }).toBe('connected');
  await expect.poll(async () => (await media(page)).videoBytes, { timeout: 20_000, message: `${who}: inbound video bytes` }).toBeGreaterThan(0);
  const first = (await media(page)).videoBytes;
  await expect.poll(async () => (await media(page)).videoBytes, { timeout: 20_000, message: `${who}: inbound video bytes rising` }).toBeGreaterThan(first);
}

/**
 * A video visit through the embedded provider in real Chromium: the nurse starts it from an alert
 * on the patient page, the patient opens the link from the SMS (in another browser context, no
 * account), both send fake camera video, and each receives the other's. The link works once; an
 * expired one is refused; the pages pass axe.
 */
describe('Video visit in Chromium (embedded WebRTC, fake media devices)', () => {
  let build: Awaited<ReturnType<typeof buildDashboard>>;
  let t: TestGateway;
  let twilio: TwilioDouble;
  let browser: Browser;
  let nurse: Nurse;
  const clock = new ManualClock();
  const contexts: BrowserContext[] = [];

  async function newPage(options: { bypassCSP?: boolean } = {}): Promise<Page> {
    // axe is injected as an inline script, which the pages' Content-Security-Policy (rightly) refuses.
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: options.bypassCSP ?? true, permissions: ['camera', 'microphone'] });
    contexts.push(context);
    await context.addInitScript(capturePeerConnections);
    return context.newPage();
  }

  beforeAll(async () => {
    build = await buildDashboard();
    twilio = await startTwilioDouble({ accountSid: 'AC0123456789abcdef0123456789abcdef', authToken: 'secret-token' });
    t = await startTestGateway(
      {
        RPM_DASHBOARD_DIR: build.dir,
        // Automatic logoff after 20 minutes (the manual clock moves the server past 3 and 31 minutes).
        RPM_SESSION_IDLE_MINUTES: '20',
        RPM_TWILIO_ACCOUNT_SID: 'AC0123456789abcdef0123456789abcdef',
        RPM_TWILIO_AUTH_TOKEN: 'secret-token',
        RPM_TWILIO_FROM: '+15550001111',
        RPM_TWILIO_BASE_URL: twilio.url,
      },
      { clock },
    );
    browser = await launchChromium(FAKE_MEDIA_ARGS);
    await t.admin.createOrganization('org-a', 'Clinic A');
    nurse = await createNurse(t, 'org-a', 'ann@a.example', 'Ann Example');
    const cuff = await enrolPatient(t, nurse, { id: 'pa-1', organizationId: 'org-a', programs: ['general', 'hypertension'] }, { id: 'cuff-a1', kind: 'bp-cuff' });
    const identity = await request(`${t.baseUrl}/v1/patients/pa-1/identity`, {
      token: ADMIN_TOKEN,
      method: 'PUT',
      json: { givenName: 'Maria', familyName: 'Gonzalez', birthDate: '1950-03-14', mrn: 'MRN-1001', phone: PHONE, preferredLanguage: 'en', timeZone: 'America/Chicago' },
    });
    expect(identity.status, JSON.stringify(identity.body)).toBe(200);
    expect((await request(`${t.baseUrl}/v1/patients/pa-1/consents/telehealth`, { token: ADMIN_TOKEN, json: { granted: true, method: 'verbal' } })).status).toBe(201);
    await postReadings(t, cuff, [{ kind: 'blood-pressure', systolic: 188, diastolic: 104, unit: 'mmHg', measuredAt: isoAgo(120_000) }]);
    await t.gw.ctx.alerting!.drain();
  });

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await t?.close();
    await twilio?.close();
    build?.dispose();
  });

  let usedLink: string;

  it('connects nurse and patient: each receives the other’s video; ending logs the minutes', { timeout: 90_000 }, async () => {
    const staff = await newPage();
    // The page's clock, so the test can let 16 minutes pass during the call (time still flows by itself).
    await staff.clock.install();
    await signIn(staff, t.baseUrl, nurse.email);
    await staff.goto(`${t.baseUrl}/#/patients/pa-1`);
    // From the alert: "Video visit" on the open alert.
    const alertRow = staff.locator('.open-alerts li').first();
    await alertRow.getByRole('button', { name: /^Video visit/ }).click();
    await staff.waitForURL(/#\/visits\/[0-9a-f-]{36}$/);
    const visitId = /#\/visits\/([0-9a-f-]{36})$/.exec(staff.url())?.[1] ?? '';
    await staff.locator('[data-sms="sent"]').waitFor();
    await expect.poll(() => staff.locator('.call-status').getAttribute('data-state')).toBe('waiting');

    // The SMS: the link, nothing about the patient.
    expect(twilio.messages).toHaveLength(1);
    const body = twilio.messages[0]!.form.get('Body') ?? '';
    expect(twilio.messages[0]!.form.get('To')).toBe(PHONE);
    const link = /(http:\/\/\S+\/visit#rpmv_[A-Za-z0-9_-]{43})/.exec(body)?.[1] ?? '';
    expect(link).not.toBe('');
    for (const phi of ['Maria', 'Gonzalez', 'pa-1', 'MRN', '1950', 'blood', 'mmHg', 'Clinic A']) expect(body).not.toContain(phi);
    usedLink = link;
    const visit = await request(`${t.baseUrl}/v1/visits/${visitId}`, { token: nurse.token });
    expect(visit.body).toMatchObject({ patientId: 'pa-1', alertId: expect.any(String), status: 'waiting' });

    // The patient: no account, just the link.
    const patient = await newPage();
    await patient.goto(link);
    // The token leaves the address bar at once.
    await expect.poll(() => patient.url()).toBe(`${t.baseUrl}/visit`);
    await patient.getByRole('button', { name: 'Join the video visit' }).click();
    expect(await patient.locator('main').innerText()).not.toMatch(/Maria|Gonzalez|pa-1|MRN|Clinic A|blood pressure/);

    await expectVideoFlowing(staff, 'nurse');
    await expectVideoFlowing(patient, 'patient');
    expect((await media(staff)).videoTracks).toBeGreaterThanOrEqual(1);
    await expect.poll(() => staff.locator('.call-status').getAttribute('data-state')).toBe('connected');
    await expect.poll(() => patient.locator('#visit-status').getAttribute('data-state')).toBe('connected');
    // The remote videos play real frames.
    await expect.poll(() => staff.locator('video.remote-video').evaluate((v: HTMLVideoElement) => v.videoWidth)).toBeGreaterThan(0);
    await expect.poll(() => patient.locator('video.remote-video').evaluate((v: HTMLVideoElement) => v.videoWidth)).toBeGreaterThan(0);
    expect((await request(`${t.baseUrl}/v1/visits/${visitId}`, { token: nurse.token })).body.status).toBe('in-progress');

    expect(await seriousViolations(staff), 'nurse call view').toEqual([]);
    expect(await seriousViolations(patient), 'patient visit page').toEqual([]);

    // A connected call is an attended screen: longer than the automatic logoff (20 minutes here)
    // without a key press or a click does not sign the nurse out, and the call goes on.
    await staff.clock.runFor('21:00');
    expect(await staff.getByRole('button', { name: 'Sign in' }).count()).toBe(0);
    await expect.poll(() => staff.locator('.call-status').getAttribute('data-state')).toBe('connected');
    const before = (await media(patient)).videoBytes;
    await expect.poll(async () => (await media(patient)).videoBytes).toBeGreaterThan(before);

    clock.advance(3 * 60_000);
    await staff.getByRole('button', { name: 'End visit' }).click();
    await staff.locator('[data-minutes="3"]').waitFor();
    await expect.poll(() => patient.locator('#visit-status').getAttribute('data-state')).toBe('ended');
    const month = new Date(clock.now()).toISOString().slice(0, 7);
    const log = await request(`${t.baseUrl}/v1/patients/pa-1/time?month=${month}`, { token: nurse.token });
    expect(log.body.entries.filter((e: { source: string }) => e.source === 'visit')).toMatchObject([{ minutes: 3, interactive: true, modality: 'video', staffId: nurse.id }]);
  });

  it('refuses the used link and an expired one, saying nothing about the visit, under the page’s own CSP', async () => {
    // Under the real CSP (no bypass): the page's own script runs and shows the refusal.
    const again = await newPage({ bypassCSP: false });
    const cspErrors: string[] = [];
    again.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    await again.goto(usedLink);
    await expect.poll(() => again.locator('#visit-status').getAttribute('data-state')).toBe('invalid');
    expect(await again.locator('main').innerText()).not.toMatch(/Maria|Gonzalez|pa-1|Ann|Clinic A/);
    expect(cspErrors).toEqual([]);

    // A new visit from the patient page; its link expires unused.
    const staff = await newPage();
    await signIn(staff, t.baseUrl, nurse.email);
    await staff.goto(`${t.baseUrl}/#/patients/pa-1`);
    await staff.getByRole('button', { name: 'Start video visit' }).click();
    await staff.waitForURL(/#\/visits\//);
    await staff.locator('[data-sms="sent"]').waitFor();
    const link = await staff.locator('#visit-link-url').inputValue();
    expect(twilio.messages.at(-1)?.form.get('Body')).toContain(link);
    expect(await seriousViolations(staff), 'nurse call view, waiting').toEqual([]);
    clock.advance(31 * 60_000);
    const late = await newPage();
    await late.goto(link);
    await expect.poll(() => late.locator('#visit-status').getAttribute('data-state')).toBe('invalid');
    expect(await late.locator('main').innerText()).toContain('This link is not valid');
    expect(await late.getByRole('button').count()).toBe(0);
    expect(await seriousViolations(late), 'patient page, refused').toEqual([]);

    const page = await request(`${t.baseUrl}/visit`);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(page.headers.get('permissions-policy')).toContain('camera=(self)');
  });
});
