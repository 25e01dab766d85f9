import { createHmac, generateKeyPairSync } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, exportJWK, importSPKI, jwtVerify } from 'jose';
import { TokenVerifier } from 'livekit-server-sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config/load-config.js';
import type { VideoRoomGrant } from '../../core/ports/video-provider.js';
import { tempDir } from '../../test/helpers/gateway.js';
import { EmbeddedVideoProvider, turnRestCredential } from './embedded-video-provider.js';
import { JitsiVideoProvider } from './jitsi-video-provider.js';
import { LiveKitVideoProvider } from './livekit-video-provider.js';
import { livekitWebhook } from '../../test/helpers/livekit-webhook.js';

const NOW = Date.parse('2026-12-07T15:00:00Z');
const grant = (overrides: Partial<VideoRoomGrant> = {}): VideoRoomGrant => ({
  room: 'r-9f2c1d7e6b5a4c3d',
  identity: 'patient-v-1',
  displayName: 'Patient',
  role: 'patient',
  expiresAtMs: NOW + 30 * 60_000,
  ...overrides,
});

describe('LiveKit adapter', () => {
  const settings = { url: 'wss://rpm.livekit.cloud', apiKey: 'APIrpmTest123', apiSecret: 'a'.repeat(20) + 'b'.repeat(24), joinUrl: 'https://meet.livekit.io/custom', webhooks: true };

  it('mints a room token that LiveKit’s own verifier accepts, for that one room, with the participant’s rights and expiry', async () => {
    const provider = new LiveKitVideoProvider(settings);
    // The SDK stamps tokens from the real clock.
    const join = await provider.join(grant({ expiresAtMs: Date.now() + 30 * 60_000 }), Date.now());
    if (join.provider !== 'livekit') throw new Error(join.provider);
    expect(join.serverUrl).toBe(settings.url);
    const claims = await new TokenVerifier(settings.apiKey, settings.apiSecret).verify(join.token);
    expect(claims.sub).toBe('patient-v-1');
    expect(claims.name).toBe('Patient');
    expect(claims.iss).toBe(settings.apiKey);
    expect(claims.video).toMatchObject({ room: 'r-9f2c1d7e6b5a4c3d', roomJoin: true, canPublish: true, canSubscribe: true, roomAdmin: false });
    expect(claims.attributes).toEqual({ role: 'patient' });
    // About 30 minutes from now (the grant's end), never open-ended.
    const exp = (claims as { exp?: number }).exp ?? 0;
    expect(exp * 1000 - Date.now()).toBeGreaterThan(29 * 60_000);
    expect(exp * 1000 - Date.now()).toBeLessThan(31 * 60_000);
    // The web client link carries the server and the token.
    const link = new URL(join.joinUrl ?? '');
    expect(link.origin + link.pathname).toBe('https://meet.livekit.io/custom');
    expect(link.searchParams.get('liveKitUrl')).toBe(settings.url);
    expect(link.searchParams.get('token')).toBe(join.token);
  });

  it('makes staff room admins; a token signed with another secret is refused', async () => {
    const provider = new LiveKitVideoProvider({ ...settings, joinUrl: undefined });
    const join = await provider.join(grant({ identity: 'staff-n-1', displayName: 'Ann Nurse', role: 'staff' }), Date.now());
    if (join.provider !== 'livekit') throw new Error(join.provider);
    expect(join.joinUrl).toBeNull();
    const claims = await new TokenVerifier(settings.apiKey, settings.apiSecret).verify(join.token);
    expect(claims.video?.roomAdmin).toBe(true);
    await expect(new TokenVerifier(settings.apiKey, 'x'.repeat(44)).verify(join.token)).rejects.toThrow();
  });

  it('reads LiveKit webhooks signed as LiveKit signs them; a wrong secret, a changed body or no signature is refused', async () => {
    const provider = new LiveKitVideoProvider(settings);
    expect(provider.presence).toBe('events');
    const at = Date.now() - 5_000;
    const joined = await livekitWebhook(settings.apiKey, settings.apiSecret, { event: 'participant_joined', room: 'rpm-abc', identity: 'patient-v-1', atMs: at, id: 'EV_1' });
    expect(await provider.receiveEvent(joined.body, joined.headers.authorization)).toEqual({ kind: 'participant-joined', id: 'EV_1', room: 'rpm-abc', identity: 'patient-v-1', atMs: Math.floor(at / 1000) * 1000 });
    const finished = await livekitWebhook(settings.apiKey, settings.apiSecret, { event: 'room_finished', room: 'rpm-abc', atMs: at });
    expect(await provider.receiveEvent(finished.body, finished.headers.authorization)).toMatchObject({ kind: 'room-finished', room: 'rpm-abc', identity: null });
    const started = await livekitWebhook(settings.apiKey, settings.apiSecret, { event: 'room_started', room: 'rpm-abc', atMs: at });
    expect((await provider.receiveEvent(started.body, started.headers.authorization)).kind).toBe('other');

    const forged = await livekitWebhook(settings.apiKey, 'z'.repeat(44), { event: 'participant_joined', room: 'rpm-abc', identity: 'patient-v-1', atMs: at });
    await expect(provider.receiveEvent(forged.body, forged.headers.authorization)).rejects.toMatchObject({ code: 'RPM_ERR_WEBHOOK_SIGNATURE_INVALID' });
    await expect(provider.receiveEvent(joined.body.replace('rpm-abc', 'rpm-xyz'), joined.headers.authorization)).rejects.toMatchObject({ code: 'RPM_ERR_WEBHOOK_SIGNATURE_INVALID' });
    await expect(provider.receiveEvent(joined.body, undefined)).rejects.toMatchObject({ code: 'RPM_ERR_WEBHOOK_SIGNATURE_INVALID' });
    expect(new LiveKitVideoProvider({ ...settings, webhooks: false }).presence).toBe('token');
  });
});

describe('Jitsi adapter', () => {
  const dir = tempDir('rpm-jitsi-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('self-hosted: an HS256 JWT for prosody token auth (iss app id, sub host, aud jitsi, the room, moderator for staff)', async () => {
    const secret = 's'.repeat(40);
    const provider = new JitsiVideoProvider({ url: 'https://meet.clinic.example', appId: 'rpm-gateway', signing: { kind: 'hs256', secret } });
    const join = await provider.join(grant({ identity: 'staff-n-1', displayName: 'Ann Nurse', role: 'staff' }), NOW);
    if (join.provider !== 'jitsi') throw new Error(join.provider);
    expect(join.joinUrl).toBe(`https://meet.clinic.example/r-9f2c1d7e6b5a4c3d?jwt=${join.token}`);
    const { payload, protectedHeader } = await jwtVerify(join.token, new TextEncoder().encode(secret), {
      issuer: 'rpm-gateway',
      subject: 'meet.clinic.example',
      audience: 'jitsi',
      currentDate: new Date(NOW),
    });
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload.room).toBe('r-9f2c1d7e6b5a4c3d');
    expect(payload.exp).toBe((NOW + 30 * 60_000) / 1000);
    expect(payload.context).toEqual({
      user: { id: 'staff-n-1', name: 'Ann Nurse', moderator: 'true' },
      features: { recording: 'false', livestreaming: 'false', transcription: 'false', 'outbound-call': 'false' },
    });
    // Expired after the grant's end; refused under another secret.
    await expect(jwtVerify(join.token, new TextEncoder().encode(secret), { currentDate: new Date(NOW + 31 * 60_000) })).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
    await expect(jwtVerify(join.token, new TextEncoder().encode('t'.repeat(40)))).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  });

  it('JaaS: an RS256 JWT with the key id, iss chat, sub the app id, and the room under the app id; the patient is no moderator', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyFile = path.join(dir, 'jaas.pk');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const appId = 'vpaas-magic-cookie-0123456789abcdef';
    const provider = new JitsiVideoProvider({ url: 'https://8x8.vc', appId, signing: { kind: 'rs256', kid: `${appId}/4f2a1b`, privateKeyFile: keyFile } });
    await provider.ready();
    const join = await provider.join(grant(), NOW);
    if (join.provider !== 'jitsi') throw new Error(join.provider);
    expect(join.joinUrl).toBe(`https://8x8.vc/${appId}/r-9f2c1d7e6b5a4c3d?jwt=${join.token}`);
    expect(decodeProtectedHeader(join.token)).toEqual({ alg: 'RS256', typ: 'JWT', kid: `${appId}/4f2a1b` });
    const jwk = { ...(await exportJWK(await importSPKI(publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'RS256'))), kid: `${appId}/4f2a1b`, alg: 'RS256' };
    const { payload } = await jwtVerify(join.token, createLocalJWKSet({ keys: [jwk] }), { issuer: 'chat', subject: appId, audience: 'jitsi', currentDate: new Date(NOW) });
    expect(payload).toMatchObject({ room: 'r-9f2c1d7e6b5a4c3d', context: { user: { id: 'patient-v-1', name: 'Patient', moderator: 'false' } } });
  });

  it('refuses to start with a key file that is not a PKCS#8 RSA key', async () => {
    const keyFile = path.join(dir, 'bad.pk');
    writeFileSync(keyFile, 'not a key');
    const provider = new JitsiVideoProvider({ url: 'https://8x8.vc', appId: 'vpaas-magic-cookie-x', signing: { kind: 'rs256', kid: 'k', privateKeyFile: keyFile } });
    await expect(provider.ready()).rejects.toThrow();
  });
});

describe('Embedded provider: ICE servers from the configuration', () => {
  it('gives STUN as is and TURN with TURN REST credentials that expire with the grant (coturn use-auth-secret)', async () => {
    const config = loadConfig({
      RPM_VIDEO_ICE_SERVERS: 'stun:stun.clinic.example:3478, turn:turn.clinic.example:3478?transport=udp,turns:turn.clinic.example:5349',
      RPM_VIDEO_TURN_SECRET: 'coturn-static-auth-secret-0123',
    });
    const provider = new EmbeddedVideoProvider({ ice: config.video.ice, signalingPath: '/v1/visits/signal' });
    const join = await provider.join(grant(), NOW);
    if (join.provider !== 'embedded') throw new Error(join.provider);
    expect(join.signalingPath).toBe('/v1/visits/signal');
    const expiry = (NOW + 30 * 60_000) / 1000;
    expect(join.iceServers).toEqual([
      { urls: ['stun:stun.clinic.example:3478'] },
      {
        urls: ['turn:turn.clinic.example:3478?transport=udp', 'turns:turn.clinic.example:5349'],
        username: `${expiry}:patient-v-1`,
        credential: createHmac('sha1', 'coturn-static-auth-secret-0123').update(`${expiry}:patient-v-1`).digest('base64'),
      },
    ]);
    expect(turnRestCredential('k'.repeat(16), 'u', 1_000_999)).toEqual({ username: '1000:u', credential: createHmac('sha1', 'k'.repeat(16)).update('1000:u').digest('base64') });
  });

  it('gives fixed TURN credentials when configured, and nothing when no ICE servers are set (same network only)', async () => {
    const fixed = loadConfig({ RPM_VIDEO_ICE_SERVERS: 'turn:turn.clinic.example:3478', RPM_VIDEO_TURN_USERNAME: 'rpm', RPM_VIDEO_TURN_CREDENTIAL: 'pw' });
    const join = await new EmbeddedVideoProvider({ ice: fixed.video.ice, signalingPath: '/s' }).join(grant(), NOW);
    expect(join).toEqual({ provider: 'embedded', signalingPath: '/s', iceServers: [{ urls: ['turn:turn.clinic.example:3478'], username: 'rpm', credential: 'pw' }], iceTransportPolicy: 'all' });
    const none = await new EmbeddedVideoProvider({ ice: loadConfig({}).video.ice, signalingPath: '/s' }).join(grant(), NOW);
    expect(none).toEqual({ provider: 'embedded', signalingPath: '/s', iceServers: [], iceTransportPolicy: 'all' });
    const relay = loadConfig({ RPM_VIDEO_ICE_SERVERS: 'turns:turn.clinic.example:5349', RPM_VIDEO_TURN_SECRET: 's'.repeat(16), RPM_VIDEO_ICE_TRANSPORT_POLICY: 'relay' });
    expect(await new EmbeddedVideoProvider({ ice: relay.video.ice, signalingPath: '/s' }).join(grant(), NOW)).toMatchObject({ iceTransportPolicy: 'relay' });
  });

  it('refuses configurations that cannot work, all problems at once', () => {
    expect(() => loadConfig({ RPM_VIDEO_PROVIDER: 'livekit' })).toThrow(/RPM_LIVEKIT_URL.*required[\s\S]*RPM_LIVEKIT_API_KEY[\s\S]*RPM_LIVEKIT_API_SECRET/);
    expect(() => loadConfig({ RPM_VIDEO_PROVIDER: 'jitsi', RPM_JITSI_URL: 'https://meet.example', RPM_JITSI_APP_ID: 'a' })).toThrow(/RPM_JITSI_APP_SECRET/);
    expect(() => loadConfig({ RPM_VIDEO_ICE_SERVERS: 'http://turn.example' })).toThrow(/RPM_VIDEO_ICE_SERVERS/);
    expect(() => loadConfig({ RPM_VIDEO_TURN_SECRET: 'x'.repeat(16), RPM_VIDEO_TURN_USERNAME: 'u', RPM_VIDEO_TURN_CREDENTIAL: 'p' })).toThrow(/not both/);
    expect(() => loadConfig({ RPM_VIDEO_PROVIDER: 'zoom' })).toThrow(/RPM_VIDEO_PROVIDER/);
    expect(() => loadConfig({ RPM_VIDEO_ICE_TRANSPORT_POLICY: 'relay', RPM_VIDEO_ICE_SERVERS: 'stun:stun.example:3478' })).toThrow(/relay needs a turn/);
  });
});
