import { z } from 'zod';
import { RpmError } from '../../core/errors/rpm-error.js';

/** One entry of a batch-response Bundle, as far as delivery cares. */
export type EntryResult =
  | { readonly ok: true; readonly status: number; readonly ref: string | undefined; readonly resource: unknown }
  | { readonly ok: false; readonly status: number; readonly outcome: unknown };

const entry = z.looseObject({
  resource: z.unknown().optional(),
  response: z.looseObject({
    status: z.string(),
    location: z.string().optional(),
    outcome: z.unknown().optional(),
  }),
});
const batchResponse = z.looseObject({
  resourceType: z.literal('Bundle'),
  type: z.enum(['batch-response', 'transaction-response']),
  entry: z.array(entry).optional(),
});

/** `Observation/123` from a Location (`…/Observation/123/_history/2`) or from the resource. */
export function referenceOf(location: string | undefined, resource: unknown): string | undefined {
  if (location !== undefined) {
    const m = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]*)?\/?$/.exec(location.split('?')[0] ?? '');
    if (m !== null) return `${m[1]}/${m[2]}`;
  }
  const r = resource as { resourceType?: unknown; id?: unknown } | null | undefined;
  return typeof r?.resourceType === 'string' && typeof r.id === 'string' ? `${r.resourceType}/${r.id}` : undefined;
}

/**
 * Per-entry results of a batch, in request order. A response that is not a batch-response with
 * one entry per request entry is the server failing as a whole (thrown, retried later).
 */
export function parseBatchResponse(body: unknown, expectedEntries: number): EntryResult[] {
  const parsed = batchResponse.safeParse(body);
  const entries = parsed.success ? (parsed.data.entry ?? []) : [];
  if (!parsed.success || entries.length !== expectedEntries) {
    throw new RpmError('RPM_ERR_UPSTREAM_FHIR', `the FHIR server answered the batch with ${parsed.success ? `${entries.length} entries for ${expectedEntries}` : 'something other than a batch-response Bundle'}`);
  }
  return entries.map((e) => {
    const status = Number.parseInt(e.response.status, 10);
    if (Number.isNaN(status)) return { ok: false, status: 502, outcome: null };
    if (status >= 200 && status < 300) return { ok: true, status, ref: referenceOf(e.response.location, e.resource), resource: e.resource };
    return { ok: false, status, outcome: e.response.outcome ?? null };
  });
}
