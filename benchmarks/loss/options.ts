import { parseArgs } from 'node:util';
import { z } from 'zod';

/** `npm run check:loss -- [flags]`: the command line, checked at the edge. */

export const USAGE = `npm run check:loss -- [options]

Runs simulated devices (HTTP and MQTT, cellular and hubs) against a gateway child process that is
killed with SIGKILL and restarted again and again, then proves from the gateway's SQLite file that
every acknowledged reading is stored exactly once. Exit code 1 if anything failed.

  --kills <n>       SIGKILL + restart cycles (default 20)
  --devices <n>     measuring devices (default 16; about a third relayed by hubs)
  --rate <n>        readings per second across the fleet (default 1000)
  --window <n>      transmissions in flight per connection (default 4)
  --min-acks <n>    new acknowledgements between kills, plus up to as many again at random (default 300)
  --seed <seed>     fleet and kill timing (default loss)
  --mode <mode>     embedded (default): one gateway process on SQLite, killed each time;
                    distributed: 2 gateways behind a TCP balancer and 2 workers on a PostgreSQL and a
                    Redis of its own; each kill hits the next of gateway 1, worker 1, gateway 2,
                    worker 2 and Redis (which comes back empty)
  --keep-data       keep the gateway's data directory for inspection
  --help`;

const schema = z.object({
  kills: z.coerce.number().int().min(1).max(1000),
  devices: z.coerce.number().int().min(2).max(10_000),
  rate: z.coerce.number().positive().max(100_000),
  window: z.coerce.number().int().min(1).max(100),
  minAcks: z.coerce.number().int().min(1).max(1_000_000),
  seed: z.string().min(1),
  mode: z.enum(['embedded', 'distributed']),
  keepData: z.boolean(),
  help: z.boolean(),
});
export type LossOptions = z.infer<typeof schema>;

export function parseOptions(argv: readonly string[]): LossOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      kills: { type: 'string', default: '20' },
      devices: { type: 'string', default: '16' },
      rate: { type: 'string', default: '1000' },
      window: { type: 'string', default: '4' },
      'min-acks': { type: 'string', default: '300' },
      seed: { type: 'string', default: 'loss' },
      mode: { type: 'string', default: 'embedded' },
      'keep-data': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const parsed = schema.safeParse({ ...values, minAcks: values['min-acks'], keepData: values['keep-data'] });
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; '));
  return parsed.data;
}
