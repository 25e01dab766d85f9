import { CommanderError } from 'commander';
import { CliError, EXIT } from './errors.js';

interface Sink {
  write(chunk: string): unknown;
}

export interface Output {
  /** Prints `data` as JSON with --json, else its human rendering. */
  result<T>(data: T, human: (data: T) => string): void;
}

export function createOutput(json: boolean, stdout: Sink = process.stdout): Output {
  return {
    result(data, human) {
      stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${human(data).replace(/\n*$/, '')}\n`);
    },
  };
}

/**
 * Prints a failure on stderr (stdout stays clean for whatever a script pipes on) and returns the
 * exit status. Commander has already printed its own usage errors; only the status is mapped here.
 */
export function reportFailure(err: unknown, json: boolean, stderr: Sink = process.stderr): number {
  if (err instanceof CommanderError) {
    // 0 for --help and --version; anything else (including help shown for a missing subcommand) is a usage error.
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (err instanceof CliError) {
    const fields = { code: err.code, detail: err.detail, ...(err.httpStatus === undefined ? {} : { status: err.httpStatus }) };
    stderr.write(json ? `${JSON.stringify({ error: fields })}\n` : `error ${err.code}: ${err.detail}\n`);
    return err.exitStatus;
  }
  // A bug in the CLI itself: show the stack, it is what a maintainer needs.
  stderr.write(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return EXIT.internal;
}
