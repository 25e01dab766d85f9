import type { Command } from 'commander';
import { z } from 'zod';
import type { SimulateOptions, SimulateResult } from '../../simulators/io/simulate.js';
import { FORMAT_KINDS, VENDOR_FORMATS } from '../../simulators/vendors/formats.js';
import type { CommandGroup } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { validated } from '../validate.js';

/**
 * `rpm simulate`: drives simulated devices against a running gateway. The simulator itself
 * (simulators/) is loaded only when the command runs: it needs MQTT.js and hdr-histogram-js,
 * and the other commands must work without them.
 */

interface Flags {
  devices?: string;
  patients?: string;
  mix?: string;
  transport: string;
  hubs: string;
  rate?: string;
  duration: string;
  history: string;
  spotChecks?: string;
  seed: string;
  episodes: string;
  faults: string;
  stormWindow?: string;
  window: string;
  mqttUrl?: string;
  provision: boolean;
  credentials?: string;
  nurseEmail?: string;
  nursePassword?: string;
  prefix?: string;
  ledger?: string;
  check?: boolean;
  progress: boolean;
  format?: string;
}

const KINDS = ['bp-cuff', 'pulse-oximeter', 'scale', 'glucometer', 'thermometer', 'cgm'] as const;
const EPISODES = ['hf-fluid-gain', 'severe-hypertension', 'hypoglycemia', 'desaturation', 'fever', 'missed-readings'] as const;
const FAULT_NAMES = ['duplicates', 'offline', 'clock-drift', 'morning-burst', 'malformed', 'reconnect-storm'] as const;
/** Vendor wire formats and the device kinds each carries (no I/O: safe to load with every command). */
const FORMATS = FORMAT_KINDS;

const count = z.coerce.number().int().min(1).max(100_000);
const seconds = z.coerce.number().min(0).max(30 * 86_400);
const args = z.object({
  devices: count.optional(),
  patients: count.optional(),
  // partialRecord: zod 4's record over an enum demands every key; a mix names only some kinds.
  mix: z.partialRecord(z.enum(KINDS), z.number().min(0)).optional(),
  transport: z.enum(['mqtt', 'http', 'mixed']),
  hubs: z.coerce.number().min(0).max(1),
  rate: z.coerce.number().positive().max(1_000_000).optional(),
  duration: seconds,
  history: z.coerce.number().min(0).max(365),
  spotChecks: z.coerce.number().positive().max(1440).optional(),
  episodes: z.union([z.literal('mixed'), z.literal('none'), z.array(z.enum(EPISODES)).min(1)]),
  faults: z.array(z.enum(FAULT_NAMES)),
  stormWindow: seconds.optional(),
  window: z.coerce.number().int().min(1).max(1000),
  prefix: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/, 'letters, digits, . and -'),
  mqttUrl: z.url().optional(),
  format: z.enum(VENDOR_FORMATS).optional(),
});

const ARG_NAMES = {
  devices: '--devices',
  patients: '--patients',
  mix: '--mix',
  transport: '--transport',
  hubs: '--hubs',
  rate: '--rate',
  duration: '--duration',
  history: '--history',
  spotChecks: '--spot-checks',
  episodes: '--episodes',
  faults: '--faults',
  stormWindow: '--storm-window',
  window: '--window',
  prefix: '--prefix',
  mqttUrl: '--mqtt-url',
  format: '--format',
};

function parseMix(text: string | undefined): Record<string, number> | undefined {
  if (text === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const part of text.split(',').filter((s) => s.trim() !== '')) {
    const [k, v] = part.split('=');
    out[(k ?? '').trim()] = v === undefined ? Number.NaN : Number(v);
  }
  return out;
}

const list = (text: string): string[] =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== 'none');

/** The MQTT listener of the gateway at `httpUrl`: same host, RPM_MQTT_PORT (default 1883). */
function defaultMqttUrl(httpUrl: string): string {
  const port = process.env.RPM_MQTT_PORT ?? '1883';
  return `mqtt://${new URL(httpUrl).hostname}:${port}`;
}

/** The gateway's refusal (its code), or an unreachable gateway, as the CLI reports them. */
function asCliError(err: unknown, url: string): CliError {
  if (err instanceof CliError) return err;
  const e = err as { name?: string; status?: number; code?: string; message?: string };
  if (e.name === 'ApiError') return new CliError(e.code ?? `HTTP_${e.status ?? 0}`, e.message ?? 'refused', EXIT.refused, e.status);
  if (e.name === 'TypeError' || e.name === 'TimeoutError') return new CliError('RPM_CLI_UNREACHABLE', `cannot reach the gateway at ${url}: ${e.message ?? ''}`, EXIT.unavailable);
  return new CliError('RPM_CLI_SIMULATION_FAILED', e.message ?? String(err), EXIT.internal);
}

export const simulateCommands: CommandGroup = (program: Command, ctx) => {
  program
    .command('simulate')
    .description('drive simulated patients and devices (BP cuffs, oximeters, scales, glucometers, thermometers, CGMs, hubs) against a running gateway')
    .option('--devices <n>', 'number of measuring devices (default 20 unless --patients is given)')
    .option('--patients <n>', 'number of patients (their conditions decide their devices)')
    .option('--mix <kind=weight,...>', `device kinds by weight instead of patient archetypes, e.g. bp-cuff=3,scale=2,cgm=1 (${KINDS.join(', ')})`)
    .option('--transport <t>', 'mqtt, http or mixed (60 % MQTT)', 'mixed')
    .option('--hubs <share>', 'share of patients whose devices a hub relays (0..1)', '0.25')
    .option('--rate <readings/s>', 'fixed total rate across the fleet (load test) instead of the patients’ schedules')
    .option('--duration <s>', 'live phase in seconds; 0 runs until Ctrl-C', '60')
    .option('--history <days>', 'first upload this many days of backlog (the patients’ schedules before now)', '0')
    .option('--spot-checks <minutes>', 'each device also measures once in every window of this many minutes (livelier demos)')
    .option('--seed <seed>', 'same seed, same patients, devices and readings', '1')
    .option('--episodes <list>', `mixed, none, or a list of: ${EPISODES.join(', ')}`, 'mixed')
    .option('--faults <list>', `none, all, or a list of: ${FAULT_NAMES.join(', ')}`, 'none')
    .option('--storm-window <s>', 'reconnect storm: devices reconnect within this many seconds')
    .option('--window <n>', 'transmissions in flight per connection', '1')
    .option('--format <vendor>', `devices speak a vendor's wire format through its endpoints (${VENDOR_FORMATS.join(', ')}); implies --transport http --hubs 0 and, without --mix, the kinds the vendor carries`)
    .option('--mqtt-url <url>', 'gateway MQTT listener (default: the --url host, port $RPM_MQTT_PORT or 1883)')
    .option('--no-provision', 'do not register anything; read secrets from --credentials')
    .option('--credentials <file>', 'save device secrets here (mode 0600), or read them with --no-provision')
    .option('--nurse-email <email>', 'create this nurse in the simulated organization and save every care plan as her')
    .option('--nurse-password <password>', 'her password (at least 12 characters)')
    .option('--prefix <prefix>', 'id prefix of everything created; marks simulated test data (default sim-<seed>)')
    .option('--ledger <file>', 'write every reading’s fate (sent, acknowledged, rejected) as JSON lines')
    .option('--check', 'afterwards, prove every acknowledged reading is stored exactly once (exit 1 if not)')
    .option('--no-progress', 'no progress line')
    .addHelpText(
      'after',
      `
Examples:
  rpm simulate --patients 30 --duration 300 --spot-checks 3 --nurse-email nurse@sim.example --nurse-password 'a long passphrase'
  rpm simulate --devices 500 --transport mqtt --rate 2000 --duration 60 --faults duplicates,reconnect-storm --check
  rpm simulate --devices 50 --history 7 --duration 0          # a week of backlog, then live until Ctrl-C
  rpm simulate --format tenovi --devices 200 --rate 500 --duration 60 --check   # Tenovi webhooks under load
  rpm simulate --format withings --devices 20 --history 2 --duration 30 --check # notifications, then the gateway pulls`,
    )
    .action(async (f: Flags) => {
      const a = validated(
        args,
        {
          devices: f.devices,
          patients: f.patients,
          mix: parseMix(f.mix),
          transport: f.transport,
          hubs: f.hubs,
          rate: f.rate,
          duration: f.duration,
          history: f.history,
          spotChecks: f.spotChecks,
          episodes: f.episodes === 'mixed' || f.episodes === 'none' ? f.episodes : list(f.episodes),
          faults: f.faults === 'all' ? [...FAULT_NAMES] : list(f.faults),
          stormWindow: f.stormWindow,
          window: f.window,
          prefix: f.prefix ?? `sim-${f.seed}`,
          mqttUrl: f.mqttUrl,
          format: f.format,
        },
        ARG_NAMES,
      );
      if (a.format !== undefined && a.patients !== undefined && a.mix === undefined && a.format !== 'open-mhealth') {
        throw new CliError('RPM_ERR_REQUEST_INVALID', `--format ${a.format} carries ${FORMATS[a.format].join(', ')}: use --devices (and --mix) rather than --patients, whose conditions bring other devices`, EXIT.usage);
      }
      if ((f.nurseEmail === undefined) !== (f.nursePassword === undefined)) {
        throw new CliError('RPM_ERR_REQUEST_INVALID', '--nurse-email and --nurse-password go together', EXIT.usage);
      }
      const conn = ctx.connection();
      let sim: typeof import('../../simulators/io/simulate.js');
      try {
        sim = await import('../../simulators/io/simulate.js');
      } catch (err) {
        throw new CliError('RPM_CLI_CONFIG_INVALID', `the simulator cannot load (${(err as Error).message}); it needs the dev dependencies (npm ci)`, EXIT.config);
      }
      const stop = new AbortController();
      const onSignal = (): void => {
        if (stop.signal.aborted) process.exit(130);
        process.stderr.write('\nstopping: draining what is unacknowledged (Ctrl-C again to quit at once)\n');
        stop.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const options: SimulateOptions = {
        httpUrl: conn.url,
        mqttUrl: a.mqttUrl ?? defaultMqttUrl(conn.url),
        adminToken: conn.token,
        fleet: {
          seed: f.seed,
          idPrefix: a.prefix,
          ...(a.patients === undefined ? { devices: a.devices ?? 20 } : { patients: a.patients }),
          ...(a.mix === undefined ? (a.format === undefined ? {} : { mix: Object.fromEntries(FORMATS[a.format].map((k) => [k, 1])) }) : { mix: a.mix }),
          transport: a.format === undefined ? a.transport : 'http',
          hubShare: a.format === undefined ? a.hubs : 0,
          episodes: a.episodes,
        },
        durationMs: a.duration === 0 ? null : a.duration * 1000,
        rate: a.rate ?? null,
        historyMs: a.history * 86_400_000,
        ...(a.spotChecks === undefined ? {} : { spotCheckEveryMs: a.spotChecks * 60_000 }),
        faults: a.faults,
        ...(a.stormWindow === undefined ? {} : { stormWindowMs: a.stormWindow * 1000 }),
        window: a.window,
        provision: f.provision,
        ...(f.credentials === undefined ? {} : { credentialsFile: f.credentials }),
        ...(f.nurseEmail === undefined || f.nursePassword === undefined ? {} : { nurse: { email: f.nurseEmail, password: f.nursePassword, displayName: 'Simulated nurse (test data)' } }),
        ...(f.ledger === undefined ? {} : { ledgerFile: f.ledger }),
        check: f.check === true,
        ...(a.format === undefined ? {} : { format: a.format }),
        // On a terminal one line redrawn in place; into a file or pipe a line every ten seconds.
        progress: f.progress,
        signal: stop.signal,
        log: (line) => process.stderr.write(`${line}\n`),
      };
      try {
        let r: SimulateResult;
        try {
          r = await sim.simulate(options);
        } catch (err) {
          throw asCliError(err, conn.url);
        }
        const { formatSummary } = await import('../../simulators/run-stats.js');
        const { formatLossReport } = await import('../../simulators/loss-check.js');
        ctx.output().result({ boot: r.boot, summary: r.summary, leftUnsent: r.leftUnsent, loss: r.loss }, () =>
          [formatSummary(r.summary), ...(r.loss === undefined ? [] : [formatLossReport(r.loss)])].join('\n'),
        );
        if (r.loss !== undefined && !r.loss.ok) throw new CliError('RPM_SIM_LOSS', 'acknowledged readings are missing or stored twice', EXIT.refused);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
};
