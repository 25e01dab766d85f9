import type { Episode, Program, SimPatient } from './model.js';

/** A patient with a fixed, typical physiology (US Eastern, full adherence), for the simulator's own tests. */
export function patient(programs: Program[], episodes: Episode[] = [], baseline: Partial<SimPatient['profile']['baseline']> = {}): SimPatient {
  return {
    id: 'p-test',
    programs,
    riskTier: 1,
    episodes,
    profile: {
      utcOffsetMin: -300,
      adherence: 1,
      units: { weight: 'kg', temperature: 'Cel', glucose: 'mg/dL' },
      baseline: {
        systolic: 135,
        diastolic: 82,
        heartRate: 72,
        spo2: 97,
        weightKg: 85,
        temperatureC: 36.7,
        glucoseFasting: programs.includes('diabetes') ? 140 : 90,
        glucoseMealRise: programs.includes('diabetes') ? 80 : 30,
        ...baseline,
      },
    },
  };
}
