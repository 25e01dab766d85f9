import type { Command } from 'commander';
import type { AdminClient } from './admin-client.js';
import type { Connection } from './connection.js';
import type { Output } from './output.js';

/**
 * What a command needs from the program. Resolved lazily, when an action runs, because global
 * options are only known after parsing and `--help` must work without a gateway or a token.
 */
export interface CliContext {
  output(): Output;
  connection(): Connection;
  admin(): AdminClient;
}

/** A group of commands (`rpm patient …`, `rpm device …`); adding one to main.ts's list adds it to the CLI. */
export type CommandGroup = (program: Command, ctx: CliContext) => void;
