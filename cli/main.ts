import { Command } from 'commander';
import { AdminClient } from './admin-client.js';
import { auditCommands } from './commands/audit.js';
import { deviceCommands } from './commands/device.js';
import { fhirCommands } from './commands/fhir.js';
import { patientCommands } from './commands/patient.js';
import { simulateCommands } from './commands/simulate.js';
import { staffCommands } from './commands/staff.js';
import { type Connection, type ConnectionFlags, resolveConnection } from './connection.js';
import type { CliContext, CommandGroup } from './context.js';
import { EXIT } from './errors.js';
import { createOutput, reportFailure } from './output.js';

/** Every command group of `rpm`; a new one (e.g. `rpm simulate`) is one module and one entry here. */
const COMMAND_GROUPS: readonly CommandGroup[] = [staffCommands, patientCommands, deviceCommands, fhirCommands, auditCommands, simulateCommands];

interface GlobalOptions extends ConnectionFlags {
  readonly json?: boolean;
}

const EPILOG = `
Environment:
  RPM_URL          gateway base URL
  RPM_HTTP_PORT    port for the default URL (default 8080)
  RPM_ADMIN_TOKEN  admin bearer token
  RPM_DATA_DIR     where the gateway keeps admin-token when RPM_ADMIN_TOKEN is unset (default ./data)

Exit status: 0 ok, ${EXIT.refused} refused by the gateway (the code says why), ${EXIT.usage} invalid arguments,
${EXIT.unavailable} gateway unreachable or not a gateway, ${EXIT.config} no admin token or bad settings.`;

export function buildProgram(): Command {
  const program = new Command('rpm')
    .description('Administer a running RPM gateway over its HTTP admin API.')
    .option('--url <url>', 'gateway base URL (default: $RPM_URL, else http://127.0.0.1:${RPM_HTTP_PORT:-8080})')
    .option('--token <token>', 'admin token (default: $RPM_ADMIN_TOKEN, else the file ${RPM_DATA_DIR:-./data}/admin-token)')
    .option('--json', 'print machine-readable JSON (errors go to stderr as {"error": {...}})')
    .addHelpText('after', EPILOG)
    .showHelpAfterError('(add --help for usage)')
    // Errors are turned into exit statuses by main(), not by commander calling process.exit.
    .exitOverride();

  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  let connection: Connection | undefined;
  const ctx: CliContext = {
    output: () => createOutput(globals().json === true),
    connection: () => (connection ??= resolveConnection(globals())),
    admin: () => new AdminClient(ctx.connection()),
  };
  for (const group of COMMAND_GROUPS) group(program, ctx);
  return program;
}

/** Runs the CLI on process-style argv (node, script, ...args) and returns the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return EXIT.ok;
  } catch (err) {
    return reportFailure(err, program.opts<GlobalOptions>().json === true);
  }
}
