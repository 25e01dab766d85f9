import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';
import { traceFields } from './tracing.js';

/**
 * Paths pino censors. Secrets (tokens, device secrets, passwords) and patient identifiers
 * must never reach a log line in the clear (DEVELOPERS.md: PHI is never logged).
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  '*.authorization',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'passwordHash',
  '*.passwordHash',
  // Staff contact details: an email identifies a person, a phone number reaches one.
  'email',
  '*.email',
  'phone',
  '*.phone',
  'token',
  '*.token',
  'adminToken',
  '*.adminToken',
  // FHIR destination credentials (SMART Backend Services key, OAuth tokens and assertions).
  'privateKey',
  '*.privateKey',
  'access_token',
  '*.access_token',
  'client_assertion',
  '*.client_assertion',
  'patientId',
  '*.patientId',
  'patient',
  '*.patient',
  'payload',
  '*.payload',
  'readings',
  '*.readings',
];

export function createLogger(level: LoggerOptions['level'], destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: 'rpm-gateway' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Every line written inside traced work names its trace and span (core/tracing.ts).
    mixin: traceFields,
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}

export type { Logger };
