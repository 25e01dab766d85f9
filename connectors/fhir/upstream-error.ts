import type { RpmErrorCode } from '../../core/errors/codes.js';
import { isRpmError, RpmError } from '../../core/errors/rpm-error.js';

/** Codes that a later attempt may cure; the others are dead letters until an operator acts. */
export function isRetryable(code: RpmErrorCode): boolean {
  return !DEAD_LETTER_CODES.has(code);
}

const DEAD_LETTER_CODES: ReadonlySet<RpmErrorCode> = new Set<RpmErrorCode>([
  'RPM_ERR_UPSTREAM_FHIR_REJECTED',
  'RPM_ERR_UPSTREAM_FHIR_CONFLICT',
  'RPM_ERR_FHIR_INVALID',
  'RPM_ERR_FHIR_PATIENT_UNKNOWN',
  'RPM_ERR_FHIR_PATIENT_AMBIGUOUS',
]);

/** The code an HTTP status from a FHIR server stands for (for whole answers and batch entries alike). */
export function codeForStatus(status: number): RpmErrorCode {
  if (status === 400 || status === 422) return 'RPM_ERR_UPSTREAM_FHIR_REJECTED';
  if (status === 412) return 'RPM_ERR_UPSTREAM_FHIR_CONFLICT';
  if (status === 401 || status === 403) return 'RPM_ERR_UPSTREAM_FHIR_AUTH';
  // 404/405/415 (a wrong base URL), 409, 413, 429, 5xx: worth another try once the server or
  // the configuration is fixed; the operator sees the status in the delivery list meanwhile.
  return 'RPM_ERR_UPSTREAM_FHIR';
}

const OUTCOME_MAX_CHARS = 16_384;

/** The server's OperationOutcome, if the body is one (kept for the dead-letter list, bounded). */
export function operationOutcomeOf(data: unknown): unknown {
  if (typeof data !== 'object' || data === null || (data as { resourceType?: unknown }).resourceType !== 'OperationOutcome') return null;
  return JSON.stringify(data).length <= OUTCOME_MAX_CHARS ? data : { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'too-costly', diagnostics: 'outcome too large to keep' }] };
}

/** A short, human summary of an OperationOutcome's first issue. */
export function outcomeSummary(outcome: unknown): string | undefined {
  const issue = (outcome as { issue?: { details?: { text?: unknown }; diagnostics?: unknown }[] } | null)?.issue?.[0];
  const text = issue?.details?.text ?? issue?.diagnostics;
  return typeof text === 'string' ? text.slice(0, 300) : undefined;
}

function retryAfterSeconds(headers: unknown): number | undefined {
  if (!(headers instanceof Headers)) return undefined;
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds, 3600);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.min(3600, Math.ceil((at - Date.now()) / 1000)));
}

interface ResponseError {
  readonly response: { readonly status: number; readonly data?: unknown };
  readonly config?: { readonly headers?: unknown };
}

function isResponseError(err: unknown): err is ResponseError {
  if (typeof err !== 'object' || err === null || !('response' in err)) return false;
  const response = (err as { response: unknown }).response;
  return typeof response === 'object' && response !== null && typeof (response as { status?: unknown }).status === 'number';
}

/**
 * The boundary between fhir-kit-client and us. The client rejects with objects carrying
 * `response: {status, data}` (plain objects in v1, Errors with those fields in v2), fetch with a
 * TypeError (network) or an AbortError/TimeoutError; none of that leaves the connector. Messages
 * name the interaction, never a URL with query values or a resource body.
 */
export function toUpstreamError(err: unknown, interaction: string): RpmError {
  if (isRpmError(err)) return err;
  if (isResponseError(err)) {
    const status = err.response.status;
    const outcome = operationOutcomeOf(err.response.data);
    const summary = outcomeSummary(outcome);
    const code = codeForStatus(status);
    const retryAfter = status === 429 || status === 503 ? retryAfterSeconds(err.config?.headers) : undefined;
    return new RpmError(code, `FHIR server answered ${status} to ${interaction}${summary === undefined ? '' : `: ${summary}`}`, {
      cause: err,
      details: { status, outcome },
      ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
    });
  }
  const name = typeof err === 'object' && err !== null && 'name' in err ? String((err as { name: unknown }).name) : '';
  if (name === 'TimeoutError') {
    return new RpmError('RPM_ERR_UPSTREAM_FHIR_TIMEOUT', `${interaction} got no answer in time`, { cause: err, details: { status: null, reason: 'timeout' } });
  }
  if (name === 'AbortError') {
    return new RpmError('RPM_ERR_UPSTREAM_FHIR', `${interaction} was cancelled`, { cause: err, details: { status: null, reason: 'cancelled' } });
  }
  const cause = err instanceof Error && typeof err.cause === 'object' && err.cause !== null ? (err.cause as { code?: unknown }) : undefined;
  const reason = typeof cause?.code === 'string' ? cause.code : err instanceof Error ? err.message : 'unknown error';
  return new RpmError('RPM_ERR_UPSTREAM_FHIR', `could not complete ${interaction}: ${reason}`, { cause: err, details: { status: null, reason } });
}

/** The FHIR server's OperationOutcome carried by one of our upstream errors, if any. */
export function outcomeOfError(err: RpmError): unknown {
  return err.details?.outcome ?? null;
}
