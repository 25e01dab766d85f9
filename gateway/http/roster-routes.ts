import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { rosterQuery } from '../../rules/panel/roster-query.js';
import type { GatewayContext } from '../context.js';
import { requester } from '../worklist/worklist-routes.js';
import { staffAuthHook } from './staff-auth.js';

const security = [{ staffSession: [] }];
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const rosterRow = z.object({
  patientId: z.string(),
  identity: z
    .object({ name: z.string(), birthDate: z.string(), ageYears: z.number().int().describe('years'), mrn: z.string() })
    .nullable()
    .describe('The patient header (name, date of birth, MRN) when recorded; else only the id'),
  programs: z.array(z.string()),
  riskTier: z.number().int(),
  careTeams: z.array(z.object({ id: z.string(), name: z.string() })),
  mine: z.boolean().describe('On one of your care teams'),
  lastReadings: z.array(
    z.object({
      kind: z.string(),
      text: z.string().describe('Values with their units, in your display units'),
      measuredAt: z.string(),
      measuredAtText: z.string().describe('In your time zone, with the zone'),
      manual: z.boolean().describe('Entered by staff, not by a device'),
    }),
  ),
  devicePeriod: z
    .object({
      start: z.string(),
      end: z.string(),
      days: z.number().int().describe('days with automated readings so far'),
      target: z.number().int().describe('days needed for the full device-supply code (16 in CY2026)'),
      daysToGo: z.number().int().describe('days'),
      daysLeft: z.number().int().describe('days left in the period, today included'),
      codeSoFar: z.string().nullable(),
    })
    .nullable()
    .describe('The current 30-day device period, in the patient’s time zone'),
  management: z
    .object({
      month: z.string(),
      minutes: z.number().int().describe('min, each minute once across staff'),
      interactiveContacts: z.number().int(),
      marks: z.array(z.number().int()).describe('min: the thresholds (10 and 20 in CY2026)'),
      codeSoFar: z.string().nullable(),
    })
    .nullable(),
  openAlerts: z.number().int(),
  topSeverity: z.enum(['low', 'medium', 'high', 'critical']).nullable(),
  priority: z.number(),
  devices: z.array(
    z.object({
      id: z.string(),
      kind: z.string(),
      transmission: z.enum(['transmitting', 'not-transmitting', 'never-seen', 'revoked']),
      lastContactAt: z.string().nullable().describe('Newest of its own connection, its newest reading, its battery report'),
      lowBattery: z.boolean(),
      batteryPercent: z.number().nullable().describe('%'),
      viaHub: z.string().nullable(),
    }),
  ),
  deviceProblem: z.boolean(),
});

/** The nurse's whole panel (staff sessions). */
export async function rosterRoutes(root: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', staffAuthHook(ctx));

  app.get(
    '/v1/roster',
    {
      schema: {
        summary: 'Every patient you may see, with readings, device days this period, minutes this month, open alerts and device problems',
        description:
          'Search and filters narrow it; sort orders it. `total` counts your whole panel. PHI (names, MRNs) when identities are recorded: audited as a roster read and an identity read naming every patient disclosed.',
        tags: ['roster'],
        security,
        querystring: rosterQuery,
        response: { 200: z.object({ generatedAt: z.string(), total: z.number().int(), rows: z.array(rosterRow) }) },
      },
    },
    async (req) => {
      const { rows, total } = await ctx.roster.roster(requester(req), req.query);
      return {
        generatedAt: new Date(ctx.clock.now()).toISOString(),
        total,
        rows: rows.map((r) => ({
          patientId: r.patientId,
          identity: r.identity,
          programs: [...r.programs],
          riskTier: r.riskTier,
          careTeams: [...r.careTeams],
          mine: r.mine,
          lastReadings: r.lastReadings.map((x) => ({ kind: x.kind, text: x.text, measuredAt: new Date(x.measuredAtMs).toISOString(), measuredAtText: x.measuredAtText, manual: x.manual })),
          devicePeriod: r.devicePeriod,
          management: r.management === null ? null : { ...r.management, marks: [...r.management.marks] },
          openAlerts: r.openAlerts,
          topSeverity: r.topSeverity,
          priority: r.priority,
          devices: r.devices.map((d) => ({ id: d.id, kind: d.kind, transmission: d.transmission, lastContactAt: iso(d.lastContactAtMs), lowBattery: d.lowBattery, batteryPercent: d.batteryPercent, viaHub: d.viaHub })),
          deviceProblem: r.deviceProblem,
        })),
      };
    },
  );
}
