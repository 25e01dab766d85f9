import { z } from 'zod';
import { entityId } from '../core/model/registry.js';
import { CliError, EXIT } from './errors.js';

/**
 * Checks command-line input against core's schemas (the ones the gateway applies) before sending,
 * naming the offending argument as the user typed it (`--from`, `<deviceId>`) rather than the JSON field.
 * The code is the one the gateway would answer with, so scripts see the same code either way.
 */
export function validated<S extends z.ZodType>(schema: S, input: unknown, argNames: Readonly<Record<string, string>>): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const detail = parsed.error.issues
    .map((i) => {
      const key = i.path.join('.');
      return `${argNames[key] ?? key}: ${i.message}`;
    })
    .join('; ');
  throw new CliError('RPM_ERR_REQUEST_INVALID', detail, EXIT.usage);
}

export const validId = (value: string, argName: string): string => validated(z.object({ v: entityId }), { v: value }, { v: argName }).v;

// The admin API's own bounds for list sizes (gateway/http/admin-routes.ts).
const limitSchema = z.coerce.number().int().min(1).max(1000);

export const validLimit = (value: string): number => validated(z.object({ v: limitSchema }), { v: value }, { v: '--limit' }).v;

/** Numbers from flags; "abc" and "" become NaN so the schema, not this parser, reports them. */
export const toNumber = (value: string | undefined): number | undefined => (value === undefined ? undefined : value.trim() === '' ? Number.NaN : Number(value));
