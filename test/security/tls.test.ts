import { rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, tempDir, type TestGateway } from '../helpers/gateway.js';
import { createTestCa, type Issued, type TestCa } from '../helpers/test-ca.js';

/*
 * Issue 19: HTTPS for the API and dashboard with HSTS, certificates replaced without a restart
 * (file change and SIGHUP) on HTTPS and MQTT over TLS, and device client certificates (mutual
 * TLS) bound to the device id, all against a CA generated here.
 */

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: any;
  readonly protocol: string | null;
}

/** One HTTPS request on a fresh connection (so a reloaded certificate is seen), verifying the server against `ca`. */
function httpsRequest(port: number, pathname: string, options: { ca: string; client?: Issued; token?: string; json?: unknown; method?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = options.json === undefined ? undefined : JSON.stringify(options.json);
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: pathname,
        method: options.method ?? (body === undefined ? 'GET' : 'POST'),
        ca: options.ca,
        ...(options.client === undefined ? {} : { cert: options.client.cert, key: options.client.key }),
        agent: false,
        headers: {
          ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
      },
      (res) => {
        const protocol = (res.socket as tls.TLSSocket).getProtocol();
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text === '' ? undefined : JSON.parse(text), protocol }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The serial number of the certificate a TLS listener presents now. */
function servedSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial);
    });
    socket.on('error', reject);
  });
}


async function mqttConnect(port: number, options: IClientOptions): Promise<MqttClient> {
  const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, clean: true, rejectUnauthorized: true, ...options }, false);
  client.on('error', () => undefined);
  return client;
}

async function connackCode(port: number, options: IClientOptions): Promise<number> {
  try {
    const c = await mqttConnect(port, options);
    await c.endAsync(true);
    return 0;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'number') throw err;
    return code;
  }
}

// Each reading its own instant: the gateway keeps one reading per device, kind and instant, so two
// sent within one second would be one reading under the first client id.
let readingSeq = 0;
const reading = (id: string) => ({ readings: [{ id, kind: 'heart-rate', value: 72, unit: '/min', measuredAt: new Date(Date.now() - 120_000 - readingSeq++ * 1000).toISOString() }] });

async function tlsGateway(ca: TestCa, dir: string, env: Record<string, string>): Promise<TestGateway> {
  const server = ca.server();
  writeFileSync(path.join(dir, 'cert.pem'), server.cert);
  writeFileSync(path.join(dir, 'key.pem'), server.key);
  writeFileSync(path.join(dir, 'ca.pem'), ca.cert);
  return startTestGateway({
    RPM_HTTP_TLS_CERT: path.join(dir, 'cert.pem'),
    RPM_HTTP_TLS_KEY: path.join(dir, 'key.pem'),
    RPM_MQTT_TLS_CERT: path.join(dir, 'cert.pem'),
    RPM_MQTT_TLS_KEY: path.join(dir, 'key.pem'),
    RPM_MQTT_TLS_PORT: '0',
    ...env,
  });
}

describe('HTTPS with HSTS, and certificate reload without restart (HTTPS and MQTT over TLS)', () => {
  let dir: string;
  let ca: TestCa;
  let t: TestGateway;

  beforeAll(async () => {
    dir = tempDir('rpm-tls-');
    ca = createTestCa();
    t = await tlsGateway(ca, dir, { RPM_TLS_RELOAD_CHECK_S: '1' });
  });
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the API and the dashboard over TLS 1.2+ with Strict-Transport-Security', async () => {
    const health = await httpsRequest(t.gw.httpPort, '/healthz', { ca: ca.cert });
    expect(health.status).toBe(200);
    expect(['TLSv1.2', 'TLSv1.3']).toContain(health.protocol);
    expect(health.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    const api = await httpsRequest(t.gw.httpPort, '/v1/admin/organizations', { ca: ca.cert, token: ADMIN_TOKEN, json: { id: 'org-tls', name: 'TLS' } });
    expect(api.status).toBe(201);
    expect(api.headers['strict-transport-security']).toMatch(/^max-age=\d+/);
    // A TLS 1.1 client is refused.
    await expect(
      new Promise((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port: t.gw.httpPort, ca: ca.cert, servername: 'localhost', minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }, () => resolve(s.getProtocol()));
        s.on('error', reject);
      }),
    ).rejects.toThrow();
  });

  it('picks up a replaced certificate on both listeners without a restart, keeps the old one when the new files do not match, and reloads on SIGHUP', async () => {
    const first = await servedSerial(t.gw.httpPort, ca.cert);
    expect(await servedSerial(t.gw.mqttTlsPort!, ca.cert)).toBe(first);

    const renewed = ca.server('gateway-renewed');
    writeFileSync(path.join(dir, 'key.pem'), renewed.key);
    writeFileSync(path.join(dir, 'cert.pem'), renewed.cert);
    const renewedSerial = new (await import('node:crypto')).X509Certificate(renewed.cert).serialNumber;
    await expect.poll(() => servedSerial(t.gw.httpPort, ca.cert), { timeout: 15_000, interval: 200 }).toBe(renewedSerial);
    await expect.poll(() => servedSerial(t.gw.mqttTlsPort!, ca.cert), { timeout: 15_000, interval: 200 }).toBe(renewedSerial);
    expect((await httpsRequest(t.gw.httpPort, '/healthz', { ca: ca.cert })).status).toBe(200);

    // Half a rotation (a new certificate, the old key): refused, the renewed certificate stays.
    const next = ca.server('gateway-next');
    writeFileSync(path.join(dir, 'cert.pem'), next.cert);
    expect(t.gw.reloadTls('test')).toBe(false);
    expect(await servedSerial(t.gw.httpPort, ca.cert)).toBe(renewedSerial);
    // The key arrives: SIGHUP's reload applies it at once.
    writeFileSync(path.join(dir, 'key.pem'), next.key);
    expect(t.gw.reloadTls('SIGHUP')).toBe(true);
    const nextSerial = new (await import('node:crypto')).X509Certificate(next.cert).serialNumber;
    expect(await servedSerial(t.gw.httpPort, ca.cert)).toBe(nextSerial);
    expect(await servedSerial(t.gw.mqttTlsPort!, ca.cert)).toBe(nextSerial);
  });
});

describe('device client certificates (mutual TLS) bound to the device id', () => {
  /** The operator's API over HTTPS (the test helper's client speaks plain HTTP). */
  const admin = (g: TestGateway, pathname: string, json?: unknown, method?: string): Promise<Answer> =>
    httpsRequest(g.gw.httpPort, pathname, { ca: ca.cert, token: ADMIN_TOKEN, ...(json === undefined ? {} : { json }), ...(method === undefined ? {} : { method }) });
  const stored = async (g: TestGateway): Promise<any[]> => (await admin(g, '/v1/patients/p-1/readings')).body.readings;
  let dir: string;
  let ca: TestCa;
  let rogue: TestCa;
  let t: TestGateway;
  let req: TestGateway;
  let cuffSecret = '';
  let otherSecret = '';
  let reqDir = '';

  beforeAll(async () => {
    dir = tempDir('rpm-mtls-');
    ca = createTestCa();
    rogue = createTestCa('Someone else');
    const env = (mode: string) => ({ RPM_DEVICE_CLIENT_CERTS: mode, RPM_HTTP_TLS_CA: path.join(dir, 'ca.pem'), RPM_MQTT_TLS_CA: path.join(dir, 'ca.pem') });
    t = await tlsGateway(ca, dir, env('accept'));
    reqDir = tempDir('rpm-mtls-req-');
    writeFileSync(path.join(reqDir, 'ca.pem'), ca.cert);
    req = await tlsGateway(ca, reqDir, { ...env('require'), RPM_HTTP_TLS_CA: path.join(reqDir, 'ca.pem'), RPM_MQTT_TLS_CA: path.join(reqDir, 'ca.pem') });
    for (const g of [t, req]) await admin(g, '/v1/admin/patients', { id: 'p-1' });
    cuffSecret = (await admin(t, '/v1/admin/devices', { id: 'cuff-1', kind: 'bp-cuff', patientId: 'p-1' })).body.secret;
    otherSecret = (await admin(t, '/v1/admin/devices', { id: 'cuff-2', kind: 'bp-cuff', patientId: 'p-1' })).body.secret;
  });
  afterAll(async () => {
    await t?.close();
    await req?.close();
    rmSync(dir, { recursive: true, force: true });
    if (reqDir !== '') rmSync(reqDir, { recursive: true, force: true });
  });

  it('HTTPS (accept): a certificate naming the device authenticates it without a secret; others do not', async () => {
    const byCn = ca.client('cuff-1');
    const ok = await httpsRequest(t.gw.httpPort, '/v1/readings', { ca: ca.cert, client: byCn, json: reading('cert-1') });
    expect(ok.status).toBe(202);
    // The subjectAltName forms name a device too.
    const bySan = ca.client('someone', ['URI:urn:rpm:device:cuff-1']);
    expect((await httpsRequest(t.gw.httpPort, '/v1/readings', { ca: ca.cert, client: bySan, json: reading('cert-2') })).status).toBe(202);
    const byDns = ca.client('someone', ['DNS:cuff-2']);
    expect((await httpsRequest(t.gw.httpPort, '/v1/readings', { ca: ca.cert, client: byDns, json: reading('cert-3') })).status).toBe(202);
    // A certificate of another CA names nobody; neither does one for an unknown device.
    const forged = await httpsRequest(t.gw.httpPort, '/v1/readings', { ca: ca.cert, client: rogue.client('cuff-1'), json: reading('cert-4') });
    expect([forged.status, forged.body.code]).toEqual([401, 'RPM_ERR_AUTH_MISSING']);
    expect((await httpsRequest(t.gw.httpPort, '/v1/readings', { ca: ca.cert, client: ca.client('ghost-9'), json: reading('cert-5') })).status).toBe(401);
    // A secret sent with a certificate must be the same device's.
    const mixed = await httpsRequest(t.gw.httpPort, '/v1/readings', { ca: ca.cert, client: byCn, token: otherSecret, json: reading('cert-6') });
    expect([mixed.status, mixed.body.code]).toEqual([401, 'RPM_ERR_AUTH_INVALID']);
    expect((await httpsRequest(t.gw.httpPort, '/v1/readings', { ca: ca.cert, client: byCn, token: cuffSecret, json: reading('cert-7') })).status).toBe(202);
    // Without a certificate the secret works as before; the dashboard needs none.
    expect((await httpsRequest(t.gw.httpPort, '/v1/readings', { ca: ca.cert, token: otherSecret, json: reading('cert-8') })).status).toBe(202);
    expect((await httpsRequest(t.gw.httpPort, '/healthz', { ca: ca.cert })).status).toBe(200);
    const ids = (await stored(t)).map((r) => `${r.deviceId}:${r.clientId}`).sort();
    expect(ids).toEqual(['cuff-1:cert-1', 'cuff-1:cert-2', 'cuff-1:cert-7', 'cuff-2:cert-3', 'cuff-2:cert-8'].sort());
  });

  it('MQTT over TLS (accept): the certificate opens only its own device, and revocation closes it', async () => {
    const port = t.gw.mqttTlsPort!;
    const cert = ca.client('cuff-1');
    const client = await mqttConnect(port, { ca: ca.cert, cert: cert.cert, key: cert.key, username: 'cuff-1' });
    await client.publishAsync('devices/cuff-1/readings', JSON.stringify(reading('mqtt-cert-1')), { qos: 1 });
    expect((await stored(t)).some((r) => r.clientId === 'mqtt-cert-1')).toBe(true);
    // The certificate names cuff-1, not cuff-2; nor does a rogue CA's certificate name anyone.
    expect(await connackCode(port, { ca: ca.cert, cert: cert.cert, key: cert.key, username: 'cuff-2' })).toBe(4);
    const forged = rogue.client('cuff-1');
    expect(await connackCode(port, { ca: ca.cert, cert: forged.cert, key: forged.key, username: 'cuff-1' })).toBe(4);
    // A secret of another device with this certificate is refused too.
    expect(await connackCode(port, { ca: ca.cert, cert: cert.cert, key: cert.key, username: 'cuff-2', password: otherSecret })).toBe(4);
    // Revoking the device ends the certificate session at once.
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    expect((await admin(t, '/v1/admin/devices/cuff-1/revoke', {})).status).toBe(200);
    await closed;
    expect(await connackCode(port, { ca: ca.cert, cert: cert.cert, key: cert.key, username: 'cuff-1' })).toBe(5);
  });

  it('require: a secret alone no longer opens a device connection, on HTTPS or MQTT over TLS', async () => {
    const secret = (await admin(req, '/v1/admin/devices', { id: 'cuff-3', kind: 'bp-cuff', patientId: 'p-1' })).body.secret;
    const alone = await httpsRequest(req.gw.httpPort, '/v1/readings', { ca: ca.cert, token: secret, json: reading('req-1') });
    expect([alone.status, alone.body.code]).toEqual([401, 'RPM_ERR_AUTH_INVALID']);
    const cert = ca.client('cuff-3');
    expect((await httpsRequest(req.gw.httpPort, '/v1/readings', { ca: ca.cert, client: cert, token: secret, json: reading('req-2') })).status).toBe(202);
    expect(await connackCode(req.gw.mqttTlsPort!, { ca: ca.cert, username: 'cuff-3', password: secret })).toBe(5);
    expect(await connackCode(req.gw.mqttTlsPort!, { ca: ca.cert, cert: cert.cert, key: cert.key, username: 'cuff-3', password: secret })).toBe(0);
    // Plain MQTT (no TLS) cannot carry a certificate: refused as well.
    const plain = await mqtt
      .connectAsync(`mqtt://127.0.0.1:${req.mqttPort}`, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, username: 'cuff-3', password: secret }, false)
      .then(() => 0, (err: { code?: number }) => err.code);
    expect(plain).toBe(5);
    // Staff and the operator are not devices: their routes are unaffected.
    expect((await httpsRequest(req.gw.httpPort, '/v1/admin/devices/cuff-3', { ca: ca.cert, token: ADMIN_TOKEN })).status).toBe(200);
  });
});
