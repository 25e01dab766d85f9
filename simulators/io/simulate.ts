import { chmodSync, createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { type Fault, planFaults } from '../faults.js';
import { buildFleet, type FleetOptions } from '../fleet.js';
import { Ledger } from '../ledger.js';
import { compareAckedWithStored, type LossReport, type StoredRow } from '../loss-check.js';
import { type Fleet, senders } from '../model.js';
import { Rng } from '../rng.js';
import { RunStats, type Summary } from '../run-stats.js';
import { GatewayApi, type StoredReadingRow } from './admin-api.js';
import { progressPrinter } from './progress.js';
import { type NurseAccount, provisionFleet } from './provision.js';
import { runFleet } from './runner.js';
import { provisionVendor, type VendorSetup, VendorLink } from './vendor-link.js';
import { FORMAT_KINDS, unsupportedKinds, type VendorFormat } from '../vendors/formats.js';

/**
 * `rpm simulate` and the demo: build the fleet from the seed, provision it (or reuse saved
 * credentials), run it, and optionally prove that every acknowledged reading was stored once.
 */

export interface SimulateOptions {
  readonly httpUrl: string;
  readonly mqttUrl: string;
  readonly adminToken: string;
  readonly fleet: Omit<FleetOptions, 'anchorMs' | 'liveMs'>;
  readonly durationMs: number | null;
  readonly rate: number | null;
  readonly historyMs: number;
  readonly spotCheckEveryMs?: number;
  readonly faults: readonly Fault[];
  readonly stormWindowMs?: number;
  readonly window: number;
  readonly provision: boolean;
  readonly credentialsFile?: string;
  readonly nurse?: NurseAccount;
  readonly organizationName?: string;
  readonly ledgerFile?: string;
  readonly check: boolean;
  readonly progress: boolean;
  readonly signal?: AbortSignal;
  readonly log: (line: string) => void;
  /**
   * Devices speak a vendor's wire format (Tenovi, Withings, …) through its endpoints on the
   * gateway instead of our JSON over HTTP and MQTT (the organization's connection and bindings
   * are configured by the simulator).
   */
  readonly format?: VendorFormat;
  /** Called once the fleet is provisioned and before readings flow. */
  readonly onProvisioned?: (fleet: Fleet, nurseToken: string | undefined) => void;
}

export interface SimulateResult {
  readonly fleet: Fleet;
  readonly boot: string;
  readonly summary: Summary;
  readonly leftUnsent: number;
  readonly loss: LossReport | undefined;
}

interface CredentialsFile {
  readonly gateway: string;
  readonly idPrefix: string;
  readonly credentials: Record<string, string>;
}

function loadCredentials(file: string, fleet: Fleet): Map<string, string> {
  const saved = JSON.parse(readFileSync(file, 'utf8')) as CredentialsFile;
  const map = new Map(Object.entries(saved.credentials));
  const missing = senders(fleet).filter((s) => !map.has(s.id));
  if (missing.length > 0) throw new Error(`${file} has no secret for ${missing.length} sender(s), e.g. ${missing[0]?.id}; run once with provisioning`);
  return map;
}

function saveCredentials(file: string, gateway: string, fleet: Fleet, credentials: ReadonlyMap<string, string>): void {
  const body: CredentialsFile = { gateway, idPrefix: fleet.idPrefix, credentials: Object.fromEntries(credentials) };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** Every stored reading of the fleet's patients, as the gateway's reading API shows them. */
export async function storedReadings(api: GatewayApi, fleet: Fleet): Promise<StoredRow[]> {
  const rows: StoredRow[] = [];
  for (const p of fleet.patients) rows.push(...(await api.readingsOf(p.id)));
  return rows;
}

/** Withings readings are stored once the gateway has pulled them: wait until no pull is waiting. */
async function waitForPulls(api: GatewayApi, organizationId: string, log: (line: string) => void, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await api.call<{ pulls: unknown[] }>('GET', `/v1/admin/organizations/${encodeURIComponent(organizationId)}/vendors/withings/pulls?status=pending,failed&limit=1000`);
    if (r.body.pulls.length === 0) return;
    if (Date.now() > until) {
      log(`${r.body.pulls.length} Withings pulls still waiting after ${timeoutMs / 1000} s`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function writeLedger(file: string, ledger: Ledger): Promise<void> {
  const out = createWriteStream(file);
  for (const line of ledger.jsonl()) if (!out.write(line)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

export async function simulate(o: SimulateOptions): Promise<SimulateResult> {
  const anchorMs = Date.now();
  const boot = anchorMs.toString(36);
  const fleet = buildFleet({ ...o.fleet, anchorMs, ...(o.durationMs === null ? {} : { liveMs: o.durationMs }) });
  const api = new GatewayApi(o.httpUrl, o.adminToken);
  const senderList = senders(fleet);
  if (o.format !== undefined) {
    const unsupported = unsupportedKinds(o.format, fleet.devices.map((d) => d.kind));
    if (unsupported.length > 0) throw new Error(`--format ${o.format} carries ${FORMAT_KINDS[o.format].join(', ')}, not ${unsupported.join(', ')}: choose device kinds with --mix`);
  }
  o.log(
    `fleet (seed ${fleet.seed}): ${fleet.patients.length} patients, ${fleet.devices.length} devices, ${fleet.hubs.length} hubs; ` +
      `${senderList.filter((s) => s.transport === 'mqtt').length} MQTT and ${senderList.filter((s) => s.transport === 'http').length} HTTP connections`,
  );

  let credentials: Map<string, string>;
  let nurseToken: string | undefined;
  if (!o.provision) {
    if (o.credentialsFile === undefined || !existsSync(o.credentialsFile)) throw new Error('without provisioning, --credentials must name a file saved by an earlier run');
    credentials = loadCredentials(o.credentialsFile, fleet);
  } else {
    const p = await provisionFleet(api, fleet, {
      ...(o.nurse === undefined ? {} : { nurse: o.nurse }),
      ...(o.organizationName === undefined ? {} : { organizationName: o.organizationName }),
      log: (l) => o.log(`provisioned ${l}`),
    });
    credentials = p.credentials;
    nurseToken = p.nurseToken;
    if (o.credentialsFile !== undefined) saveCredentials(o.credentialsFile, o.httpUrl, fleet, credentials);
  }
  o.onProvisioned?.(fleet, nurseToken);
  let vendor: VendorSetup | undefined;
  if (o.format !== undefined) {
    if (fleet.hubs.length > 0) throw new Error(`--format ${o.format}: vendor devices reach the gateway through their vendor, not through hubs (use --hubs 0)`);
    vendor = await provisionVendor(api, fleet, o.format, (l) => o.log(l));
  }
  try {
    return await runSimulation(o, { fleet, boot, anchorMs, api, senderList, credentials, vendor });
  } finally {
    await vendor?.close();
  }
}

interface Prepared {
  readonly fleet: Fleet;
  readonly boot: string;
  readonly anchorMs: number;
  readonly api: GatewayApi;
  readonly senderList: ReturnType<typeof senders>;
  readonly credentials: ReadonlyMap<string, string>;
  readonly vendor: VendorSetup | undefined;
}

async function runSimulation(o: SimulateOptions, p: Prepared): Promise<SimulateResult> {
  const { fleet, boot, anchorMs, api, senderList, credentials, vendor } = p;

  const faults = planFaults(o.faults, fleet, senderList, Rng.seeded(fleet.seed).fork('faults'), {
    startMs: anchorMs,
    durationMs: o.durationMs,
    ...(o.stormWindowMs === undefined ? {} : { stormWindowMs: o.stormWindowMs }),
  });
  const ledger = new Ledger();
  const stats = new RunStats();
  const printer = o.progress ? progressPrinter() : undefined;
  const result = await runFleet({
    fleet,
    credentials,
    httpUrl: o.httpUrl,
    mqttUrl: o.mqttUrl,
    boot,
    anchorMs,
    historyMs: o.historyMs,
    durationMs: o.durationMs,
    rate: o.rate,
    ...(o.spotCheckEveryMs === undefined ? {} : { spotCheckEveryMs: o.spotCheckEveryMs }),
    faults,
    window: o.window,
    ledger,
    stats,
    ...(o.signal === undefined ? {} : { signal: o.signal }),
    ...(printer === undefined ? {} : { onProgress: printer.update }),
    log: (l) => {
      printer?.end();
      o.log(l);
    },
    ...(vendor === undefined
      ? {}
      : {
          linkFor: (sender, events) => new VendorLink(o.httpUrl, vendor, sender.deviceIds[0] ?? sender.id, events),
          wholeSecondStamps: true,
        }),
  });
  printer?.end();
  if (result.summary.readings === 0 && o.rate === null) {
    o.log('no reading fell due: the patients measure only a few times a day; add --history, --spot-checks or --rate');
  }
  if (o.ledgerFile !== undefined) await writeLedger(o.ledgerFile, ledger);

  // Withings readings arrive when the gateway has pulled them from the (stand-in) cloud, which stops with the run.
  if (vendor?.format === 'withings') await waitForPulls(api, fleet.organizationId, o.log);
  let loss: LossReport | undefined;
  if (o.check) {
    const rows = await storedReadings(api, fleet);
    loss =
      vendor === undefined
        ? compareAckedWithStored(ledger.entries(), rows, boot)
        : compareAckedWithStored(ledger.entries(), rows, boot, (row) => {
            const r = row as StoredReadingRow;
            return vendor.identities.get(`${r.deviceId}|${r.kind}|${Date.parse(r.measuredAtUtc)}`);
          });
  }
  return { fleet, boot, summary: result.summary, leftUnsent: result.leftUnsent, loss };
}
