import { z } from 'zod';
import { type CareTeam, type Organization, STAFF_ROLES, STAFF_STATUSES, type Staff } from '../../core/model/staff.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** What a staff member's own client sees of the account (login, /v1/auth/me). */
export const staffSelfView = z.object({
  id: z.string(),
  email: z.string(),
  role: z.enum(STAFF_ROLES),
  organizationId: z.string(),
  displayName: z.string().nullable(),
  isChargeNurse: z.boolean(),
});
export const toStaffSelfView = (s: Staff): z.infer<typeof staffSelfView> => ({
  id: s.id,
  email: s.email,
  role: s.role,
  organizationId: s.organizationId,
  displayName: s.displayName,
  isChargeNurse: s.isChargeNurse,
});

/** What administrators see of an account. Never the password or its hash. */
export const staffAdminView = staffSelfView.extend({
  status: z.enum(STAFF_STATUSES),
  phone: z.string().nullable(),
  createdAt: z.string(),
});
export const toStaffAdminView = (s: Staff): z.infer<typeof staffAdminView> => ({
  ...toStaffSelfView(s),
  status: s.status,
  phone: s.phone,
  createdAt: iso(s.createdAtMs),
});

export const organizationView = z.object({ id: z.string(), name: z.string(), createdAt: z.string() });
export const toOrganizationView = (o: Organization): z.infer<typeof organizationView> => ({ id: o.id, name: o.name, createdAt: iso(o.createdAtMs) });

export const careTeamView = z.object({ id: z.string(), organizationId: z.string(), name: z.string(), createdAt: z.string() });
export const toCareTeamView = (t: CareTeam): z.infer<typeof careTeamView> => ({ id: t.id, organizationId: t.organizationId, name: t.name, createdAt: iso(t.createdAtMs) });
