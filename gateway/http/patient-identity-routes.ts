import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RpmError } from '../../core/errors/rpm-error.js';
import { CONSENT_METHODS, patientIdentityInput, telehealthConsentInput, type TelehealthConsent } from '../../core/model/patient-identity.js';
import { entityId } from '../../core/model/registry.js';
import { STAFF_ROLES } from '../../core/model/staff.js';
import type { IdentityView, Requester } from '../../pipeline/patients/patient-identity-service.js';
import type { GatewayContext } from '../context.js';
import { adminOrStaffAuthHook, assertPatientAccess } from './staff-auth.js';

const security: { [k: string]: string[] }[] = [{ adminToken: [] }, { staffSession: [] }];

export const identityView = z.object({
  patientId: z.string(),
  organizationId: z.string().nullable(),
  givenName: z.string(),
  familyName: z.string(),
  birthDate: z.string().describe('YYYY-MM-DD'),
  age: z.object({ value: z.number().int(), unit: z.literal('a') }).describe("Completed years on the patient's calendar (UCUM `a`, year)"),
  mrn: z.string().describe("Medical record number at the patient's organization"),
  phone: z.string().nullable().describe('E.164'),
  preferredLanguage: z.string().describe('BCP 47'),
  timeZone: z.string().describe('IANA'),
  version: z.number().int(),
  updatedAt: z.string(),
  updatedBy: z.string(),
});

const consentView = z.object({
  id: z.number().int(),
  granted: z.boolean(),
  method: z.enum(CONSENT_METHODS),
  obtainedAt: z.string(),
  recordedBy: z.string().describe('`staff:<id>` or `admin`'),
  recordedAt: z.string(),
});

export const toIdentityView = (i: IdentityView): z.infer<typeof identityView> => ({
  patientId: i.patientId,
  organizationId: i.organizationId,
  givenName: i.givenName,
  familyName: i.familyName,
  birthDate: i.birthDate,
  age: { value: i.ageYears, unit: 'a' },
  mrn: i.mrn,
  phone: i.phone,
  preferredLanguage: i.preferredLanguage,
  timeZone: i.timeZone,
  version: i.version,
  updatedAt: new Date(i.updatedAtMs).toISOString(),
  updatedBy: i.updatedBy,
});

const toConsentView = (c: TelehealthConsent): z.infer<typeof consentView> => ({
  id: c.id,
  granted: c.granted,
  method: c.method,
  obtainedAt: new Date(c.obtainedAtMs).toISOString(),
  recordedBy: c.recordedBy,
  recordedAt: new Date(c.recordedAtMs).toISOString(),
});

const headerView = z.object({
  patientId: z.string(),
  identity: identityView.nullable().describe('Null until someone records it'),
  programs: z.array(z.string()).describe("Condition programs of the patient's care plan"),
  careTeams: z.array(
    z.object({ id: z.string(), name: z.string(), members: z.array(z.object({ id: z.string(), displayName: z.string().nullable(), role: z.enum(STAFF_ROLES) })) }),
  ),
  telehealthConsent: consentView.nullable().describe('The consent in force (granted, not withdrawn since), if any'),
});

const params = z.object({ id: entityId });

/**
 * Patient identity and contact (PHI), the patient header and telehealth consent. Staff see only
 * patients in their scope (anything else answers 404); every read is audited (`identity.read`),
 * including refused ones. Writes: the bootstrap admin, organization admins and nurses with the
 * patient in scope; physicians read only.
 */
export async function patientIdentityRoutes(root: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', adminOrStaffAuthHook(ctx));
  const requester = (req: FastifyRequest): Requester => ({ actor: req.actor ?? 'admin', sourceIp: req.ip });

  /** 404 for a missing patient or one outside the staff member's scope (audited as denied). */
  const access = async (req: FastifyRequest, patientId: string, action: string, write: boolean): Promise<void> => {
    try {
      if ((await ctx.registry.getPatient(patientId)) === undefined) throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', 'patient not found');
      if (req.staff !== null) {
        await assertPatientAccess(ctx, req.staff, patientId);
        if (write && req.staff.role === 'physician') throw new RpmError('RPM_ERR_AUTH_FORBIDDEN', 'nurses and administrators record identity and consent');
      }
    } catch (err) {
      await ctx.identities.denied(patientId, requester(req), action);
      throw err;
    }
  };

  app.get(
    '/v1/patients/:id/identity',
    {
      schema: {
        summary: "A patient's identity and contact: name, date of birth and age, MRN, phone, language, time zone",
        description: 'PHI. Every read is audited (`identity.read`). Outside your scope: 404. No identity recorded yet: 404 `RPM_ERR_PATIENT_IDENTITY_NOT_FOUND`.',
        tags: ['patients'],
        security,
        params,
        response: { 200: identityView },
      },
    },
    async (req) => {
      await access(req, req.params.id, 'identity.read', false);
      const identity = await ctx.identities.read(req.params.id, requester(req));
      if (identity === undefined) throw new RpmError('RPM_ERR_PATIENT_IDENTITY_NOT_FOUND', 'no identity recorded for this patient');
      return toIdentityView(identity);
    },
  );

  app.put(
    '/v1/patients/:id/identity',
    {
      schema: {
        summary: "Record or change a patient's identity and contact",
        description:
          'Stored encrypted (AES-256-GCM, key id per value). The MRN is unique within the organization (409 `RPM_ERR_PATIENT_MRN_EXISTS`). Send the `version` you read as `expectedVersion` (0 for none yet) to refuse a concurrent change (409 `RPM_ERR_PATIENT_IDENTITY_CONFLICT`). Admins and nurses; physicians 403.',
        tags: ['patients'],
        security,
        params,
        body: patientIdentityInput,
        response: { 200: identityView },
      },
    },
    async (req) => {
      await access(req, req.params.id, 'identity.update', true);
      return toIdentityView(await ctx.identities.set(req.params.id, req.body, requester(req)));
    },
  );

  app.post(
    '/v1/patient-identities/lookup',
    {
      schema: {
        summary: 'Identities of several patients at once (the worklist): name, date of birth and age, MRN, phone, language, time zone',
        description:
          'PHI. A POST so that ids stay out of URLs (and long lists fit). Staff sessions: only patients in your scope are answered (others are left out, like patients without a recorded identity). One audit entry names every patient disclosed.',
        tags: ['patients'],
        security: [{ staffSession: [] }],
        body: z.object({ ids: z.array(z.string().max(128)).min(1).max(200).describe('Patient ids, at most 200') }),
        response: { 200: z.object({ identities: z.array(identityView) }) },
      },
    },
    async (req) => {
      const staff = req.staff;
      if (staff === null) throw new RpmError('RPM_ERR_AUTH_FORBIDDEN', 'for staff sessions');
      const ids = [...new Set(req.body.ids)];
      const visible: string[] = [];
      for (const id of ids) if (entityId.safeParse(id).success && (await ctx.staff.canSeePatient(staff, id))) visible.push(id);
      const found = await ctx.identities.readMany(visible, requester(req), `staff:${staff.id}:worklist`);
      return { identities: visible.flatMap((id) => (found.has(id) ? [toIdentityView(found.get(id) as IdentityView)] : [])) };
    },
  );

  app.post(
    '/v1/patients/:id/identity/from-ehr',
    {
      schema: {
        summary: "Fill the patient's identity from the EHR: the FHIR Patient with this MRN at one of the organization's FHIR destinations",
        description:
          "Looked up with `POST Patient/_search` under the destination's patient identifier system (the MRN stays out of URLs). Name, date of birth, phone (E.164), preferred language and the time zone extension come from the Patient; what it lacks, from this request. 422 `RPM_ERR_FHIR_PATIENT_UNKNOWN` / `_AMBIGUOUS` when the MRN finds none or several. Admins and nurses.",
        tags: ['patients'],
        security,
        params,
        body: z.object({
          destinationId: entityId,
          mrn: patientIdentityInput.shape.mrn,
          timeZone: z.string().max(64).optional().describe('IANA; used when the EHR gives none'),
          preferredLanguage: z.string().max(35).optional().describe('BCP 47; used when the EHR gives none (default en)'),
          phone: z.string().max(20).nullable().optional().describe('E.164; used when the EHR gives none in E.164'),
          expectedVersion: z.number().int().min(0).optional(),
        }),
        response: { 200: identityView },
      },
    },
    async (req) => {
      await access(req, req.params.id, 'identity.import', true);
      const b = req.body;
      const fallback = { ...(b.timeZone === undefined ? {} : { timeZone: b.timeZone }), ...(b.preferredLanguage === undefined ? {} : { preferredLanguage: b.preferredLanguage }), ...(b.phone === undefined ? {} : { phone: b.phone }) };
      return toIdentityView(
        await ctx.identities.fillFromEhr(req.params.id, { destinationId: b.destinationId, mrn: b.mrn, fallback, ...(b.expectedVersion === undefined ? {} : { expectedVersion: b.expectedVersion }) }, requester(req)),
      );
    },
  );

  app.get(
    '/v1/patients/:id/header',
    {
      schema: {
        summary: 'The patient header: identity (two identifiers: name and date of birth, with the MRN), programs, care team, telehealth consent',
        description: 'PHI. Audited as an identity read. Outside your scope: 404.',
        tags: ['patients'],
        security,
        params,
        response: { 200: headerView },
      },
    },
    async (req) => {
      const patientId = req.params.id;
      await access(req, patientId, 'identity.read', false);
      const by = requester(req);
      const [identity, plan, teams, consents] = await Promise.all([
        ctx.identities.read(patientId, by),
        ctx.carePlans.get(patientId),
        ctx.staff.careTeamsOfPatient(patientId),
        ctx.identities.consents(patientId, by),
      ]);
      return {
        patientId,
        identity: identity === undefined ? null : toIdentityView(identity),
        programs: [...plan.plan.programs],
        careTeams: teams.map(({ team, members }) => ({
          id: team.id,
          name: team.name,
          members: members.map((m) => ({ id: m.id, displayName: m.displayName, role: m.role })),
        })),
        telehealthConsent: consents.inForce === undefined ? null : toConsentView(consents.inForce),
      };
    },
  );

  app.post(
    '/v1/patients/:id/consents/telehealth',
    {
      schema: {
        summary: "Record the patient's telehealth consent (or its withdrawal): who, when, how",
        description: 'Append-only; the newest decision stands. Recorded at enrollment, before the first video visit. Admins and nurses; physicians 403.',
        tags: ['patients'],
        security,
        params,
        body: telehealthConsentInput,
        response: { 201: consentView },
      },
    },
    async (req, reply) => {
      await access(req, req.params.id, 'consent.record', true);
      const consent = await ctx.identities.recordConsent(
        req.params.id,
        { granted: req.body.granted, method: req.body.method, ...(req.body.obtainedAt === undefined ? {} : { obtainedAtMs: Date.parse(req.body.obtainedAt) }) },
        requester(req),
      );
      return reply.code(201).send(toConsentView(consent));
    },
  );

  app.get(
    '/v1/patients/:id/consents/telehealth',
    {
      schema: {
        summary: "The patient's telehealth consents, newest first, and the one in force",
        tags: ['patients'],
        security,
        params,
        response: { 200: z.object({ inForce: consentView.nullable(), consents: z.array(consentView) }) },
      },
    },
    async (req) => {
      await access(req, req.params.id, 'consent.read', false);
      const { consents, inForce } = await ctx.identities.consents(req.params.id, requester(req));
      return { inForce: inForce === undefined ? null : toConsentView(inForce), consents: consents.map(toConsentView) };
    },
  );
}
