import { describe, expect, it } from 'vitest';
import { RpmError } from '../../core/errors/rpm-error.js';
import { parseBatchResponse, referenceOf } from './batch-response.js';
import { CAUTIOUS_PLAN, capabilityStatement, planFrom } from './capabilities.js';
import { isRetryable, toUpstreamError } from './upstream-error.js';

const outcome = { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', diagnostics: 'Observation.status: missing' }] };

describe('fhir-kit-client errors become our coded errors at the boundary', () => {
  it('maps the plain objects and Errors the client rejects with, by HTTP status', () => {
    const cases: Array<[unknown, string, boolean]> = [
      // fhir-kit-client v1 rejected with plain objects; v2 with Errors carrying the same fields.
      [{ response: { status: 422, data: outcome } }, 'RPM_ERR_UPSTREAM_FHIR_REJECTED', false],
      [Object.assign(new Error('HTTP 400'), { response: { status: 400, data: outcome } }), 'RPM_ERR_UPSTREAM_FHIR_REJECTED', false],
      [{ response: { status: 412, data: {} } }, 'RPM_ERR_UPSTREAM_FHIR_CONFLICT', false],
      [{ response: { status: 401, data: 'no' } }, 'RPM_ERR_UPSTREAM_FHIR_AUTH', true],
      [{ response: { status: 404, data: {} } }, 'RPM_ERR_UPSTREAM_FHIR', true],
      [{ response: { status: 429, data: {} }, config: { headers: new Headers({ 'retry-after': '12' }) } }, 'RPM_ERR_UPSTREAM_FHIR', true],
      [{ response: { status: 503, data: '<html>' } }, 'RPM_ERR_UPSTREAM_FHIR', true],
      [Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }), 'RPM_ERR_UPSTREAM_FHIR', true],
      [new DOMException('The operation timed out.', 'TimeoutError'), 'RPM_ERR_UPSTREAM_FHIR_TIMEOUT', true],
      ['something odd', 'RPM_ERR_UPSTREAM_FHIR', true],
    ];
    for (const [thrown, code, retryable] of cases) {
      const e = toUpstreamError(thrown, 'POST Observation');
      expect(e, JSON.stringify(thrown)).toBeInstanceOf(RpmError);
      expect(e.code).toBe(code);
      expect(isRetryable(e.code)).toBe(retryable);
    }
    const rejected = toUpstreamError({ response: { status: 422, data: outcome } }, 'POST Observation');
    expect(rejected.message).toBe('FHIR server answered 422 to POST Observation: Observation.status: missing');
    expect(rejected.details).toEqual({ status: 422, outcome });
    expect(toUpstreamError({ response: { status: 429, data: {} }, config: { headers: new Headers({ 'retry-after': '12' }) } }, 'x').retryAfterSeconds).toBe(12);
    expect(toUpstreamError(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }), 'GET metadata').message).toBe(
      'could not complete GET metadata: ECONNREFUSED',
    );
    const ours = new RpmError('RPM_ERR_UPSTREAM_FHIR_AUTH', 'x');
    expect(toUpstreamError(ours, 'y')).toBe(ours);
  });
});

describe('CapabilityStatement → how to write without duplicates', () => {
  const statement = (observation: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    capabilityStatement.parse({ resourceType: 'CapabilityStatement', rest: [{ mode: 'server', resource: [{ type: 'Observation', ...observation }], ...extra }] });

  it('prefers conditional create, then PUT where update creates, then search-then-create', () => {
    expect(planFrom(statement({ conditionalCreate: true, updateCreate: true }, { interaction: [{ code: 'batch' }] }))).toEqual({
      observation: 'conditional-create',
      device: 'logical',
      batch: true,
    });
    expect(planFrom(statement({ updateCreate: true })).observation).toBe('update-as-create');
    expect(planFrom(statement({})).observation).toBe('search-then-create');
    expect(CAUTIOUS_PLAN).toEqual({ observation: 'search-then-create', device: 'search-then-create', batch: false });
  });
});

describe('batch-response Bundles', () => {
  it('reads per-entry status and the created reference, and refuses a response that does not match the request', () => {
    const response = {
      resourceType: 'Bundle',
      type: 'batch-response',
      entry: [
        { response: { status: '201 Created', location: 'https://ehr/fhir/Observation/abc/_history/1' } },
        { response: { status: '200' }, resource: { resourceType: 'Observation', id: 'def' } },
        { response: { status: '422', outcome } },
      ],
    };
    expect(parseBatchResponse(response, 3)).toEqual([
      { ok: true, status: 201, ref: 'Observation/abc', resource: undefined },
      { ok: true, status: 200, ref: 'Observation/def', resource: { resourceType: 'Observation', id: 'def' } },
      { ok: false, status: 422, outcome },
    ]);
    expect(() => parseBatchResponse(response, 4)).toThrow(/3 entries for 4/);
    expect(() => parseBatchResponse(outcome, 1)).toThrow(RpmError);
    expect(referenceOf('Device/x1', undefined)).toBe('Device/x1');
  });
});
