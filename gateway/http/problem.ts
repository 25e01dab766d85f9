import type { FastifyReply, FastifyRequest } from 'fastify';
import { type RpmErrorCode, statusOf, titleOf } from '../../core/errors/codes.js';
import type { RpmError } from '../../core/errors/rpm-error.js';
import { noteRefusal } from './request-observer.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** RFC 9457 problem details, with our stable `code`. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: RpmErrorCode;
  readonly detail: string;
  readonly instance: string;
  readonly path?: string;
  readonly [extension: string]: unknown;
}

export function problemType(code: RpmErrorCode): string {
  return `urn:rpm-gateway:problem:${code}`;
}

export function toProblem(err: RpmError, req: FastifyRequest): Problem {
  return {
    // Extensions first: they may never replace a standard member.
    ...(err.details ?? {}),
    type: problemType(err.code),
    title: titleOf(err.code),
    status: statusOf(err.code),
    code: err.code,
    detail: err.message,
    // The route pattern, never the URL: URLs can carry patient ids (and a request that matched
    // no route has no pattern to name).
    instance: `${req.method} ${req.routeOptions.url ?? '(no route)'}`,
    ...(err.path === undefined ? {} : { path: err.path }),
  };
}

export function sendProblem(reply: FastifyReply, err: RpmError): FastifyReply {
  const problem = toProblem(err, reply.request);
  noteRefusal(reply, err.code);
  if (err.retryAfterSeconds !== undefined) void reply.header('retry-after', String(err.retryAfterSeconds));
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem);
}
