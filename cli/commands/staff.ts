import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { createOrganizationInput, createStaffInput, STAFF_ROLES } from '../../core/model/staff.js';
import type { StaffView } from '../api-schemas.js';
import type { CommandGroup } from '../context.js';
import { readStdin } from '../secret-input.js';
import { validated } from '../validate.js';

interface StaffAddOptions {
  role: string;
  org: string;
  name?: string;
  chargeNurse?: boolean;
  phone?: string;
  passwordStdin?: boolean;
}

/** 24 characters of base64url: 144 random bits, typed once by the person it is given to. */
const generatedPassword = (): string => randomBytes(18).toString('base64url');

export const staffCommands: CommandGroup = (program: Command, ctx) => {
  const org = program.command('org').description('register organizations (tenants)');
  org
    .command('add')
    .description('register an organization')
    .argument('<id>', 'organization id')
    .requiredOption('--name <name>', 'display name')
    .action(async (id: string, o: { name: string }) => {
      const input = validated(createOrganizationInput, { id, name: o.name }, { id: '<id>', name: '--name' });
      const created = await ctx.admin().createOrganization(input);
      ctx.output().result(created, (v) => `Organization ${v.id} (${v.name}) registered.`);
    });

  const staff = program.command('staff').description('create staff accounts (nurses, physicians, admins)');
  staff
    .command('add')
    .description('create a staff account; prints a generated password once unless --password-stdin')
    .argument('<email>', 'sign-in email')
    .requiredOption('--role <role>', `one of: ${STAFF_ROLES.join(', ')}`)
    .requiredOption('--org <organizationId>', 'the organization the account belongs to')
    .option('--name <displayName>', 'name shown to colleagues')
    .option('--charge-nurse', 'receives escalations of the organization')
    .option('--phone <e164>', 'E.164 number for SMS escalations, e.g. +15551234567')
    .option('--password-stdin', 'read the password from standard input instead of generating one')
    .action(async (email: string, o: StaffAddOptions) => {
      const password = o.passwordStdin === true ? await readStdin() : generatedPassword();
      const input = validated(
        createStaffInput,
        { email, password, role: o.role, organizationId: o.org, displayName: o.name, isChargeNurse: o.chargeNurse, phone: o.phone },
        { email: '<email>', password: o.passwordStdin === true ? 'password (stdin)' : 'password', role: '--role', organizationId: '--org', displayName: '--name', isChargeNurse: '--charge-nurse', phone: '--phone' },
      );
      const created = await ctx.admin().createStaff(input);
      // A generated password is part of the answer (like a device secret): the only time it is seen.
      const answer: StaffView & { password?: string } = o.passwordStdin === true ? created : { ...created, password };
      ctx.output().result(answer, (v) =>
        [
          `Staff account ${v.email} (${v.role}) created in organization ${v.organizationId}.`,
          ...(v.password === undefined
            ? []
            : ['', `  Password:  ${v.password}`, '', 'This password is shown ONLY ONCE: the gateway keeps only an argon2id hash of it.', 'Give it to its owner over a secure channel.']),
        ].join('\n'),
      );
    });
};
