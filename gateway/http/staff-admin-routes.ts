import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { displayPrefsPatch } from '../../core/display/units.js';
import { entityId } from '../../core/model/registry.js';
import { type CareTeam, addTeamMemberInput, staffPatchInput, addTeamPatientInput, createCareTeamInput, createOrganizationInput, createStaffInput } from '../../core/model/staff.js';
import type { GatewayContext } from '../context.js';
import { adminActor, adminOrStaffAuthHook } from './staff-auth.js';
import { careTeamView, organizationView, staffAdminView, toCareTeamView, toOrganizationView, toStaffAdminView } from './staff-views.js';

const tags = ['admin: organizations and staff'];
/** Audit subject of a care team: its id is unique only within its organization. */
const teamSubject = (team: CareTeam): string => `care-team:${team.organizationId}/${team.id}`;
/** The operator's admin token, or the session of a staff member with role `admin` (own organization only). */
const security: { [scheme: string]: string[] }[] = [{ adminToken: [] }, { staffSession: [] }];
const ORG_ADMIN_NOTE = 'Also open to staff with role `admin`, within their own organization; anything outside it answers 404.';
const idParams = z.object({ id: entityId });
/** Care team ids are unique within an organization: the operator may have to say which one. */
const teamQuery = z.object({
  organizationId: entityId.optional().describe("The team's organization. Organization admins: their own (implied). The operator: needed only when several organizations use this team id."),
});

/**
 * Organizations, staff accounts and care teams. The bootstrap admin token administers every
 * organization; an organization admin (staff role `admin`, with a session token) only their own.
 * The tenant checks live in StaffService.
 */
export async function staffAdminRoutes(root: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', adminOrStaffAuthHook(ctx));

  const audit = (req: FastifyRequest, action: string, subject: string, details: Record<string, string> | null = null): Promise<void> =>
    ctx.audit.record({ atMs: ctx.clock.now(), actor: req.actor ?? 'unknown', action, subject, outcome: 'success', sourceIp: req.ip, details });

  app.post(
    '/v1/admin/organizations',
    {
      schema: {
        summary: 'Create an organization (tenant)',
        description: 'Admin token only.',
        tags,
        security: [{ adminToken: [] }],
        body: createOrganizationInput,
        response: { 201: organizationView },
      },
    },
    async (req, reply) => {
      const org = await ctx.staff.createOrganization(req.body, adminActor(req));
      await audit(req, 'organization.create', `organization:${org.id}`);
      return reply.code(201).send(toOrganizationView(org));
    },
  );

  app.get(
    '/v1/admin/organizations/:id',
    { schema: { summary: 'Get an organization', description: ORG_ADMIN_NOTE, tags, security, params: idParams, response: { 200: organizationView } } },
    async (req) => toOrganizationView(await ctx.staff.requireOrganization(req.params.id, adminActor(req))),
  );

  app.get(
    '/v1/admin/organizations/:id/display',
    {
      schema: {
        summary: "The organization's display units and time zone",
        description: `What its staff read values in unless they choose otherwise (fields left out: kg, Cel, mg/dL, UTC). ${ORG_ADMIN_NOTE}`,
        tags,
        security,
        params: idParams,
        response: { 200: displayPrefsPatch },
      },
    },
    async (req) => (await ctx.staff.organizationDisplay(req.params.id, adminActor(req))) ?? {},
  );

  app.put(
    '/v1/admin/organizations/:id/display',
    {
      schema: {
        summary: "Set the organization's display units and time zone",
        description: `weightUnit (kg | [lb_av]), temperatureUnit (Cel | [degF]), glucoseUnit (mg/dL | mmol/L), timeZone (IANA). Values are stored in canonical units whatever is chosen here. ${ORG_ADMIN_NOTE}`,
        tags,
        security,
        params: idParams,
        body: displayPrefsPatch,
        response: { 200: displayPrefsPatch },
      },
    },
    async (req) => {
      const saved = await ctx.staff.setOrganizationDisplay(req.params.id, req.body, adminActor(req));
      await audit(req, 'organization.display', `organization:${req.params.id}`);
      return saved;
    },
  );

  app.post(
    '/v1/admin/staff',
    {
      schema: {
        summary: 'Create a staff account (nurse, physician or organization admin)',
        description: `The password (at least 12 characters) is stored only as an argon2id hash and never returned. The id is generated. ${ORG_ADMIN_NOTE}`,
        tags,
        security,
        body: createStaffInput,
        response: { 201: staffAdminView },
      },
    },
    async (req, reply) => {
      const staff = await ctx.staff.createStaff(req.body, adminActor(req));
      await audit(req, 'staff.create', `staff:${staff.id}`, { role: staff.role, organizationId: staff.organizationId });
      return reply.code(201).send(toStaffAdminView(staff));
    },
  );

  app.get(
    '/v1/admin/staff/:id',
    { schema: { summary: 'Get a staff account', description: ORG_ADMIN_NOTE, tags, security, params: idParams, response: { 200: staffAdminView } } },
    async (req) => toStaffAdminView(await ctx.staff.getStaff(req.params.id, adminActor(req))),
  );

  for (const [verb, status] of [['disable', 'disabled'], ['enable', 'active']] as const) {
    app.post(
      `/v1/admin/staff/:id/${verb}`,
      {
        schema: {
          summary: verb === 'disable' ? 'Disable a staff account; its sessions end at once' : 'Re-enable a disabled staff account',
          description: ORG_ADMIN_NOTE,
          tags,
          security,
          params: idParams,
          response: { 200: staffAdminView },
        },
      },
      async (req) => {
        const staff = await ctx.staff.setStaffStatus(req.params.id, status, adminActor(req));
        await audit(req, `staff.${verb}`, `staff:${staff.id}`);
        return toStaffAdminView(staff);
      },
    );
  }

  app.get(
    '/v1/admin/organizations/:id/staff',
    { schema: { summary: "An organization's staff accounts, active and disabled", description: ORG_ADMIN_NOTE, tags, security, params: idParams, response: { 200: z.object({ staff: z.array(staffAdminView) }) } } },
    async (req) => {
      const staff = await ctx.staff.listStaff(req.params.id, adminActor(req));
      await audit(req, 'staff.list', `organization:${req.params.id}`);
      return { staff: staff.map(toStaffAdminView) };
    },
  );

  app.patch(
    '/v1/admin/staff/:id',
    {
      schema: {
        summary: 'Change a staff account: role, charge nurse, phone (null removes it), display name',
        description: `A role change applies at the account's next request (sessions read it afresh). You cannot take away your own admin role. ${ORG_ADMIN_NOTE}`,
        tags,
        security,
        params: idParams,
        body: staffPatchInput,
        response: { 200: staffAdminView },
      },
    },
    async (req) => {
      const staff = await ctx.staff.updateStaff(req.params.id, req.body, adminActor(req));
      const changed: Record<string, string> = {};
      if (req.body.role !== undefined) changed.role = req.body.role;
      if (req.body.isChargeNurse !== undefined) changed.isChargeNurse = String(req.body.isChargeNurse);
      if (req.body.phone !== undefined) changed.phone = req.body.phone === null ? 'removed' : 'changed';
      if (req.body.displayName !== undefined) changed.displayName = 'changed';
      await audit(req, 'staff.update', `staff:${staff.id}`, changed);
      return toStaffAdminView(staff);
    },
  );

  app.get(
    '/v1/admin/organizations/:id/care-teams',
    {
      schema: {
        summary: "An organization's care teams with their members and patients",
        description: ORG_ADMIN_NOTE,
        tags,
        security,
        params: idParams,
        response: { 200: z.object({ teams: z.array(careTeamView.extend({ members: z.array(staffAdminView), patients: z.array(z.string()) })) }) },
      },
    },
    async (req) => {
      const teams = await ctx.staff.listCareTeams(req.params.id, adminActor(req));
      await ctx.audit.record({
        atMs: ctx.clock.now(),
        actor: req.actor ?? 'unknown',
        action: 'care-team.list',
        subject: `organization:${req.params.id}`,
        outcome: 'success',
        sourceIp: req.ip,
        details: { teams: teams.length },
        patientIds: [...new Set(teams.flatMap((t) => t.patients))],
      });
      return { teams: teams.map((t) => ({ ...toCareTeamView(t.team), members: t.members.map(toStaffAdminView), patients: t.patients })) };
    },
  );

  app.post(
    '/v1/admin/care-teams',
    {
      schema: { summary: 'Create a care team in an organization', description: ORG_ADMIN_NOTE, tags, security, body: createCareTeamInput, response: { 201: careTeamView } },
    },
    async (req, reply) => {
      const team = await ctx.staff.createCareTeam(req.body, adminActor(req));
      await audit(req, 'care-team.create', teamSubject(team), { organizationId: team.organizationId });
      return reply.code(201).send(toCareTeamView(team));
    },
  );

  app.get(
    '/v1/admin/care-teams/:id',
    {
      schema: {
        summary: 'Get a care team with its members',
        description: ORG_ADMIN_NOTE,
        tags,
        security,
        params: idParams,
        querystring: teamQuery,
        response: { 200: careTeamView.extend({ members: z.array(staffAdminView) }) },
      },
    },
    async (req) => {
      const { team, members } = await ctx.staff.getCareTeam(req.params.id, adminActor(req), req.query.organizationId);
      return { ...toCareTeamView(team), members: members.map(toStaffAdminView) };
    },
  );

  app.post(
    '/v1/admin/care-teams/:id/members',
    {
      schema: {
        summary: 'Add a staff member of the same organization to the care team',
        description: `Nurses on a team see only their teams' patients once the organization assigns patients to teams. ${ORG_ADMIN_NOTE}`,
        tags,
        security,
        params: idParams,
        querystring: teamQuery,
        body: addTeamMemberInput,
        response: { 201: z.object({ teamId: z.string(), staffId: z.string() }) },
      },
    },
    async (req, reply) => {
      const team = await ctx.staff.addTeamMember(req.params.id, req.body.staffId, adminActor(req), req.query.organizationId);
      await audit(req, 'care-team.add-member', teamSubject(team), { staffId: req.body.staffId });
      return reply.code(201).send({ teamId: req.params.id, staffId: req.body.staffId });
    },
  );

  app.delete(
    '/v1/admin/care-teams/:id/members/:staffId',
    {
      schema: { summary: 'Remove a staff member from the care team', description: ORG_ADMIN_NOTE, tags, security, params: z.object({ id: entityId, staffId: entityId }), querystring: teamQuery },
    },
    async (req, reply) => {
      const team = await ctx.staff.removeTeamMember(req.params.id, req.params.staffId, adminActor(req), req.query.organizationId);
      await audit(req, 'care-team.remove-member', teamSubject(team), { staffId: req.params.staffId });
      return reply.code(204).send();
    },
  );

  app.post(
    '/v1/admin/care-teams/:id/patients',
    {
      schema: {
        summary: 'Assign a patient of the same organization to the care team',
        description: ORG_ADMIN_NOTE,
        tags,
        security,
        params: idParams,
        querystring: teamQuery,
        body: addTeamPatientInput,
        response: { 201: z.object({ teamId: z.string(), patientId: z.string() }) },
      },
    },
    async (req, reply) => {
      const team = await ctx.staff.addTeamPatient(req.params.id, req.body.patientId, adminActor(req), req.query.organizationId);
      await audit(req, 'care-team.add-patient', `patient:${req.body.patientId}`, { teamId: team.id, organizationId: team.organizationId });
      return reply.code(201).send({ teamId: req.params.id, patientId: req.body.patientId });
    },
  );

  app.delete(
    '/v1/admin/care-teams/:id/patients/:patientId',
    {
      schema: { summary: 'Take a patient off the care team', description: ORG_ADMIN_NOTE, tags, security, params: z.object({ id: entityId, patientId: entityId }), querystring: teamQuery },
    },
    async (req, reply) => {
      const team = await ctx.staff.removeTeamPatient(req.params.id, req.params.patientId, adminActor(req), req.query.organizationId);
      await audit(req, 'care-team.remove-patient', `patient:${req.params.patientId}`, { teamId: team.id, organizationId: team.organizationId });
      return reply.code(204).send();
    },
  );
}
