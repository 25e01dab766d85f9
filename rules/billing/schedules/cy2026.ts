import { billingSchedule, type BillingSchedule } from '../schedule.js';

/**
 * Medicare RPM billing, CY2026 Physician Fee Schedule (CMS-1832-F, 90 FR 49266, effective
 * 2026-01-01), as summarised in shared/reference/billing.md §3. Data, not code: CY2027 is a new
 * file beside this one, listed in `index.ts`.
 */
export const CY2026: BillingSchedule = billingSchedule.parse({
  id: 'CY2026',
  effectiveFrom: '2026-01-01',
  source: 'CY2026 PFS final rule CMS-1832-F (90 FR 49266), billing.md §3 [S]',
  deviceSupply: {
    periodDays: 30,
    countedEntryMethods: ['device', 'ambiguous-user'],
    excludedFlags: ['unassigned', 'user-unconfirmed', 'user-rejected'],
    excludeSimulatedDevices: true,
    tiers: [
      { code: '99445', minDays: 2, maxDays: 15, source: 'billing.md §3.1 99445 (new 2026), §3.2 rule 3: 2–15 days [S]' },
      { code: '99454', minDays: 16, maxDays: 30, source: 'billing.md §3.1 99454, §3.2 rule 3: 16–30 days [S]' },
    ],
    source:
      'billing.md §3.2 rule 2 (collected and transmitted automatically; manual or self-reported values do not count; an FD&C §201(h) device), rule 3 (distinct calendar days in the 30-day period), rule 4 (once per 30 days however many devices) [S]',
  },
  setup: {
    code: '99453',
    minDays: 2,
    source:
      'billing.md §3.1 99453: once per episode of care, not again when a device is swapped. The 2026 day threshold (2 vs 16 days) is [U]: 2 here, following the 2026 2–15-day supply code; change this value if CY2026 text says 16',
  },
  management: {
    requiresInteractive: true,
    countedRoles: ['nurse', 'physician'],
    interactiveModalities: ['audio', 'video', 'unspecified'],
    tiers: [
      { code: '99470', minMinutes: 10, maxMinutes: 19, source: 'billing.md §3.1 99470 (new 2026), §3.2 rule 6: 10–19 min [S]' },
      { code: '99457', minMinutes: 20, maxMinutes: null, source: 'billing.md §3.1 99457, §3.2 rule 6: first 20 min [S]' },
    ],
    addOn: {
      code: '99458',
      withCode: '99457',
      afterMinutes: 20,
      unitMinutes: 20,
      maxUnits: null,
      source: 'billing.md §3.1 99458: each additional full 20 min, only with 99457; Medicare unit limit [U], so none applied',
    },
    source:
      'billing.md §3.2 rule 5 (one real-time, synchronous, two-way audio interaction, video optional; secure messaging alone does not count), rule 6 (per calendar month), rule 8 (no minute counted twice) [S]',
  },
  exclusive: [
    { codes: ['99454', '99445'], source: 'billing.md §3.1: 99445 is mutually exclusive with 99454 [S]' },
    { codes: ['99470', '99457'], source: 'billing.md §3.1: 99470 not with 99457 in the same month [S]' },
    { codes: ['99470', '99458'], source: 'billing.md §3.1: 99458 hangs off 99457, not 99470 [S]' },
  ],
});
