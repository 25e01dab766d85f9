/**
 * NEWS2 (Royal College of Physicians, 2017), Chart 1 scoring. Scored only when every parameter
 * is present: a partial score is never labelled NEWS2 (shared/reference/alert-thresholds.md §4.6).
 */
export type Consciousness = 'alert' | 'new-confusion' | 'voice' | 'pain' | 'unresponsive';

export interface News2Inputs {
  readonly respiratoryRate?: number;
  readonly spo2?: number;
  readonly onOxygen?: boolean;
  readonly systolic?: number;
  readonly pulse?: number;
  readonly consciousness?: Consciousness;
  /** °C */
  readonly temperature?: number;
}

export const NEWS2_PARAMETERS = ['respiratoryRate', 'spo2', 'onOxygen', 'systolic', 'pulse', 'consciousness', 'temperature'] as const;
export type News2Parameter = (typeof NEWS2_PARAMETERS)[number];

export type News2Result =
  | { readonly status: 'complete'; readonly total: number; readonly scores: Readonly<Record<News2Parameter, number>>; readonly anyThree: boolean; readonly risk: 'low' | 'low-medium' | 'medium' | 'high' }
  | { readonly status: 'incomplete'; readonly missing: readonly News2Parameter[] };

function respiration(rr: number): number {
  const v = Math.round(rr);
  if (v <= 8) return 3;
  if (v <= 11) return 1;
  if (v <= 20) return 0;
  if (v <= 24) return 2;
  return 3;
}

function spo2Scale1(s: number): number {
  const v = Math.round(s);
  if (v <= 91) return 3;
  if (v <= 93) return 2;
  if (v <= 95) return 1;
  return 0;
}

function spo2Scale2(s: number, onOxygen: boolean): number {
  const v = Math.round(s);
  if (v <= 83) return 3;
  if (v <= 85) return 2;
  if (v <= 87) return 1;
  if (v <= 92 || !onOxygen) return 0;
  if (v <= 94) return 1;
  if (v <= 96) return 2;
  return 3;
}

function systolicScore(sbp: number): number {
  const v = Math.round(sbp);
  if (v <= 90) return 3;
  if (v <= 100) return 2;
  if (v <= 110) return 1;
  if (v <= 219) return 0;
  return 3;
}

function pulseScore(hr: number): number {
  const v = Math.round(hr);
  if (v <= 40) return 3;
  if (v <= 50) return 1;
  if (v <= 90) return 0;
  if (v <= 110) return 1;
  if (v <= 130) return 2;
  return 3;
}

function temperatureScore(c: number): number {
  // Round to one decimal before banding (RCP).
  const v = Math.round(c * 10) / 10;
  if (v <= 35.0) return 3;
  if (v <= 36.0) return 1;
  if (v <= 38.0) return 0;
  if (v <= 39.0) return 1;
  return 2;
}

export function news2(inputs: News2Inputs, scale: 1 | 2): News2Result {
  const missing = NEWS2_PARAMETERS.filter((p) => inputs[p] === undefined);
  if (missing.length > 0) return { status: 'incomplete', missing };
  const i = inputs as Required<News2Inputs>;
  const scores: Record<News2Parameter, number> = {
    respiratoryRate: respiration(i.respiratoryRate),
    spo2: scale === 2 ? spo2Scale2(i.spo2, i.onOxygen) : spo2Scale1(i.spo2),
    onOxygen: i.onOxygen ? 2 : 0,
    systolic: systolicScore(i.systolic),
    pulse: pulseScore(i.pulse),
    consciousness: i.consciousness === 'alert' ? 0 : 3,
    temperature: temperatureScore(i.temperature),
  };
  const total = Object.values(scores).reduce((a, b) => a + b, 0);
  const anyThree = Object.values(scores).some((s) => s === 3);
  const risk = total >= 7 ? 'high' : total >= 5 ? 'medium' : anyThree ? 'low-medium' : 'low';
  return { status: 'complete', total, scores, anyThree, risk };
}
