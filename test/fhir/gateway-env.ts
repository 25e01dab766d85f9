import { ADMIN_TOKEN, request, type TestGateway } from '../helpers/gateway.js';

/** Our identifier systems in tests (RPM_FHIR_SYSTEM_BASE). */
export const SYSTEM_BASE = 'https://rpm.test/fhir';
export const READING_SYSTEM = `${SYSTEM_BASE}/sid/rpm-reading`;

/** FHIR forwarding settings that make retries, the breaker and polling fast enough for tests. */
export const FAST_FORWARDING_ENV: Record<string, string> = {
  RPM_FHIR_SYSTEM_BASE: SYSTEM_BASE,
  RPM_FHIR_RETRY_BASE_MS: '40',
  RPM_FHIR_RETRY_MAX_MS: '400',
  RPM_FHIR_BREAKER_THRESHOLD: '3',
  RPM_FHIR_BREAKER_COOLDOWN_MS: '250',
  RPM_FHIR_POLL_MS: '100',
  RPM_FHIR_TIMEOUT_MS: '2000',
};

/** Polls until `check` answers a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface DeliveryCounts {
  pending: number;
  failed: number;
  delivered: number;
  dead: number;
}

export interface DestinationStatusView {
  deliveries: DeliveryCounts;
  oldestWaitingSince: string | null;
  circuit: { state: string } | null;
  batching: { configured: number; current: number; reason: string | null } | null;
  server: unknown;
}

/** The destination as the operator API shows it (counts, circuit, batching, server plan). */
export async function destinationStatus(t: TestGateway, id: string): Promise<DestinationStatusView> {
  const res = await t.admin.get(`/v1/admin/fhir/destinations/${id}`);
  if (res.status !== 200) throw new Error(`destination ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Registers a device with registry details (serial, maker, model, simulated) and answers its secret. */
export async function addDevice(t: TestGateway, body: Record<string, unknown>): Promise<string> {
  const res = await request<{ secret: string }>(`${t.baseUrl}/v1/admin/devices`, { token: ADMIN_TOKEN, json: body });
  if (res.status !== 201) throw new Error(`device: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.secret;
}
