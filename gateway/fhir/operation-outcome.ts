import { type RpmErrorCode, statusOf, titleOf } from '../../core/errors/codes.js';

/** FHIR answers of the gateway: OperationOutcome (and Bundles) as application/fhir+json. */
export const FHIR_CONTENT_TYPE = 'application/fhir+json; charset=utf-8';

/** Our stable error codes, as a coding system inside OperationOutcome.issue.details. */
export const RPM_ERROR_CODE_SYSTEM = 'urn:rpm-gateway:error-code';

export interface OperationOutcomeIssue {
  readonly severity: 'fatal' | 'error' | 'warning' | 'information';
  readonly code: string;
  readonly details: { readonly coding?: readonly { readonly system: string; readonly code: string; readonly display: string }[]; readonly text: string };
  readonly diagnostics?: string;
  readonly expression?: readonly string[];
}

export interface OperationOutcome {
  readonly resourceType: 'OperationOutcome';
  readonly issue: readonly OperationOutcomeIssue[];
}

/** The FHIR issue type (IssueType value set) closest to our code. */
function issueType(code: RpmErrorCode): string {
  switch (code) {
    case 'RPM_ERR_READING_UNKNOWN_KIND':
      return 'code-invalid';
    case 'RPM_ERR_READING_INVALID':
    case 'RPM_ERR_READING_UNIT_UNSUPPORTED':
    case 'RPM_ERR_READING_IMPLAUSIBLE':
    case 'RPM_ERR_READING_TIME_INVALID':
    case 'RPM_ERR_READING_TIME_IN_FUTURE':
    case 'RPM_ERR_READING_TIME_TOO_OLD':
      return 'value';
    case 'RPM_ERR_FHIR_INVALID':
    case 'RPM_ERR_REQUEST_MALFORMED_JSON':
      return 'structure';
    case 'RPM_ERR_FHIR_TRANSACTION_ROLLED_BACK':
    case 'RPM_ERR_READING_DEVICE_NOT_RELAYABLE':
      return 'processing';
    default:
      break;
  }
  const status = statusOf(code);
  if (status === 401) return 'login';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (status === 405 || status === 415) return 'not-supported';
  if (status === 413) return 'too-costly';
  if (status === 429) return 'throttled';
  if (status === 503) return 'transient';
  if (status >= 500) return 'exception';
  return 'invalid';
}

export function errorIssue(code: RpmErrorCode, message: string, expression?: string): OperationOutcomeIssue {
  return {
    severity: 'error',
    code: issueType(code),
    details: { coding: [{ system: RPM_ERROR_CODE_SYSTEM, code, display: titleOf(code) }], text: titleOf(code) },
    diagnostics: message,
    ...(expression === undefined || expression === '' ? {} : { expression: [expression] }),
  };
}

export function informationIssue(text: string): OperationOutcomeIssue {
  return { severity: 'information', code: 'informational', details: { text } };
}

export function operationOutcome(issues: readonly OperationOutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues };
}

/** HTTP status line text for Bundle.entry.response.status. */
export function statusLine(status: number): string {
  const reasons: Record<number, string> = {
    200: 'OK',
    201: 'Created',
    400: 'Bad Request',
    403: 'Forbidden',
    404: 'Not Found',
    413: 'Payload Too Large',
    422: 'Unprocessable Entity',
    500: 'Internal Server Error',
    503: 'Service Unavailable',
  };
  return `${status} ${reasons[status] ?? ''}`.trim();
}
