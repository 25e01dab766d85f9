/**
 * Exit statuses follow sysexits(3), like the gateway's own 78 for bad configuration, so a script
 * can tell "the gateway said no" (1) from "the command was wrong" or "the gateway could not be asked".
 */
export const EXIT = {
  ok: 0,
  refused: 1,
  usage: 64,
  unavailable: 69,
  internal: 70,
  config: 78,
} as const;

export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];

/**
 * Conditions only the CLI can detect; they never come from the gateway, so they are kept out of
 * core's catalogue but share its naming so scripts can branch on `code` alike.
 */
export type CliOnlyCode = 'RPM_CLI_UNREACHABLE' | 'RPM_CLI_BAD_RESPONSE' | 'RPM_CLI_NO_TOKEN' | 'RPM_CLI_CONFIG_INVALID' | 'RPM_CLI_AUDIT_CHAIN_BROKEN';

/**
 * Anything the CLI reports as a failure. `code` is a string, not RpmErrorCode: a newer gateway
 * may answer with a code this CLI has never heard of, and it must still be shown verbatim.
 */
export class CliError extends Error {
  constructor(
    readonly code: string,
    readonly detail: string,
    readonly exitStatus: ExitStatus,
    readonly httpStatus?: number,
  ) {
    super(detail);
    this.name = 'CliError';
  }
}
