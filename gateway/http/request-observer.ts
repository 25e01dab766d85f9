import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { tracer } from '../../core/tracing.js';
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
  traceRequests(app.server);
  // The server span gets its route pattern once routing has found it.
  app.addHook('onRequest', async (req) => {
    const span = trace.getActiveSpan();
    if (span === undefined) return;
    const route = routePattern(req);
    span.updateName(`${req.method} ${route}`);
    span.setAttribute('http.route', route);
  });
  app.addHook('onResponse', async (req, reply) => {
    const status = reply.statusCode;
    const route = routePattern(req);
    const span = trace.getActiveSpan();
    if (span !== undefined) {
      span.setAttribute('http.response.status_code', status);
      if (req.refusalCode !== null) span.setAttribute('rpm.error.code', req.refusalCode);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: req.refusalCode ?? String(status) });
    }
    // reply.elapsedTime: from the request's arrival (onRequest) to now, in ms.
    metrics.httpRequest(req.method, route, status, reply.elapsedTime / 1000);
    if (status < 400) return;
    const line = { method: req.method, route, status, code: req.refusalCode, client: req.ip, ms: Math.round(reply.elapsedTime) };
    if (status >= 500 && req.refusalCode !== 'RPM_ERR_OVERLOADED' && req.refusalCode !== 'RPM_ERR_SHUTTING_DOWN') req.log.warn(line, 'request failed');
    else req.log.info(line, 'request refused');
  });
}

/**
 * One server span per HTTP request, around Fastify's own handler: a `traceparent` the client sent
 * is continued, the request and response emitters are bound to the span's context (their events
 * would otherwise run in the connection's), and the span ends when the answer is done. Named by
 * method until routing names the route (never the URL). With tracing off the span is a no-op.
 */
function traceRequests(server: Server): void {
  const handlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  const handler = handlers[0];
  if (handler === undefined || handlers.length !== 1) return;
  server.removeListener('request', handler);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(req.method ?? 'HTTP', { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method ?? '' } }, parent);
    if (!span.isRecording()) {
      handler(req, res);
      return;
    }
    const ctx = trace.setSpan(parent, span);
    context.bind(ctx, req);
    context.bind(ctx, res);
    res.once('close', () => span.end());
    context.with(ctx, () => handler(req, res));
  });
}
