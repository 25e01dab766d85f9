import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { type RpmErrorCode, errorCatalogue } from '../../core/errors/codes.js';
import { RpmError, isRpmError } from '../../core/errors/rpm-error.js';
import { sendProblem } from './problem.js';

/** Fastify's own error codes, mapped onto our catalogue. */
const FASTIFY_CODES: Readonly<Record<string, RpmErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'RPM_ERR_REQUEST_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'RPM_ERR_REQUEST_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'RPM_ERR_REQUEST_INVALID',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'RPM_ERR_REQUEST_MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'RPM_ERR_REQUEST_MALFORMED_JSON',
};

/** Any error a route or hook raised, as one of ours (also used by the FHIR routes' handler). */
export function toRpmError(err: FastifyError | Error): RpmError {
  if (isRpmError(err)) return err;
  if (hasZodFastifySchemaValidationErrors(err)) {
    const first = err.validation[0];
    const where = err.validationContext ?? 'body';
    const path = first === undefined ? '' : `${first.instancePath}`;
    return new RpmError('RPM_ERR_REQUEST_INVALID', `${where}${path}: ${first?.message ?? 'invalid'}`, { path: `/${where}${path}` });
  }
  // Own properties only: an error code that names an Object.prototype member must not match.
  const code = 'code' in err && typeof err.code === 'string' && Object.hasOwn(FASTIFY_CODES, err.code) ? FASTIFY_CODES[err.code] : undefined;
  if (code !== undefined) return new RpmError(code, err.message, { cause: err });
  if (err instanceof SyntaxError && 'statusCode' in err && err.statusCode === 400) {
    return new RpmError('RPM_ERR_REQUEST_MALFORMED_JSON', err.message, { cause: err });
  }
  const status = 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : 500;
  if (status === 404) return new RpmError('RPM_ERR_NOT_FOUND', err.message, { cause: err });
  if (status === 405) return new RpmError('RPM_ERR_METHOD_NOT_ALLOWED', err.message, { cause: err });
  if (status === 413) return new RpmError('RPM_ERR_REQUEST_BODY_TOO_LARGE', err.message, { cause: err });
  if (status === 415) return new RpmError('RPM_ERR_REQUEST_UNSUPPORTED_MEDIA_TYPE', err.message, { cause: err });
  if (status === 429) return new RpmError('RPM_ERR_RATE_LIMITED', err.message, { cause: err });
  if (status >= 400 && status < 500) return new RpmError('RPM_ERR_REQUEST_INVALID', err.message, { cause: err });
  return new RpmError('RPM_ERR_INTERNAL', 'internal error', { cause: err });
}

/** The one place where errors become HTTP answers: application/problem+json with a stable code. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const rpm = toRpmError(err);
    const status = errorCatalogue[rpm.code].status;
    // The refusal itself is logged once, with method, route, status, code and client, when the answer is sent (request-observer.ts).
    if (status >= 500 && rpm.code !== 'RPM_ERR_OVERLOADED' && rpm.code !== 'RPM_ERR_SHUTTING_DOWN') {
      req.log.error({ err, code: rpm.code }, 'request failed with an error');
    }
    return sendProblem(reply, rpm);
  });
  app.setNotFoundHandler((req, reply) => sendProblem(reply, new RpmError('RPM_ERR_NOT_FOUND', `no route for this ${req.method} request`)));
}
