import { describe, expect, it } from 'vitest';
import { deviceHealth } from './device-health.js';
import { applyRosterQuery, rosterQuery, type RosterFacts } from './roster-query.js';

const H = 3_600_000;
const NOW = Date.parse('2026-05-12T16:00:00Z');

describe('device health', () => {
  const base = { lastSeenAtMs: null, newestReadingAtMs: null, battery: null, hubId: null, status: 'active' as const };
  it('a device with nothing at all is never seen', () => {
    expect(deviceHealth(base, NOW).transmission).toBe('never-seen');
  });
  it('a hub-relayed device reporting battery is not "never seen" although it never connects itself', () => {
    const h = deviceHealth({ ...base, hubId: 'hub-1', battery: { percent: 15, atMs: NOW - 2 * H } }, NOW);
    expect(h).toMatchObject({ transmission: 'transmitting', lowBattery: true, lastContactAtMs: NOW - 2 * H });
  });
  it('silent for more than 48 hours is not transmitting; the newest of connection, reading and battery counts', () => {
    expect(deviceHealth({ ...base, lastSeenAtMs: NOW - 49 * H }, NOW)).toMatchObject({ transmission: 'not-transmitting', silentHours: 49 });
    expect(deviceHealth({ ...base, lastSeenAtMs: NOW - 49 * H, newestReadingAtMs: NOW - 47 * H }, NOW).transmission).toBe('transmitting');
    expect(deviceHealth({ ...base, lastSeenAtMs: NOW - 48 * H }, NOW).transmission).toBe('transmitting');
  });
  it('low battery at 20 % or less', () => {
    expect(deviceHealth({ ...base, battery: { percent: 20, atMs: NOW } }, NOW).lowBattery).toBe(true);
    expect(deviceHealth({ ...base, battery: { percent: 21, atMs: NOW } }, NOW).lowBattery).toBe(false);
  });
});

describe('roster query', () => {
  const row = (patientId: string, over: Partial<RosterFacts> = {}): RosterFacts => ({
    patientId,
    name: null,
    mrn: null,
    programs: ['general'],
    careTeamIds: [],
    riskTier: 1,
    mine: false,
    deviceProblem: false,
    days: null,
    daysToGo: null,
    daysLeft: null,
    minutes: null,
    priority: 0,
    lastReadingAtMs: null,
    ...over,
  });
  const rows = [
    row('p-1', { name: 'Ann Lee', mrn: 'MRN-1', programs: ['general', 'hypertension'], careTeamIds: ['north'], mine: true, days: 10, daysToGo: 6, daysLeft: 4, minutes: 12, priority: 1300 }),
    row('p-2', { name: 'Bob Ng', programs: ['general', 'diabetes'], riskTier: 3, deviceProblem: true, days: 3, daysToGo: 13, daysLeft: 20, minutes: 25, priority: 0 }),
    row('p-3', { days: 16, daysToGo: 0, daysLeft: 2, minutes: 0, priority: 600, careTeamIds: ['south'] }),
  ];
  const run = (query: Record<string, string>) => applyRosterQuery(rows, rosterQuery.parse(query)).map((r) => r.patientId);

  it('filters by search, program, team, risk, mine, device problems and days at risk', () => {
    expect(run({ q: 'ann' })).toEqual(['p-1']);
    expect(run({ q: 'mrn-1' })).toEqual(['p-1']);
    expect(run({ program: 'diabetes' })).toEqual(['p-2']);
    expect(run({ careTeam: 'south' })).toEqual(['p-3']);
    expect(run({ risk: '3' })).toEqual(['p-2']);
    expect(run({ mine: 'true' })).toEqual(['p-1']);
    expect(run({ notTransmitting: 'true' })).toEqual(['p-2']);
    // Below 16 days with at most 5 days left: p-1 (6 to go, 4 left); p-3 already has 16.
    expect(run({ atRiskDaysLeft: '5' })).toEqual(['p-1']);
    expect(run({ atRiskDaysLeft: '30' })).toEqual(['p-1', 'p-2']);
  });

  it('sorts by priority (default), days, minutes and name, either way', () => {
    expect(run({})).toEqual(['p-1', 'p-3', 'p-2']);
    expect(run({ sort: 'days' })).toEqual(['p-2', 'p-1', 'p-3']);
    expect(run({ sort: 'minutes', order: 'desc' })).toEqual(['p-2', 'p-1', 'p-3']);
    expect(run({ sort: 'name' })).toEqual(['p-1', 'p-2', 'p-3']);
  });
});
