import { describe, expect, it } from 'vitest';
import { type News2Inputs, type News2Parameter, NEWS2_PARAMETERS, news2 } from './news2.js';

/** A patient scoring 0 on every parameter (RCP Chart 1). */
const NORMAL: Required<News2Inputs> = {
  respiratoryRate: 16,
  spo2: 97,
  onOxygen: false,
  systolic: 120,
  pulse: 70,
  consciousness: 'alert',
  temperature: 37,
};

function complete(inputs: News2Inputs, scale: 1 | 2 = 1) {
  const r = news2(inputs, scale);
  if (r.status !== 'complete') throw new Error(`expected a complete score, missing ${r.missing.join(', ')}`);
  return r;
}

function scoreOf(parameter: News2Parameter, patch: Partial<News2Inputs>, scale: 1 | 2 = 1): number {
  return complete({ ...NORMAL, ...patch }, scale).scores[parameter];
}

describe('NEWS2 scoring table (RCP 2017 Chart 1)', () => {
  it('scores a patient with every parameter in the normal band 0, low risk', () => {
    const r = complete(NORMAL);
    expect(r.total).toBe(0);
    expect(r.anyThree).toBe(false);
    expect(r.risk).toBe('low');
    expect(Object.values(r.scores).every((s) => s === 0)).toBe(true);
  });

  it.each([
    [5, 3],
    [8, 3],
    [9, 1],
    [11, 1],
    [12, 0],
    [20, 0],
    [21, 2],
    [24, 2],
    [25, 3],
    [40, 3],
  ])('scores respiration rate %i /min as %i', (rr, score) => {
    expect(scoreOf('respiratoryRate', { respiratoryRate: rr })).toBe(score);
  });

  it.each([
    [85, 3],
    [91, 3],
    [92, 2],
    [93, 2],
    [94, 1],
    [95, 1],
    [96, 0],
    [100, 0],
  ])('scores SpO2 %i %% on scale 1 as %i', (spo2, score) => {
    expect(scoreOf('spo2', { spo2 })).toBe(score);
  });

  it('scores SpO2 on scale 1 the same whether on air or oxygen (oxygen scores separately)', () => {
    for (const spo2 of [91, 92, 94, 96, 99]) {
      expect(scoreOf('spo2', { spo2, onOxygen: true })).toBe(scoreOf('spo2', { spo2, onOxygen: false }));
    }
  });

  it.each([
    [80, false, 3],
    [83, false, 3],
    [84, false, 2],
    [85, false, 2],
    [86, false, 1],
    [87, false, 1],
    [88, false, 0],
    [92, false, 0],
    [93, false, 0],
    [97, false, 0],
    [100, false, 0],
    [83, true, 3],
    [84, true, 2],
    [86, true, 1],
    [88, true, 0],
    [92, true, 0],
    [93, true, 1],
    [94, true, 1],
    [95, true, 2],
    [96, true, 2],
    [97, true, 3],
    [100, true, 3],
  ])('scores SpO2 %i %% on scale 2 (on oxygen: %s) as %i', (spo2, onOxygen, score) => {
    expect(scoreOf('spo2', { spo2, onOxygen }, 2)).toBe(score);
  });

  it('adds 2 for supplemental oxygen and 0 for air', () => {
    expect(scoreOf('onOxygen', { onOxygen: true })).toBe(2);
    expect(scoreOf('onOxygen', { onOxygen: false })).toBe(0);
    expect(complete({ ...NORMAL, onOxygen: true }).total).toBe(2);
  });

  it.each([
    [70, 3],
    [90, 3],
    [91, 2],
    [100, 2],
    [101, 1],
    [110, 1],
    [111, 0],
    [219, 0],
    [220, 3],
    [250, 3],
  ])('scores systolic BP %i mmHg as %i', (systolic, score) => {
    expect(scoreOf('systolic', { systolic })).toBe(score);
  });

  it.each([
    [30, 3],
    [40, 3],
    [41, 1],
    [50, 1],
    [51, 0],
    [90, 0],
    [91, 1],
    [110, 1],
    [111, 2],
    [130, 2],
    [131, 3],
    [180, 3],
  ])('scores pulse %i /min as %i', (pulse, score) => {
    expect(scoreOf('pulse', { pulse })).toBe(score);
  });

  it.each([
    ['alert', 0],
    ['new-confusion', 3],
    ['voice', 3],
    ['pain', 3],
    ['unresponsive', 3],
  ] as const)('scores consciousness "%s" as %i', (consciousness, score) => {
    expect(scoreOf('consciousness', { consciousness })).toBe(score);
  });

  it.each([
    [34, 3],
    [35.0, 3],
    [35.1, 1],
    [36.0, 1],
    [36.1, 0],
    [38.0, 0],
    [38.1, 1],
    [39.0, 1],
    [39.1, 2],
    [41, 2],
  ])('scores temperature %s °C as %i', (temperature, score) => {
    expect(scoreOf('temperature', { temperature })).toBe(score);
  });

  it.each([
    [35.04, 3],
    [35.05, 1],
    [36.04, 1],
    [36.05, 0],
    [38.04, 0],
    [38.05, 1],
    [39.04, 1],
    [39.05, 2],
  ])('rounds temperature %s °C to one decimal before banding (scores %i)', (temperature, score) => {
    expect(scoreOf('temperature', { temperature })).toBe(score);
  });

  it('rounds respiration rate, SpO2, systolic BP and pulse to whole numbers before banding', () => {
    expect(scoreOf('respiratoryRate', { respiratoryRate: 20.4 })).toBe(0);
    expect(scoreOf('respiratoryRate', { respiratoryRate: 20.5 })).toBe(2);
    expect(scoreOf('spo2', { spo2: 91.4 })).toBe(3);
    expect(scoreOf('spo2', { spo2: 91.5 })).toBe(2);
    expect(scoreOf('systolic', { systolic: 90.4 })).toBe(3);
    expect(scoreOf('systolic', { systolic: 90.5 })).toBe(2);
    expect(scoreOf('pulse', { pulse: 130.4 })).toBe(2);
    expect(scoreOf('pulse', { pulse: 130.5 })).toBe(3);
  });
});

describe('NEWS2 totals and risk bands', () => {
  it('totals the parameter scores', () => {
    // RR 22 → 2, SpO2 94 → 1, oxygen → 2, SBP 105 → 1, pulse 115 → 2, alert → 0, 38.5 → 1.
    const r = complete({ respiratoryRate: 22, spo2: 94, onOxygen: true, systolic: 105, pulse: 115, consciousness: 'alert', temperature: 38.5 });
    expect(r.scores).toEqual({ respiratoryRate: 2, spo2: 1, onOxygen: 2, systolic: 1, pulse: 2, consciousness: 0, temperature: 1 });
    expect(r.total).toBe(9);
  });

  it('reaches the maximum total of 20 with every parameter at its worst (hypothermia, not fever, scores 3)', () => {
    const r = complete({ respiratoryRate: 30, spo2: 80, onOxygen: true, systolic: 80, pulse: 150, consciousness: 'unresponsive', temperature: 34 });
    expect(r.total).toBe(20);
    expect(r.risk).toBe('high');
  });

  it.each([
    [{}, 0, 'low'],
    [{ pulse: 95 }, 1, 'low'],
    [{ pulse: 115, respiratoryRate: 22 }, 4, 'low'],
    [{ pulse: 115, respiratoryRate: 22, temperature: 38.5 }, 5, 'medium'],
    [{ pulse: 115, respiratoryRate: 22, onOxygen: true }, 6, 'medium'],
    [{ pulse: 115, respiratoryRate: 22, onOxygen: true, temperature: 38.5 }, 7, 'high'],
  ] as const)('bands %o (total %i) as %s risk', (patch, total, risk) => {
    const r = complete({ ...NORMAL, ...patch });
    expect(r.total).toBe(total);
    expect(r.risk).toBe(risk);
  });

  it('bands a single 3 with an otherwise low total as low-medium risk', () => {
    const r = complete({ ...NORMAL, consciousness: 'new-confusion' });
    expect(r.total).toBe(3);
    expect(r.anyThree).toBe(true);
    expect(r.risk).toBe('low-medium');
  });

  it('keeps a single 3 at low-medium up to a total of 4', () => {
    const r = complete({ ...NORMAL, spo2: 90, pulse: 95 });
    expect(r.total).toBe(4);
    expect(r.anyThree).toBe(true);
    expect(r.risk).toBe('low-medium');
  });

  it('lets the total decide once a single 3 comes with a total of 5 or more', () => {
    const medium = complete({ ...NORMAL, spo2: 90, respiratoryRate: 22 });
    expect(medium.total).toBe(5);
    expect(medium.risk).toBe('medium');
    const high = complete({ ...NORMAL, spo2: 90, respiratoryRate: 22, pulse: 115 });
    expect(high.total).toBe(7);
    expect(high.risk).toBe('high');
  });

  it('does not count a 2 as a single-parameter 3', () => {
    const r = complete({ ...NORMAL, temperature: 39.5 });
    expect(r.anyThree).toBe(false);
    expect(r.risk).toBe('low');
  });

  it('scores SpO2 88 on oxygen as 0 on scale 2 but 3 on scale 1', () => {
    const patient = { ...NORMAL, spo2: 88, onOxygen: true };
    expect(complete(patient, 2).total).toBe(2);
    expect(complete(patient, 1).total).toBe(5);
  });
});

describe('incomplete NEWS2', () => {
  it('is incomplete and lists every parameter when nothing is known', () => {
    const r = news2({}, 1);
    expect(r).toEqual({ status: 'incomplete', missing: [...NEWS2_PARAMETERS] });
  });

  it.each(NEWS2_PARAMETERS.map((p) => [p]))('lists exactly %s when only that parameter is missing', (parameter) => {
    const inputs: Partial<Record<News2Parameter, unknown>> = { ...NORMAL };
    delete inputs[parameter];
    expect(news2(inputs as News2Inputs, 1)).toEqual({ status: 'incomplete', missing: [parameter] });
  });

  it('lists consciousness and air-or-oxygen as missing for the five vitals home devices measure', () => {
    const { consciousness: _c, onOxygen: _o, ...home } = NORMAL;
    expect(news2(home, 1)).toEqual({ status: 'incomplete', missing: ['onOxygen', 'consciousness'] });
    expect(news2(home, 2)).toEqual({ status: 'incomplete', missing: ['onOxygen', 'consciousness'] });
  });

  it('treats "on air" (onOxygen false) as a known parameter, not a missing one', () => {
    expect(news2({ ...NORMAL, onOxygen: false }, 1).status).toBe('complete');
  });

  it('never returns a partial total when a parameter is missing', () => {
    const { respiratoryRate: _rr, ...rest } = NORMAL;
    const r = news2({ ...rest, spo2: 80, pulse: 150 }, 1);
    expect(r.status).toBe('incomplete');
    expect('total' in r).toBe(false);
  });
});
