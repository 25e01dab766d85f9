import type { Command } from 'commander';
import { ChainVerifier, type ChainVerification, parseAnchor } from '../../core/audit/chain.js';
import type { SealedAuditEntry } from '../../core/ports/audit-log.js';
import type { AuditEntryView } from '../api-schemas.js';
import type { CommandGroup } from '../context.js';
import { CliError, EXIT } from '../errors.js';

const PAGE = 1000;

const sealed = (e: AuditEntryView): SealedAuditEntry => ({
  seq: e.seq,
  atMs: e.atMs,
  actor: e.actor,
  action: e.action,
  subject: e.subject,
  outcome: e.outcome,
  sourceIp: e.sourceIp,
  details: e.details,
  patientIds: e.patientIds,
  prevHash: e.prevHash,
  hash: e.hash,
});

/** A broken chain: exit 1 (like a refusal) with its own code, so scripts and monitors can alert. */
class BrokenChain extends CliError {
  constructor(readonly result: Extract<ChainVerification, { ok: false }>) {
    super('RPM_CLI_AUDIT_CHAIN_BROKEN', `audit log broken at entry ${result.brokenAt} (${result.reason}): ${result.message}; ${result.entries} entries before it verified`, EXIT.refused);
  }
}

export const auditCommands: CommandGroup = (program: Command, ctx) => {
  const audit = program.command('audit').description('verify and export the tamper-evident audit log');

  audit
    .command('verify')
    .description('download the whole audit log and recompute its hash chain here; names the first broken link (exit 1)')
    .option('--anchor <seq:hash>', 'a head recorded earlier (`rpm audit head`): the log must still hold it unchanged')
    .action(async (opts: { anchor?: string }) => {
      const anchor = opts.anchor === undefined ? undefined : parseAnchor(opts.anchor);
      if (opts.anchor !== undefined && anchor === undefined) throw new CliError('RPM_ERR_REQUEST_INVALID', '--anchor must be <seq>:<64 hex digits>', EXIT.usage);
      const verifier = new ChainVerifier();
      let after = 0;
      for (;;) {
        const page = await ctx.admin().auditPage(after, PAGE);
        let intact = true;
        for (const view of page.entries) {
          const e = sealed(view);
          intact = (anchor === undefined || verifier.checkAnchor(e, anchor)) && verifier.add(e);
          if (!intact) break;
        }
        if (!intact || page.next === null) break;
        after = page.next;
      }
      const result = verifier.finish(anchor);
      if (!result.ok) throw new BrokenChain(result);
      ctx.output().result(result, (r) =>
        r.ok ? `Audit log intact: ${r.entries} entries${r.head === null ? '' : `, head ${r.head.seq}:${r.head.hash}`}${anchor === undefined ? '' : `; anchor ${anchor.seq} matches`}.` : '',
      );
    });

  audit
    .command('head')
    .description('the newest entry and its hash: keep it elsewhere (an anchor) to detect a truncated or rewritten log later')
    .action(async () => {
      const head = await ctx.admin().auditHead();
      ctx.output().result(head, (h) => h.anchor);
    });

  audit
    .command('export')
    .description('print the audit log oldest first as JSON lines, or (--fhir) as FHIR AuditEvent resources, one per line')
    .option('--fhir', 'FHIR R4 AuditEvent resources (the hash chain in an extension)')
    .option('--after <seq>', 'start after this entry', '0')
    .action(async (opts: { fhir?: boolean; after: string }) => {
      let after = Number(opts.after);
      if (!Number.isSafeInteger(after) || after < 0) throw new CliError('RPM_ERR_REQUEST_INVALID', '--after must be a whole number', EXIT.usage);
      // NDJSON on stdout, streamed page by page, so a log of any size exports in constant memory.
      for (;;) {
        if (opts.fhir === true) {
          const bundle = await ctx.admin().auditFhirPage(after, PAGE);
          for (const e of bundle.entry ?? []) process.stdout.write(`${JSON.stringify((e as { resource: unknown }).resource)}\n`);
          const next = bundle.link?.find((l) => l.relation === 'next');
          const m = next === undefined ? null : /[?&]after=(\d+)/.exec(next.url);
          if (m === null || m === undefined) return;
          after = Number(m[1]);
        } else {
          const page = await ctx.admin().auditPage(after, PAGE);
          for (const e of page.entries) process.stdout.write(`${JSON.stringify(e)}\n`);
          if (page.next === null) return;
          after = page.next;
        }
      }
    });
};
