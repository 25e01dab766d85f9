import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RpmErrorCode } from '../../core/errors/codes.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The stable code of the refusal this request was answered with (problem+json or OperationOutcome). */
    refusalCode: RpmErrorCode | null;
  }
}

/** Where each answer is counted (gateway/metrics.ts). */
export interface HttpObserver {
  httpRequest(method: string, route: string, status: number, seconds: number): void;
}

/** The route pattern, never the URL (URLs can carry patient ids). */
export function routePattern(req: FastifyRequest): string {
  return req.routeOptions.url ?? '(no route)';
}

/** Remembered by sendProblem and the FHIR error handler, read when the answer is logged. */
export function noteRefusal(reply: FastifyReply, code: RpmErrorCode): FastifyReply {
  reply.request.refusalCode = code;
  return reply;
}

/**
 * Every answer is counted (method, route pattern, status, latency), refusals included: a 503
 * RPM_ERR_OVERLOADED from the admission hook is as visible as a 202. Every refusal (4xx, 5xx) is
 * one log line an operator can act on: method, route pattern, status, code and client address,
 * never the URL, a body or a credential. Successful requests are not logged (at device ingest
 * rates that would be most of the CPU).
 */
export function installRequestObserver(app: FastifyInstance, metrics: HttpObserver): void {
  app.decorateRequest('refusalCode', null);
  app.addHook('onResponse', async (req, reply) => {
    const status = reply.statusCode;
    const route = routePattern(req);
    // reply.elapsedTime: from the request's arrival (onRequest) to now, in ms.
    metrics.httpRequest(req.method, route, status, reply.elapsedTime / 1000);
    if (status < 400) return;
    const line = { method: req.method, route, status, code: req.refusalCode, client: req.ip, ms: Math.round(reply.elapsedTime) };
    if (status >= 500 && req.refusalCode !== 'RPM_ERR_OVERLOADED' && req.refusalCode !== 'RPM_ERR_SHUTTING_DOWN') req.log.warn(line, 'request failed');
    else req.log.info(line, 'request refused');
  });
}
