import http from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type RpmErrorCode, statusOf, titleOf } from '../../core/errors/codes.js';
import { RpmError } from '../../core/errors/rpm-error.js';
import { problemType, sendProblem } from './problem.js';

/**
 * The API documentation (docs-routes.ts) is HTML and one stylesheet, without any script: nothing
 * else may load, and it may not be framed.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'none'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Headers on every answer. API answers carry PHI, so no cache (browser, proxy, CDN) may keep
 * them (`no-store`, unless a route chose its own policy, as the dashboard's static files do);
 * nothing is MIME-sniffed, framed or sent on as a Referer. HSTS goes on answers to HTTPS
 * requests only (RFC 6797 §7.2: ignored over plain HTTP): ours when the gateway terminates TLS,
 * or a trusted proxy's (`RPM_TRUST_PROXY` and `X-Forwarded-Proto: https`).
 */
export function installSecurityHeaders(app: FastifyInstance, options: { hstsMaxAgeS: number }): void {
  const hsts = options.hstsMaxAgeS > 0 ? `max-age=${options.hstsMaxAgeS}; includeSubDomains` : undefined;
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    if (!reply.hasHeader('x-frame-options')) reply.header('x-frame-options', 'DENY');
    if (!reply.hasHeader('referrer-policy')) reply.header('referrer-policy', 'no-referrer');
    if (hsts !== undefined && req.protocol === 'https') reply.header('strict-transport-security', hsts);
  });
}

/**
 * Errors Fastify raises before routing (`frameworkErrors`): a path parameter longer than the
 * router accepts (414) or a malformed URL (400), as problem+json. The detail never repeats the
 * URL: it may carry patient ids.
 */
export function frameworkErrorHandler(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const code: RpmErrorCode = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'RPM_ERR_REQUEST_URI_TOO_LONG' : 'RPM_ERR_REQUEST_INVALID';
  void sendProblem(reply, new RpmError(code, code === 'RPM_ERR_REQUEST_URI_TOO_LONG' ? 'a path segment is longer than any id we issue' : 'the request URL is malformed'));
}

/**
 * Errors Node's HTTP parser finds before Fastify sees a request (headers too large, a malformed
 * request line, a timeout): answered as problem+json on the raw socket, then closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [code, detail]: [RpmErrorCode, string] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? ['RPM_ERR_REQUEST_HEADERS_TOO_LARGE', 'the request headers (URL included) are larger than the server accepts']
      : err.code === 'HPE_URI_TOO_LONG'
        ? ['RPM_ERR_REQUEST_URI_TOO_LONG', 'the request target is longer than the server accepts']
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? ['RPM_ERR_REQUEST_TIMEOUT', 'the request took too long to arrive']
          : ['RPM_ERR_REQUEST_INVALID', 'the request is not valid HTTP'];
  const status = statusOf(code);
  const body = JSON.stringify({ type: problemType(code), title: titleOf(code), status, code, detail });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nContent-Type: application/problem+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        'Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n' +
        body,
    );
  }
  socket.destroy(err);
}
