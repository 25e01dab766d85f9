import type { Command } from 'commander';
import { createPatientInput } from '../../core/model/registry.js';
import type { CommandGroup } from '../context.js';
import * as format from '../format.js';
import { validId, validated } from '../validate.js';

export const patientCommands: CommandGroup = (program: Command, ctx) => {
  const patient = program.command('patient').description('register and look up patients');

  patient
    .command('add')
    .description('register a patient (an opaque reference; no demographics are stored)')
    .argument('<id>', 'patient id')
    .option('--org <organizationId>', 'organization the patient belongs to')
    .action(async (id: string, opts: { org?: string }) => {
      const input = validated(createPatientInput, { id, organizationId: opts.org }, { id: '<id>', organizationId: '--org' });
      const p = await ctx.admin().createPatient(input);
      ctx.output().result(p, (v) => `Patient ${v.id} registered${v.organizationId === null ? '' : ` in organization ${v.organizationId}`}.`);
    });

  patient
    .command('move')
    .description("move a patient to another organization: leaves the old one's care teams, keeps its devices, takes its unresolved alerts (audited)")
    .argument('<id>', 'patient id')
    .requiredOption('--org <organizationId>', 'the organization the patient belongs to from now')
    .action(async (id: string, opts: { org: string }) => {
      const r = await ctx.admin().movePatient(validId(id, '<id>'), validId(opts.org, '--org'));
      ctx.output().result(
        r,
        (v) =>
          `Patient ${v.id} moved to organization ${v.organizationId ?? '-'}${v.previousOrganizationId === null ? '' : ` (from ${v.previousOrganizationId})`}: ` +
          `left ${v.careTeamsLeft.length} care team(s), ${v.alertsMoved} unresolved alert(s) moved, ${v.devicesKept} device(s) kept.`,
      );
    });

  patient
    .command('show')
    .description('show a patient')
    .argument('<id>', 'patient id')
    .action(async (id: string) => {
      const p = await ctx.admin().getPatient(validId(id, '<id>'));
      ctx.output().result(p, format.patient);
    });
};
