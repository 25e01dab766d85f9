import type { Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validationErrors } from '../fhir/conformance.js';
import { isoMinutesAgo, request, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/*
 * Issue 11, items 6 and 7: the audit log is hash-chained and verifiable, exports as FHIR
 * AuditEvent, and records which patients a worklist read, a device read, a device list or a
 * rejection list disclosed, so each patient's accounting of disclosures finds them.
 */
interface Entry {
  seq: number;
  action: string;
  subject: string;
  patientIds: string[];
  prevHash: string;
  hash: string;
}

describe('audit trail: chained, exportable, and naming the patients each read disclosed', () => {
  let t: TestGateway;
  let nurse: string;

  const auditOf = async (subject: string): Promise<Entry[]> => (await t.admin.get(`/v1/admin/audit?subject=${encodeURIComponent(subject)}&limit=1000`)).body.entries;

  beforeAll(async () => {
    t = await startTestGateway();
    await t.admin.createOrganization('org-t');
    for (const p of ['pt-1', 'pt-2', 'pt-3']) await t.admin.createPatient(p, { organizationId: 'org-t' });
    await t.admin.createStaff({ email: 'nurse@t.example', role: 'nurse', organizationId: 'org-t' });
    nurse = await t.admin.login('nurse@t.example');
    for (const [device, patient] of [
      ['cuff-t1', 'pt-1'],
      ['cuff-t2', 'pt-2'],
    ] as const) {
      const secret = await t.admin.createDevice({ id: device, kind: 'bp-cuff', patientId: patient });
      const plan = await request(`${t.baseUrl}/v1/patients/${patient}/care-plan`, { token: nurse, method: 'PUT', json: { programs: ['general', 'hypertension'] } });
      expect(plan.status).toBe(200);
      const posted = await request(`${t.baseUrl}/v1/readings`, {
        token: secret,
        json: { readings: [{ kind: 'blood-pressure', systolic: 188, diastolic: 101, unit: 'mmHg', measuredAt: isoMinutesAgo(5) }, { kind: 'blood-pressure', systolic: 400, diastolic: 80, unit: 'mmHg', measuredAt: isoMinutesAgo(4) }] },
      });
      expect(posted.body.accepted).toBe(1);
    }
    await t.gw.ctx.alerting!.drain();
  });
  afterAll(async () => t.close());

  it('records which patients a worklist read showed, found by each patient', async () => {
    const list = await request(`${t.baseUrl}/v1/worklist`, { token: nurse });
    expect(list.body.patients.map((p: { patientId: string }) => p.patientId).sort()).toEqual(['pt-1', 'pt-2']);
    const read = (await auditOf('organization:org-t')).find((e) => e.action === 'worklist.read');
    expect(read?.patientIds).toEqual(['pt-1', 'pt-2']);
    expect((await auditOf('patient:pt-2')).some((e) => e.action === 'worklist.read' && e.seq === read?.seq)).toBe(true);
    expect((await auditOf('patient:pt-3')).some((e) => e.action === 'worklist.read')).toBe(false);
  });

  it('records operator reads of device assignments, device lists and rejections with the patients they name', async () => {
    expect((await t.admin.get('/v1/admin/devices/cuff-t1')).status).toBe(200);
    expect((await t.admin.get('/v1/admin/devices?limit=100')).status).toBe(200);
    const rejections = await t.admin.get('/v1/admin/devices/cuff-t2/rejections');
    expect(rejections.body.rejections).toHaveLength(1);
    const ofPt1 = await auditOf('patient:pt-1');
    expect(ofPt1.map((e) => e.action)).toEqual(expect.arrayContaining(['device.read', 'devices.list']));
    const ofPt2 = await auditOf('patient:pt-2');
    expect(ofPt2.map((e) => e.action)).toEqual(expect.arrayContaining(['devices.list', 'rejections.read']));
    expect(ofPt2.find((e) => e.action === 'rejections.read')?.subject).toBe('device:cuff-t2');
  });

  it('chains every entry to the one before and verifies on the server', async () => {
    const all: Entry[] = (await t.admin.get('/v1/admin/audit/export?limit=1000')).body.entries;
    expect(all[0]?.seq).toBe(1);
    for (let i = 1; i < all.length; i++) {
      expect(all[i]?.seq).toBe(i + 1);
      expect(all[i]?.prevHash).toBe(all[i - 1]?.hash);
    }
    const head = (await t.admin.get('/v1/admin/audit/head')).body;
    const verified = await t.admin.get(`/v1/admin/audit/verify?anchor=${head.anchor}`);
    expect(verified.body).toMatchObject({ ok: true });
    expect(verified.body.entries).toBeGreaterThanOrEqual(head.seq);
  });

  it('exports valid FHIR R4 AuditEvents in a Bundle, paged with a next link', async () => {
    const page = await t.admin.get('/v1/admin/audit/export?format=fhir&limit=5');
    expect(page.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect(page.body).toMatchObject({ resourceType: 'Bundle', type: 'collection' });
    expect(page.body.entry).toHaveLength(5);
    expect(page.body.link[0].url).toMatch(/after=5/);
    const all = await t.admin.get('/v1/admin/audit/export?format=fhir&limit=1000');
    for (const { resource } of all.body.entry as { resource: Resource & { subtype: { code: string }[] } }[]) {
      expect(validationErrors(resource), resource.subtype[0]?.code).toEqual([]);
    }
    const worklistRead = (all.body.entry as { resource: { subtype: { code: string }[]; entity: { what: unknown }[]; type: { code: string } } }[]).find(
      (e) => e.resource.subtype[0]?.code === 'worklist.read',
    )?.resource;
    expect(worklistRead?.type.code).toBe('110110');
    expect(worklistRead?.entity.map((e) => e.what)).toEqual(expect.arrayContaining([{ reference: 'Patient/pt-1' }, { reference: 'Patient/pt-2' }]));
  });
});
