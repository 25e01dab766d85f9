import type { Fleet } from '../model.js';
import { senders } from '../model.js';
import type { GatewayApi } from './admin-api.js';

/**
 * Registers a fleet on a running gateway through its admin API: the organization, an optional
 * nurse (who saves the care plans: care plans are a clinical act, so they take a staff session),
 * patients, hubs, devices. Idempotent: what exists is kept, and an existing device gets a fresh
 * secret (rotation without grace) because secrets are shown only once.
 *
 * Everything is marked as test data: ids carry the fleet's prefix (`sim-…`), names say
 * "simulated", and patients and devices are sent `simulated: true` (a gateway without that flag
 * ignores the field).
 */

export interface NurseAccount {
  readonly email: string;
  readonly password: string;
  readonly displayName: string;
}

export interface ProvisionOptions {
  readonly organizationName?: string;
  /** Create this nurse and save every patient's care plan as her. */
  readonly nurse?: NurseAccount;
  readonly concurrency?: number;
  readonly log?: (line: string) => void;
}

export interface Provisioned {
  /** Sender id (cellular device or hub) → secret. */
  readonly credentials: Map<string, string>;
  /** The nurse's session token, when a nurse was created. */
  readonly nurseToken: string | undefined;
  readonly created: { patients: number; devices: number; carePlans: number };
}

async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export async function provisionFleet(api: GatewayApi, fleet: Fleet, opts: ProvisionOptions = {}): Promise<Provisioned> {
  const log = opts.log ?? (() => {});
  // Each device registration hashes a secret with argon2id on the gateway: a few at a time.
  const limit = opts.concurrency ?? 4;
  const created = { patients: 0, devices: 0, carePlans: 0 };

  await api.createIfAbsent('/v1/admin/organizations', { id: fleet.organizationId, name: opts.organizationName ?? `Simulated clinic ${fleet.organizationId} (test data)` });
  let nurseToken: string | undefined;
  if (opts.nurse !== undefined) {
    await api.createIfAbsent('/v1/admin/staff', {
      email: opts.nurse.email,
      password: opts.nurse.password,
      role: 'nurse',
      organizationId: fleet.organizationId,
      displayName: opts.nurse.displayName,
      isChargeNurse: true,
    });
    nurseToken = await api.login(opts.nurse.email, opts.nurse.password);
  }

  await inParallel(fleet.patients, limit * 4, async (p) => {
    if (await api.createIfAbsent('/v1/admin/patients', { id: p.id, organizationId: fleet.organizationId, simulated: true })) created.patients++;
  });
  log(`patients: ${fleet.patients.length} (${created.patients} new)`);

  const secrets = new Map<string, string>();
  const register = async (body: Record<string, unknown>): Promise<void> => {
    const id = body.id as string;
    const r = await api.call<{ secret?: string; code?: string }>('POST', '/v1/admin/devices', body, [201, 409]);
    if (r.status === 201 && typeof r.body.secret === 'string') {
      created.devices++;
      secrets.set(id, r.body.secret);
      return;
    }
    // It exists: reuse it only if it is the same device (kind, patient, hub), else ids collide with another fleet.
    const existing = await api.call<{ kind: string; hubId: string | null; patientId: string | null }>('GET', `/v1/admin/devices/${encodeURIComponent(id)}`);
    const want = { kind: body.kind, hubId: body.hubId ?? null, patientId: body.patientId ?? null };
    const have = { kind: existing.body.kind, hubId: existing.body.hubId, patientId: existing.body.patientId };
    if (want.kind !== have.kind || want.hubId !== have.hubId || want.patientId !== have.patientId) {
      throw new Error(`device ${id} exists as ${JSON.stringify(have)}, not ${JSON.stringify(want)}: choose another id prefix (another fleet used these ids)`);
    }
    const rotated = await api.call<{ secret: string }>('POST', `/v1/admin/devices/${encodeURIComponent(id)}/rotate-secret`, { graceSeconds: 0 });
    secrets.set(id, rotated.body.secret);
  };
  const common = { manufacturer: 'RPM simulator', simulated: true };
  await inParallel(fleet.hubs, limit, (h) => register({ id: h.id, kind: 'hub', patientId: h.patientId, model: 'simulated hub', ...common }));
  // Relayed devices are registered too (paired with their hub), but never connect themselves.
  await inParallel(fleet.devices, limit, (d) =>
    register({ id: d.id, kind: d.kind, patientId: d.patientId, model: `simulated ${d.kind}`, ...(d.hubId === null ? {} : { hubId: d.hubId }), ...common }),
  );
  log(`devices: ${fleet.devices.length + fleet.hubs.length} (${created.devices} new)`);

  if (nurseToken !== undefined) {
    const nurse = api.as(nurseToken);
    await inParallel(fleet.patients, limit * 4, async (p) => {
      const hf = p.programs.includes('heart-failure');
      // Simulated COPD patients live at 88–92 %: their (simulated) clinician records the
      // hypercapnic-risk decision that sets that target; enrolling alone would not.
      const copd = p.programs.includes('copd');
      await nurse.call('PUT', `/v1/patients/${encodeURIComponent(p.id)}/care-plan`, {
        programs: p.programs,
        riskTier: p.riskTier,
        ...(hf ? { dryWeightKg: Math.round(p.profile.baseline.weightKg * 10) / 10 } : {}),
        ...(copd ? { hypercapnicRisk: { reason: 'Simulated patient: chronic hypercapnia (test data)' } } : {}),
      });
      created.carePlans++;
    });
    log(`care plans: ${created.carePlans}`);
  }

  const credentials = new Map<string, string>();
  for (const s of senders(fleet)) {
    const secret = secrets.get(s.id);
    if (secret === undefined) throw new Error(`no secret for ${s.id}`);
    credentials.set(s.id, secret);
  }
  return { credentials, nurseToken, created };
}
