import Fastify from 'fastify';
import { z } from 'zod';
import { readingEnvelopeDoc } from '../../core/model/reading-input.js';
import { acceptedOutcomes, portArg } from '../lib/peer-args.js';

/**
 * Peer for HTTP ingest: a bare fastify 5 route, POST /v1/readings, validating the body with
 * the gateway's own reading schema (zod → JSON Schema draft-07 → fastify's ajv) and answering
 * 202 with a per-reading outcome list serialized from a response schema. No auth check beyond
 * the header being present, no storage.
 */
const port = portArg();
const bodySchema = z.toJSONSchema(readingEnvelopeDoc, { target: 'draft-7', io: 'input' });
delete (bodySchema as { $schema?: string }).$schema;

const responseSchema = {
  type: 'object',
  properties: {
    accepted: { type: 'integer' },
    duplicate: { type: 'integer' },
    rejected: { type: 'integer' },
    outcomes: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          index: { type: 'integer' },
          status: { type: 'string' },
          id: { type: 'string' },
          clientId: { type: 'string' },
        },
        required: ['index', 'status'],
      },
    },
  },
  required: ['accepted', 'duplicate', 'rejected', 'outcomes'],
} as const;

const app = Fastify({ logger: false });
let seq = 0;
const nextId = (): string => (++seq).toString(36);

app.post('/v1/readings', { schema: { body: bodySchema, response: { 202: responseSchema, 401: { type: 'null' } } } }, async (req, reply) => {
  if (req.headers.authorization === undefined) return reply.code(401).send();
  const { readings } = req.body as { readings: unknown[] };
  return reply.code(202).send(acceptedOutcomes(readings, nextId));
});

await app.listen({ host: '127.0.0.1', port });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
