import type { Observation as FhirObservation } from '@medplum/fhirtypes';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logging.js';
import type { Destination } from '../../core/model/destination.js';
import type { DeliveryItem } from '../../core/ports/clinical-record-sink.js';
import { type CapabilityMode, FhirTestServer, type FhirTestServerOptions } from '../../test/fhir-server/fhir-test-server.js';
import { conformanceErrors } from '../../test/fhir/conformance.js';
import { destination, fhirReading, registryDevice } from '../../test/fhir/readings.js';
import { FhirSink } from './fhir-sink.js';

const SYSTEM_BASE = 'https://rpm.test/fhir';
const READING_SYSTEM = `${SYSTEM_BASE}/sid/rpm-reading`;
const log = createLogger('silent');

const cuff = registryDevice();
const hub = registryDevice({ id: 'hub-1', kind: 'hub', serial: 'HUB-9', model: 'Hub', simulated: false });
const scale = registryDevice({ id: 'scale-1', kind: 'scale', serial: 'SC-1', model: 'S1', simulated: true });

const T0 = Date.now();
/** The destination's literal reference for patient p-1 (the worker resolves it from the patient mapping). */
const P1 = { kind: 'literal', reference: 'Patient/p-1' } as const;

/** Five readings that make six Observations (the cuff's pulse is its own Observation); `at` shifts their times. */
function items(at = 0): DeliveryItem[] {
  const t = T0 - at * 3_600_000;
  return [
    { reading: fhirReading({ id: 'bp', kind: 'blood-pressure', systolic: 141, diastolic: 92, pulse: 70, unit: 'mmHg' }, {}, t), patient: P1, device: cuff, hub: undefined },
    { reading: fhirReading({ id: 'w', kind: 'body-weight', value: 182, unit: 'lb' }, { deviceId: 'scale-1', hubId: 'hub-1' }, t), patient: P1, device: scale, hub },
    { reading: fhirReading({ id: 't', kind: 'body-temperature', value: 37.1, unit: 'Cel' }, {}, t), patient: P1, device: cuff, hub: undefined },
    { reading: fhirReading({ id: 'g', kind: 'blood-glucose', value: 7.1, unit: 'mmol/L', method: 'cgm' }, {}, t), patient: P1, device: cuff, hub: undefined },
    { reading: fhirReading({ id: 's', kind: 'spo2', value: 97, unit: '%' }, {}, t), patient: P1, device: cuff, hub: undefined },
  ];
}

describe('FhirSink against a real FHIR server (fhir-kit-client over HTTP)', () => {
  let server: FhirTestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const start = async (options: FhirTestServerOptions = {}): Promise<{ server: FhirTestServer; sink: FhirSink; dest: Destination }> => {
    server = await FhirTestServer.start(options);
    return { server, sink: new FhirSink({ systemBase: SYSTEM_BASE, timeoutMs: 2000, log }), dest: destination(server.baseUrl) };
  };

  const expectOnce = async (s: FhirTestServer, observations: number): Promise<void> => {
    const counts = await s.countByIdentifier('Observation', READING_SYSTEM);
    expect(counts.size).toBe(observations);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  };

  const modes: Array<[string, CapabilityMode, boolean, string]> = [
    ['conditional create in batch Bundles', 'conditional-create', true, 'conditional-create'],
    ['conditional create, one request each', 'conditional-create', false, 'conditional-create'],
    ['PUT to a deterministic id in batch Bundles', 'update-as-create', true, 'update-as-create'],
    ['PUT to a deterministic id, one request each', 'update-as-create', false, 'update-as-create'],
    ['search then create in batch Bundles', 'search-only', true, 'search-then-create'],
    ['search then create, one request each', 'search-only', false, 'search-then-create'],
    ['no CapabilityStatement: search then create, one request each', 'no-metadata', true, 'search-then-create'],
  ];
  for (const [name, capability, batch, interaction] of modes) {
    it(`${name}: delivers every Observation once, and a resend creates nothing`, async () => {
      const { server: s, sink, dest } = await start({ capability, batch });
      const batch1 = items();
      const first = await sink.deliver(dest, batch1);
      expect(first.map((r) => r.status)).toEqual(['delivered', 'delivered', 'delivered', 'delivered', 'delivered']);
      expect(sink.describe(dest.id)).toEqual({ interaction, batch: batch && capability !== 'no-metadata' });
      await expectOnce(s, 6);
      // Resent (a lost answer, a crash before recording): recognised, same server ids.
      const again = await sink.deliver(dest, batch1);
      expect(again).toEqual(first);
      await expectOnce(s, 6);
      // One Device per physical device, created once.
      expect((await s.all('Device')).length).toBe(3);
      // The CapabilityStatement was read once, for both exchanges.
      expect(s.requests.filter((r) => r.path === '/metadata')).toHaveLength(1);
      const usedBundles = s.requests.some((r) => r.method === 'POST' && r.path === '/' && r.entries > 1);
      expect(usedBundles).toBe(batch && capability !== 'no-metadata');
      for (const o of await s.all<FhirObservation>('Observation')) expect(conformanceErrors(o)).toEqual([]);
    });
  }

  it('references the Devices the server created, with the hub in the gatewayDevice extension', async () => {
    const { server: s, sink, dest } = await start();
    const [bp, weight] = await sink.deliver(dest, items());
    expect(bp?.status).toBe('delivered');
    const observations = await s.all<FhirObservation>('Observation');
    const devices = await s.all('Device');
    const byRef = (ref: string | undefined) => devices.find((d) => `Device/${d.id}` === ref);
    const w = observations.find((o) => weight?.status === 'delivered' && weight.refs.includes(`Observation/${o.id}`));
    expect(byRef(w?.device?.reference)).toMatchObject({ serialNumber: 'SC-1', meta: { security: [{ code: 'HTEST' }] } });
    expect(byRef(w?.extension?.[0]?.valueReference?.reference)).toMatchObject({ serialNumber: 'HUB-9' });
    expect(w?.meta?.security?.[0]?.code).toBe('HTEST');
  });

  it('names devices by identifier where the server keeps no Device resources', async () => {
    const { server: s, sink, dest } = await start({ devices: false });
    await sink.deliver(dest, items());
    const [o] = await s.all<FhirObservation>('Observation');
    expect(o?.device).toMatchObject({ identifier: { system: `${SYSTEM_BASE}/sid/rpm-device` } });
    expect(await s.all('Device')).toHaveLength(0);
  });

  for (const batch of [true, false]) {
    it(`one refused Observation does not block the others (${batch ? 'batch' : 'single requests'}); it is dead with the server's OperationOutcome`, async () => {
      const { server: s, sink, dest } = await start({ batch });
      s.refuse((r) => (r.resourceType === 'Observation' && JSON.stringify(r).includes('8310-5') ? 'temperatures are not accepted here' : undefined));
      const results = await sink.deliver(dest, items());
      expect(results.map((r) => r.status)).toEqual(['delivered', 'delivered', 'dead', 'delivered', 'delivered']);
      expect(results[2]).toMatchObject({
        status: 'dead',
        code: 'RPM_ERR_UPSTREAM_FHIR_REJECTED',
        message: expect.stringContaining('422'),
        outcome: { resourceType: 'OperationOutcome', issue: [{ details: { text: 'temperatures are not accepted here' } }] },
      });
      await expectOnce(s, 5);
    });
  }

  for (const batch of [true, false]) {
    it(`dead-letters a 412 (our identifier matches several resources at the EHR) as a data-integrity conflict, without blocking the others (${batch ? 'batch' : 'single requests'})`, async () => {
      const { server: s, sink, dest } = await start({ batch });
      const sent = items();
      expect((await sink.deliver(dest, sent)).every((r) => r.status === 'delivered')).toBe(true);
      // Someone else wrote a second Observation under our identifier of the weight reading.
      const weight = (await s.all<FhirObservation>('Observation')).find((o) => o.code.coding?.some((c) => c.code === '29463-7'));
      if (weight === undefined) throw new Error('weight Observation not stored');
      await s.repo.createResource({ ...weight, id: undefined, meta: undefined });
      const again = await sink.deliver(dest, sent);
      expect(again.map((r) => r.status)).toEqual(['delivered', 'dead', 'delivered', 'delivered', 'delivered']);
      expect(again[1]).toMatchObject({ status: 'dead', code: 'RPM_ERR_UPSTREAM_FHIR_CONFLICT', message: expect.stringContaining('412') });
      const counts = await s.countByIdentifier('Observation', READING_SYSTEM);
      expect([...counts.values()].sort()).toEqual([1, 1, 1, 1, 1, 2]);
    });
  }

  it('turns a server that is down, a 503 and a lost answer into our coded errors, and a resend after a lost answer creates nothing twice', async () => {
    const { server: s, sink, dest } = await start();
    expect((await sink.deliver(dest, items())).every((r) => r.status === 'delivered')).toBe(true);
    const batch = items(1);
    await s.down();
    const down = await sink.deliver(dest, batch).catch((e: unknown) => e);
    expect(down).toMatchObject({ name: 'RpmError', code: 'RPM_ERR_UPSTREAM_FHIR' });
    await s.up();
    s.failNext(1, 503, 7);
    const busy = await sink.deliver(dest, batch).catch((e: unknown) => e);
    expect(busy).toMatchObject({ name: 'RpmError', code: 'RPM_ERR_UPSTREAM_FHIR', retryAfterSeconds: 7, details: { status: 503 } });
    // The server commits the batch and the answer is lost.
    s.dropAfterCommit(1);
    const lost = await sink.deliver(dest, batch).catch((e: unknown) => e);
    expect(lost).toMatchObject({ name: 'RpmError', code: 'RPM_ERR_UPSTREAM_FHIR' });
    await expectOnce(s, 12);
    expect((await sink.deliver(dest, batch)).every((r) => r.status === 'delivered')).toBe(true);
    await expectOnce(s, 12);
  });

  it('times out a server that does not answer, as a retryable error', async () => {
    const { server: s, dest } = await start();
    const sink = new FhirSink({ systemBase: SYSTEM_BASE, timeoutMs: 150, log });
    s.latencyMs = 400;
    await expect(sink.deliver(dest, items())).rejects.toMatchObject({ code: 'RPM_ERR_UPSTREAM_FHIR_TIMEOUT', details: { reason: 'timeout' } });
  });

  it('authenticates with basic and bearer credentials, and reports refused credentials as RPM_ERR_UPSTREAM_FHIR_AUTH', async () => {
    const { server: s, sink } = await start({ auth: { type: 'basic', username: 'rpm', password: 'pa55word' } });
    expect((await sink.deliver(destination(s.baseUrl, { auth: { type: 'basic', username: 'rpm', password: 'pa55word' } }), items().slice(0, 1)))[0]?.status).toBe('delivered');
    await expect(sink.deliver(destination(s.baseUrl, { id: 'other', auth: { type: 'basic', username: 'rpm', password: 'wrong' } }), items().slice(0, 1))).rejects.toMatchObject({
      code: 'RPM_ERR_UPSTREAM_FHIR_AUTH',
    });
    await s.close();
    server = await FhirTestServer.start({ auth: { type: 'bearer', token: 'tok-123' } });
    expect((await sink.deliver(destination(server.baseUrl, { id: 'b', auth: { type: 'bearer', token: 'tok-123' } }), items().slice(0, 1)))[0]?.status).toBe('delivered');
  });

  for (const alg of ['RS384', 'ES384'] as const) {
    it(`authenticates with SMART Backend Services (${alg} client assertion), reuses the token, and renews it after a 401`, async () => {
      const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
      const { server: s, sink } = await start({ auth: { type: 'smart', clientId: 'rpm-gw', publicJwk: await exportJWK(publicKey), alg } });
      const pem = await exportPKCS8(privateKey);
      // Token URL discovered from .well-known/smart-configuration; the key given as PEM.
      const dest = destination(s.baseUrl, { auth: { type: 'smart-backend', clientId: 'rpm-gw', alg, privateKey: pem, scope: 'system/Observation.write' } });
      expect((await sink.deliver(dest, items())).every((r) => r.status === 'delivered')).toBe(true);
      expect((await sink.deliver(dest, items())).every((r) => r.status === 'delivered')).toBe(true);
      expect(s.tokenRequests).toBe(1);
      s.revokeTokens();
      expect((await sink.deliver(dest, items())).every((r) => r.status === 'delivered')).toBe(true);
      expect(s.tokenRequests).toBe(2);
      await expectOnce(s, 6);
      // Another client's key (as a JWK) is refused by the token endpoint.
      const stranger = await generateKeyPair(alg, { extractable: true });
      const wrong = destination(s.baseUrl, { id: 'wrong', auth: { type: 'smart-backend', clientId: 'rpm-gw', alg, privateKey: (await exportJWK(stranger.privateKey)) as never, tokenUrl: s.tokenUrl, scope: 'x' } });
      await expect(sink.deliver(wrong, items())).rejects.toMatchObject({ code: 'RPM_ERR_UPSTREAM_FHIR_AUTH', message: expect.stringContaining('invalid_client') });
    });
  }

  it('dead-letters a reading whose patient id cannot be a FHIR id in a literal reference', async () => {
    const { sink, dest } = await start();
    const [r] = await sink.deliver(dest, [{ reading: fhirReading({ kind: 'heart-rate', value: 60, unit: '/min' }, { patientId: 'p:1_x' }), patient: { kind: 'literal', reference: 'Patient/p:1_x' }, device: cuff, hub: undefined }]);
    expect(r).toMatchObject({ status: 'dead', code: 'RPM_ERR_FHIR_INVALID' });
  });
});
