import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RpmError } from '../../core/errors/rpm-error.js';
import { READING_KINDS, type ReadingKind } from '../../core/model/reading-kinds.js';
import { entityId } from '../../core/model/registry.js';
import type { GatewayContext } from '../context.js';
import { readingView, toReadingView } from './reading-view.js';
import { adminOrStaffAuthHook, assertPatientAccess } from './staff-auth.js';

const KIND_SET: ReadonlySet<string> = new Set(READING_KINDS);

const query = z.object({
  kind: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .describe(`One kind, a comma-separated list, or the parameter repeated: ${READING_KINDS.join(', ')}`),
  from: z.iso.datetime({ offset: true }).optional().describe('Measured at or after (inclusive)'),
  to: z.iso.datetime({ offset: true }).optional().describe('Measured before (exclusive)'),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  cursor: z.string().max(200).optional().describe('`nextCursor` from the previous page'),
});

function parseKinds(kind: string | string[] | undefined): ReadingKind[] | undefined {
  if (kind === undefined) return undefined;
  const kinds = (Array.isArray(kind) ? kind : [kind]).flatMap((k) => k.split(',')).map((k) => k.trim()).filter((k) => k !== '');
  for (const k of kinds) {
    if (!KIND_SET.has(k)) throw new RpmError('RPM_ERR_REQUEST_INVALID', `unknown kind '${k}'`, { path: '/querystring/kind' });
  }
  return kinds as ReadingKind[];
}

function parseCursor(cursor: string | undefined): { measuredAtMs: number; id: string } | undefined {
  if (cursor === undefined) return undefined;
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  const sep = decoded.indexOf(':');
  const ms = Number(decoded.slice(0, sep));
  if (sep < 1 || !Number.isSafeInteger(ms)) throw new RpmError('RPM_ERR_REQUEST_INVALID', 'invalid cursor', { path: '/querystring/cursor' });
  return { measuredAtMs: ms, id: decoded.slice(sep + 1) };
}

/**
 * Reading history of a patient, for the operator (admin token) or a staff member (session
 * token) who may see the patient. Every call is audited.
 */
export async function patientRoutes(root: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', adminOrStaffAuthHook(ctx));

  app.get(
    '/v1/patients/:id/readings',
    {
      schema: {
        summary: "A patient's normalized readings (LOINC codes, UCUM units), oldest first",
        description: 'With a staff session, only patients in the staff member\'s scope; any other answers 404, as if it did not exist.',
        tags: ['readings'],
        security: [{ adminToken: [] }, { staffSession: [] }],
        params: z.object({ id: entityId }),
        querystring: query,
        response: { 200: z.object({ patientId: z.string(), readings: z.array(readingView), nextCursor: z.string().nullable() }) },
      },
      // Large pages: skip re-validating our own output on the way out.
      serializerCompiler: () => (data: unknown) => JSON.stringify(data),
    },
    async (req) => {
      const patientId = req.params.id;
      const kinds = parseKinds(req.query.kind);
      const patient = await ctx.registry.getPatient(patientId);
      const record = (outcome: 'success' | 'denied', count: number | null): Promise<void> =>
        ctx.audit.record({
          atMs: ctx.clock.now(),
          actor: req.actor ?? 'admin',
          action: 'readings.read',
          subject: `patient:${patientId}`,
          outcome,
          sourceIp: req.ip,
          details: count === null ? null : { count },
        });
      try {
        if (patient === undefined) throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', 'patient not found');
        // Outside a staff member's scope answers exactly like a patient that does not exist.
        if (req.staff !== null) await assertPatientAccess(ctx, req.staff, patientId);
      } catch (err) {
        await record('denied', null);
        throw err;
      }
      const after = parseCursor(req.query.cursor);
      const readings = await ctx.readings.queryReadings({
        patientId,
        limit: req.query.limit,
        ...(kinds === undefined ? {} : { kinds }),
        ...(req.query.from === undefined ? {} : { fromMs: Date.parse(req.query.from) }),
        ...(req.query.to === undefined ? {} : { toMs: Date.parse(req.query.to) }),
        ...(after === undefined ? {} : { after }),
      });
      await record('success', readings.length);
      const last = readings.at(-1);
      const nextCursor =
        readings.length === req.query.limit && last !== undefined ? Buffer.from(`${last.measuredAtMs}:${last.id}`).toString('base64url') : null;
      // Staff read values in their display units too (the stored values stay canonical).
      const prefs = req.staff === null ? undefined : (await ctx.staff.displayPrefs(req.staff)).effective;
      return { patientId, readings: readings.map((r) => toReadingView(r, prefs)), nextCursor };
    },
  );
}
