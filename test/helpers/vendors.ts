import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../../core/ports/clock.js';
import { ADMIN_TOKEN, type JsonResponse, request, startTestGateway, type TestGateway } from './gateway.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../gateway/vendors/fixtures');

/** A vendor fixture file as text (gateway/vendors/fixtures; each folder's SOURCES.md says where it comes from). */
export function vendorFixture(file: string): string {
  return readFileSync(path.join(FIXTURES, file), 'utf8');
}

/**
 * A real gateway with an organization, patients and devices for vendor tests. Vendor fixtures
 * carry the dates of the vendors' documentation, so readings up to ten years old are accepted.
 */
export async function startVendorGateway(env: Record<string, string> = {}, options: { clock?: Clock } = {}): Promise<VendorGateway> {
  const t = await startTestGateway({ RPM_MAX_READING_AGE_DAYS: '3650', ...env }, options);
  await t.admin.createOrganization('org-v');
  return new VendorGateway(t);
}

export class VendorGateway {
  constructor(readonly t: TestGateway) {}

  get baseUrl(): string {
    return this.t.baseUrl;
  }

  admin<T = any>(method: string, path: string, json?: unknown): Promise<JsonResponse<T>> {
    return request<T>(`${this.t.baseUrl}${path}`, { method, token: ADMIN_TOKEN, ...(json === undefined ? {} : { json }) });
  }

  async connect(vendor: string, settings: Record<string, unknown>, org = 'org-v'): Promise<void> {
    const res = await this.admin('PUT', `/v1/admin/organizations/${org}/vendors/${vendor}`, settings);
    if (res.status !== 200) throw new Error(`connect ${vendor}: ${res.status} ${JSON.stringify(res.body)}`);
  }

  /** A patient of the organization with a device of `kind`, bound to the vendor's `externalId`. */
  async bind(vendor: string, externalId: string, device: { id: string; kind: string; patientId: string }, extra: Record<string, unknown> = {}, org = 'org-v'): Promise<void> {
    const patient = await this.admin('POST', '/v1/admin/patients', { id: device.patientId, organizationId: org });
    if (patient.status !== 201 && patient.status !== 409) throw new Error(`patient: ${patient.status} ${JSON.stringify(patient.body)}`);
    const d = await this.admin('POST', '/v1/admin/devices', device);
    if (d.status !== 201) throw new Error(`device: ${d.status} ${JSON.stringify(d.body)}`);
    const b = await this.admin('POST', `/v1/admin/organizations/${org}/vendors/${vendor}/bindings`, { externalId, deviceId: device.id, ...extra });
    if (b.status !== 201) throw new Error(`bind: ${b.status} ${JSON.stringify(b.body)}`);
  }

  /** POST raw bytes to a vendor endpoint, as the vendor's cloud does. */
  async post<T = any>(path: string, body: string, headers: Record<string, string> = {}): Promise<JsonResponse<T>> {
    return request<T>(`${this.t.baseUrl}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  }

  readings(patientId: string): Promise<any[]> {
    return this.t.admin.readings(patientId);
  }

  async rejections(deviceRef: string): Promise<any[]> {
    const res = await this.admin<{ rejections: any[] }>('GET', `/v1/admin/devices/${encodeURIComponent(deviceRef)}/rejections`);
    return res.body.rejections;
  }

  async metrics(): Promise<string> {
    return (await fetch(`${this.t.baseUrl}/metrics`)).text();
  }

  close(): Promise<void> {
    return this.t.close();
  }
}

/** The value of one Prometheus sample (0 when absent). */
export function sample(metrics: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort();
  for (const line of metrics.split('\n')) {
    const m = /^([\w:]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = (m[2] ?? '').split(',').filter((s) => s !== '').sort();
    if (want.every((w) => have.includes(w)) && have.length === want.length) return Number(m[3]);
  }
  return 0;
}
