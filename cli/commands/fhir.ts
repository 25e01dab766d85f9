import type { Command } from 'commander';
import { backfillInput, createDestinationInput } from '../../core/model/destination.js';
import { FORWARDED_KINDS } from '../../core/model/reading-kinds.js';
import type { BackfillResult, DestinationList, DestinationStatus, DestinationView } from '../api-schemas.js';
import type { CommandGroup } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { readSecret } from '../secret-input.js';
import { fields, table } from '../table.js';
import { toNumber, validId, validated } from '../validate.js';

interface AddOptions {
  org: string;
  baseUrl: string;
  auth: string;
  username?: string;
  secretFile?: string;
  clientId?: string;
  alg?: string;
  tokenUrl?: string;
  scope?: string;
  keyId?: string;
  patients: string;
  kinds?: string;
  batchSize?: string;
  paused?: boolean;
}

const AUTH_TYPES = ['none', 'basic', 'bearer', 'smart-backend'] as const;
const PATIENTS_HELP =
  'how the EHR knows patients: reference[:Patient/{patientId}] (default), identifier:<system>, search:<system> (find the EHR Patient by identifier and keep it), conditional:<system> (Patient?identifier=…), explicit (only patients an admin maps)';

const list = (value: string | undefined): string[] | undefined =>
  value === undefined
    ? undefined
    : value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');

/** `search:urn:oid:1.2.3` → {type: 'search', system: 'urn:oid:1.2.3'}; the schema says what is wrong. */
function patientMapping(value: string): unknown {
  const colon = value.indexOf(':');
  const type = colon < 0 ? value : value.slice(0, colon);
  const rest = colon < 0 ? undefined : value.slice(colon + 1);
  if (type === 'reference') return { type, ...(rest === undefined ? {} : { template: rest }) };
  if (type === 'explicit') return { type };
  return { type, system: rest };
}

async function auth(o: AddOptions): Promise<unknown> {
  const needsSecret = o.auth !== 'none';
  if (needsSecret && o.secretFile === undefined) {
    throw new CliError('RPM_ERR_REQUEST_INVALID', `--secret-file: --auth ${o.auth} needs its secret (password, token or private key) from a file, or - for standard input`, EXIT.usage);
  }
  const secret = needsSecret ? await readSecret(o.secretFile as string, '--secret-file') : '';
  switch (o.auth) {
    case 'none':
      return { type: 'none' };
    case 'basic':
      return { type: 'basic', username: o.username, password: secret };
    case 'bearer':
      return { type: 'bearer', token: secret };
    case 'smart-backend': {
      // A private JWK is JSON; a PEM is text.
      const privateKey = secret.trimStart().startsWith('{') ? (JSON.parse(secret) as unknown) : secret;
      return { type: 'smart-backend', clientId: o.clientId, alg: o.alg, privateKey, tokenUrl: o.tokenUrl, scope: o.scope, keyId: o.keyId };
    }
    default:
      throw new CliError('RPM_ERR_REQUEST_INVALID', `--auth: one of ${AUTH_TYPES.join(', ')}`, EXIT.usage);
  }
}

const destinationFields = (d: DestinationView): (readonly [string, string | null])[] => [
  ['Destination', d.id],
  ['Organization', d.organizationId],
  ['FHIR base URL', d.baseUrl],
  ['State', d.enabled ? 'active' : 'PAUSED (readings are queued, not sent)'],
  ['Auth', d.auth.type],
  ['Patients', Object.values(d.patientMapping).join(' ')],
  ['Kinds', d.kinds.join(', ')],
  ['Batch size', d.batchSize === null ? 'gateway default (RPM_FHIR_BATCH_SIZE)' : String(d.batchSize)],
];

function status(s: DestinationStatus): string {
  const c = s.deliveries;
  const circuit = s.circuit === null ? 'none (paused)' : `${s.circuit.state}${s.circuit.reopensAt === null ? '' : ` (probe at ${s.circuit.reopensAt})`}`;
  const batching =
    s.batching === null ? null : s.batching.reason === null ? `${s.batching.current} per exchange` : `${s.batching.current} of ${s.batching.configured} per exchange: ${s.batching.reason}`;
  return fields([
    ...destinationFields(s),
    ['Deliveries', `${c.pending} pending, ${c.failed} failed (retrying), ${c.delivered} delivered, ${c.dead} dead`],
    ['Oldest waiting', s.oldestWaitingSince],
    ['Circuit', circuit],
    ['Batching', batching],
    ['Server', s.server === null ? 'not contacted yet' : `${s.server.interaction}${s.server.batch ? ', batch Bundles' : ''}`],
  ]);
}

function destinations(l: DestinationList): string {
  if (l.destinations.length === 0) return 'No FHIR destinations.';
  return table(
    ['ID', 'ORGANIZATION', 'STATE', 'PATIENTS', 'KINDS', 'BASE URL'],
    l.destinations.map((d) => [d.id, d.organizationId, d.enabled ? 'active' : 'paused', d.patientMapping.type, FORWARDED_KINDS.every((k) => d.kinds.includes(k)) ? 'all' : d.kinds.join(','), d.baseUrl]),
  );
}

const backfilled = (id: string) => (r: BackfillResult): string =>
  r.queued === 0
    ? `Nothing to queue: every matching reading already has its delivery to ${id}.`
    : `${r.queued} reading(s) (${r.kinds.join(', ')}) queued for ${id}; each is sent once (rpm fhir destination show ${id} follows them).`;

export const fhirCommands: CommandGroup = (program: Command, ctx) => {
  const fhir = program.command('fhir').description('forward readings to EHRs as FHIR R4 Observations');
  const destination = fhir.command('destination').description("manage an organization's FHIR destinations (EHRs)");

  destination
    .command('add')
    .description('add an EHR that receives the organization’s readings; its secret is read from a file or stdin, stored encrypted, never shown again')
    .argument('<id>', 'destination id')
    .requiredOption('--org <organizationId>', 'the organization whose readings it receives')
    // Not --url: that is the gateway's own address (a global option).
    .requiredOption('--base-url <url>', 'the EHR’s FHIR R4 base URL, e.g. https://ehr.example.org/fhir')
    .option('--auth <type>', `one of: ${AUTH_TYPES.join(', ')}`, 'none')
    .option('--username <name>', 'basic auth user name')
    .option('--secret-file <path>', 'the password (basic), token (bearer) or private key, PEM or JWK (smart-backend); - reads standard input')
    .option('--client-id <id>', 'SMART Backend Services client id')
    .option('--alg <alg>', 'SMART client assertion algorithm: RS384 or ES384')
    .option('--token-url <url>', 'SMART token endpoint (default: discovered from .well-known/smart-configuration)')
    .option('--scope <scope>', 'SMART scopes (default: write Observations and Devices, read them and Patients)')
    .option('--key-id <kid>', 'SMART key id (kid)')
    .option('--patients <mapping>', PATIENTS_HELP, 'reference')
    .option('--kinds <list>', `comma-separated reading kinds (default all): ${FORWARDED_KINDS.join(', ')}`)
    .option('--batch-size <n>', 'Observations per batch Bundle; 1 sends each on its own (default RPM_FHIR_BATCH_SIZE)')
    .option('--paused', 'create it paused: readings are queued until `resume`')
    .action(async (id: string, o: AddOptions) => {
      const input = validated(
        createDestinationInput,
        {
          id,
          organizationId: o.org,
          baseUrl: o.baseUrl,
          auth: await auth(o),
          patientMapping: patientMapping(o.patients),
          kinds: list(o.kinds),
          enabled: o.paused !== true,
          batchSize: toNumber(o.batchSize),
        },
        {
          id: '<id>',
          organizationId: '--org',
          baseUrl: '--base-url',
          'auth.username': '--username',
          'auth.password': '--secret-file',
          'auth.token': '--secret-file',
          'auth.privateKey': '--secret-file',
          'auth.clientId': '--client-id',
          'auth.alg': '--alg',
          'auth.tokenUrl': '--token-url',
          'auth.scope': '--scope',
          'auth.keyId': '--key-id',
          auth: '--auth',
          patientMapping: '--patients',
          'patientMapping.system': '--patients',
          'patientMapping.template': '--patients',
          kinds: '--kinds',
          batchSize: '--batch-size',
        },
      );
      const created = await ctx.admin().createDestination(input);
      ctx.output().result(created, (d) =>
        [
          `FHIR destination ${d.id} added for organization ${d.organizationId}${d.enabled ? '' : ' (paused)'}.`,
          '',
          fields(destinationFields(d)),
          '',
          'Readings committed before now are not sent: `rpm fhir destination backfill` sends them.',
        ].join('\n'),
      );
    });

  destination
    .command('list')
    .description('list FHIR destinations')
    .option('--org <organizationId>', "only this organization's")
    .action(async (o: { org?: string }) => {
      ctx.output().result(await ctx.admin().listDestinations(o.org === undefined ? undefined : validId(o.org, '--org')), destinations);
    });

  destination
    .command('show')
    .description('a destination with its deliveries, oldest waiting, circuit breaker and batching')
    .argument('<id>')
    .action(async (id: string) => {
      ctx.output().result(await ctx.admin().destinationStatus(validId(id, '<id>')), status);
    });

  destination
    .command('pause')
    .description('stop sending; readings keep being queued (nothing is dropped) until `resume`')
    .argument('<id>')
    .action(async (id: string) => {
      const d = await ctx.admin().pauseDestination(validId(id, '<id>'), 'pause');
      ctx.output().result(d, (v) => `FHIR destination ${v.id} paused: readings are queued, not sent, until \`rpm fhir destination resume ${v.id}\`.`);
    });

  destination
    .command('resume')
    .description('send again, starting with what was queued while paused')
    .argument('<id>')
    .action(async (id: string) => {
      const d = await ctx.admin().pauseDestination(validId(id, '<id>'), 'resume');
      ctx.output().result(d, (v) => `FHIR destination ${v.id} resumed: what was queued is being sent, oldest first.`);
    });

  destination
    .command('backfill')
    .description('send the destination every reading measured since a time that it has not been sent (once each); audited')
    .argument('<id>')
    .requiredOption('--since <iso>', 'readings measured at or after this instant, ISO 8601 with offset, e.g. 2026-01-01T00:00:00Z')
    .option('--until <iso>', 'and before this instant (default now)')
    .option('--kinds <list>', "comma-separated reading kinds (default: the destination's)")
    .action(async (id: string, o: { since: string; until?: string; kinds?: string }) => {
      const dest = validId(id, '<id>');
      const input = validated(backfillInput, { since: o.since, until: o.until, kinds: list(o.kinds) }, { since: '--since', until: '--until', kinds: '--kinds' });
      ctx.output().result(await ctx.admin().backfill(dest, input), backfilled(dest));
    });
};
