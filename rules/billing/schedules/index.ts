import type { BillingSchedule } from '../schedule.js';
import { CY2026 } from './cy2026.js';

/** Every schedule the ledger knows, by the date it takes effect. Add CY2027 here (billing.md: not yet researched). */
export const BILLING_SCHEDULES: readonly BillingSchedule[] = [CY2026];
