import { ApiError, seg } from '../api.js';
import type { AppContext } from '../context.js';
import { h } from '../dom.js';
import { currentTimeZone, unitSymbol, zoneName } from '../format.js';
import type { IngestResult, News2 } from '../types.js';
import { wallTimeInput, zonedIso } from '../zoned-time.js';
import { field } from './dialog.js';

/** ACVPU (RCP NEWS2 2017), as the API names the levels. */
const ACVPU: readonly [string, string][] = [
  ['alert', 'A — Alert'],
  ['new-confusion', 'C — New confusion'],
  ['voice', 'V — Responds to voice'],
  ['pain', 'P — Responds to pain'],
  ['unresponsive', 'U — Unresponsive'],
];

const NEWS2_PARAMETER: Record<string, string> = {
  respiratoryRate: 'respiratory rate',
  spo2: 'SpO₂',
  onOxygen: 'supplemental oxygen',
  systolic: 'systolic blood pressure',
  pulse: 'pulse',
  consciousness: 'consciousness',
  temperature: 'temperature',
};

const RISK: Record<string, string> = {
  low: 'low risk',
  'low-medium': 'low–medium risk (one parameter scores 3)',
  medium: 'medium risk: urgent review',
  high: 'high risk: emergency response',
};

export interface ObservationPanels {
  readonly news2: HTMLElement;
  readonly form: HTMLElement;
  /** Fetch NEWS2 again (after new readings). */
  reloadNews2(): Promise<void>;
}

/**
 * NEWS2 for the patient, and the form a nurse fills in during a call: what no home device
 * measures (consciousness on the ACVPU scale, supplemental oxygen) and values she takes or the
 * patient reads out. Sent as staff observations (entry method manual, her staff id), they are
 * readings like any other: the rules see them and NEWS2 completes when they supply what it lacks.
 */
/** `onRecorded`: the caller shows the new readings (charts, latest readings) and fetches NEWS2 again. */
export function observationPanels(patientId: string, ctx: AppContext, onRecorded: () => void): ObservationPanels {
  const news2Body = h('div', { class: 'news2-body', 'aria-live': 'polite' }, h('p', null, 'Loading…'));
  const news2 = h('section', { class: 'panel news2', 'aria-labelledby': 'news2-heading' }, h('h2', { id: 'news2-heading' }, 'NEWS2'), news2Body);

  const reloadNews2 = async (): Promise<void> => {
    try {
      const n = await ctx.api.get<News2>(`/v1/patients/${seg(patientId)}/news2`);
      news2Body.replaceChildren(...news2View(n));
    } catch (err) {
      if (err instanceof ApiError && err.sessionEnded) return;
      news2Body.replaceChildren(h('p', null, `NEWS2 unavailable: ${err instanceof Error ? err.message : String(err)}`));
    }
  };

  if (ctx.me.role === 'admin') {
    const form = h('section', { class: 'panel observations', 'aria-labelledby': 'obs-heading' }, h('h2', { id: 'obs-heading' }, 'Record observations'), h('p', null, 'Nurses and physicians record clinical observations.'));
    return { news2, form, reloadNews2 };
  }

  const zone = currentTimeZone();
  const tempUnit = ctx.display.settings.effective.temperatureUnit;
  const num = (name: string, attrs: Record<string, string | number>): HTMLInputElement => h('input', { type: 'number', name, inputmode: 'decimal', ...attrs });
  const at = h('input', { type: 'datetime-local', name: 'measuredAt', required: true, value: wallTimeInput(Date.now(), zone) });
  let atEdited = false;
  at.addEventListener('input', () => (atEdited = true));
  const consciousness = h('select', { name: 'consciousness' }, h('option', { value: '' }, 'Not recorded'), ACVPU.map(([v, label]) => h('option', { value: v }, label)));
  const oxygen = h('select', { name: 'oxygen' }, h('option', { value: '' }, 'Not recorded'), h('option', { value: 'room-air' }, 'Room air'), h('option', { value: 'oxygen' }, 'On supplemental oxygen'));
  const flow = num('flow', { min: 0.5, max: 60, step: 0.5 });
  const flowField = field('Oxygen flow (L/min)', flow);
  flowField.hidden = true;
  oxygen.addEventListener('change', () => {
    flowField.hidden = oxygen.value !== 'oxygen';
    flow.required = oxygen.value === 'oxygen';
  });
  const rr = num('respiratoryRate', { min: 0, max: 80, step: 1 });
  const systolic = num('systolic', { min: 20, max: 300, step: 1 });
  const diastolic = num('diastolic', { min: 10, max: 250, step: 1 });
  const heartRate = num('heartRate', { min: 10, max: 300, step: 1 });
  const spo2 = num('spo2', { min: 40, max: 100, step: 1 });
  const temperature = num('temperature', { min: tempUnit === '[degF]' ? 80 : 27, max: tempUnit === '[degF]' ? 113 : 45, step: 0.1 });
  const outcome = h('div', { class: 'obs-outcome', role: 'status' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Record observations');

  const form = h(
    'form',
    { class: 'obs-form', novalidate: false },
    h('p', { class: 'hint' }, 'During a call: what no device measures, and any value you take or the patient reads out. Leave a field empty to skip it.'),
    field(`Measured at (${zoneName()})`, at, 'Now, unless you change it.'),
    field('Consciousness (ACVPU)', consciousness),
    field('Breathing', oxygen),
    flowField,
    field('Respiratory rate (/min)', rr),
    h('fieldset', { class: 'bp' }, h('legend', null, 'Blood pressure (mmHg)'), field('Systolic', systolic), field('Diastolic', diastolic)),
    field('Heart rate (/min)', heartRate),
    field('SpO₂ (%)', spo2),
    field(`Temperature (${unitSymbol(tempUnit)})`, temperature),
    submit,
    outcome,
  );

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const measuredAt = atEdited ? zonedIso(at.value, zone) : new Date().toISOString();
    if (measuredAt === null) {
      showProblems(['Enter when these were measured.']);
      at.focus();
      return;
    }
    const sent: { label: string; body: Record<string, unknown> }[] = [];
    const value = (input: HTMLInputElement): number | null => (input.value.trim() === '' ? null : Number(input.value));
    if (consciousness.value !== '') sent.push({ label: 'Consciousness', body: { kind: 'consciousness', level: consciousness.value, measuredAt } });
    if (oxygen.value === 'room-air') sent.push({ label: 'Supplemental oxygen', body: { kind: 'supplemental-oxygen', value: 0, unit: 'L/min', measuredAt } });
    if (oxygen.value === 'oxygen') sent.push({ label: 'Supplemental oxygen', body: { kind: 'supplemental-oxygen', value: value(flow), unit: 'L/min', measuredAt } });
    const rate = value(rr);
    if (rate !== null) sent.push({ label: 'Respiratory rate', body: { kind: 'respiratory-rate', value: rate, unit: '/min', measuredAt } });
    const sys = value(systolic);
    const dia = value(diastolic);
    if (sys !== null || dia !== null) {
      if (sys === null || dia === null) {
        showProblems(['Blood pressure needs both the systolic and the diastolic value.']);
        (sys === null ? systolic : diastolic).focus();
        return;
      }
      sent.push({ label: 'Blood pressure', body: { kind: 'blood-pressure', systolic: sys, diastolic: dia, unit: 'mmHg', measuredAt } });
    }
    const hr = value(heartRate);
    if (hr !== null) sent.push({ label: 'Heart rate', body: { kind: 'heart-rate', value: hr, unit: '/min', measuredAt } });
    const sat = value(spo2);
    if (sat !== null) sent.push({ label: 'SpO₂', body: { kind: 'spo2', value: sat, unit: '%', measuredAt } });
    const temp = value(temperature);
    if (temp !== null) sent.push({ label: 'Temperature', body: { kind: 'body-temperature', value: temp, unit: tempUnit, measuredAt } });
    if (sent.length === 0) {
      showProblems(['Nothing to record: fill in at least one observation.']);
      return;
    }
    submit.disabled = true;
    ctx.clearError();
    void ctx.api
      .post<IngestResult>(`/v1/patients/${seg(patientId)}/observations`, { observations: sent.map((s) => s.body) })
      .then((res) => {
        const lines = outcomeLines(res.outcomes, sent);
        showOutcome(lines, res.rejected > 0);
        ctx.announce(`Observations recorded for patient ${patientId}: ${res.accepted} recorded${res.duplicate > 0 ? `, ${res.duplicate} already recorded` : ''}${res.rejected > 0 ? `, ${res.rejected} refused` : ''}.`);
        // Keep what was refused in the form to correct; clear what was recorded.
        const refused = new Set(res.outcomes.filter((o) => o.status === 'rejected').map((o) => sent[o.index]?.label));
        clearRecorded(refused);
        onRecorded();
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.sessionEnded) return;
        const outcomes = err instanceof ApiError && Array.isArray(err.problem.outcomes) ? (err.problem.outcomes as IngestResult['outcomes']) : null;
        const lines = outcomes === null ? [`Not recorded: ${err instanceof Error ? err.message : String(err)}`] : ['Nothing was recorded.', ...outcomeLines(outcomes, sent)];
        showProblems(lines);
      })
      .finally(() => {
        submit.disabled = false;
      });
  });

  function clearRecorded(refused: ReadonlySet<string | undefined>): void {
    const clear = (label: string, ...inputs: (HTMLInputElement | HTMLSelectElement)[]): void => {
      if (refused.has(label)) return;
      for (const i of inputs) i.value = '';
    };
    clear('Consciousness', consciousness);
    clear('Supplemental oxygen', oxygen, flow);
    clear('Respiratory rate', rr);
    clear('Blood pressure', systolic, diastolic);
    clear('Heart rate', heartRate);
    clear('SpO₂', spo2);
    clear('Temperature', temperature);
    flowField.hidden = oxygen.value !== 'oxygen';
    at.value = wallTimeInput(Date.now(), zone);
    atEdited = false;
  }

  function showOutcome(lines: readonly string[], someRefused: boolean): void {
    outcome.className = `obs-outcome${someRefused ? ' has-errors' : ''}`;
    outcome.replaceChildren(h('ul', null, lines.map((l) => h('li', null, l))));
  }

  function showProblems(lines: readonly string[]): void {
    outcome.className = 'obs-outcome has-errors';
    outcome.replaceChildren(h('div', { role: 'alert' }, h('ul', null, lines.map((l) => h('li', null, l)))));
  }

  const section = h('section', { class: 'panel observations', 'aria-labelledby': 'obs-heading' }, h('h2', { id: 'obs-heading' }, 'Record observations'), form);
  return { news2, form: section, reloadNews2 };
}

function outcomeLines(outcomes: IngestResult['outcomes'], sent: readonly { label: string }[]): string[] {
  return outcomes.map((o) => {
    const what = sent[o.index]?.label ?? `Observation ${o.index + 1}`;
    if (o.status === 'accepted') return `${what}: recorded.`;
    if (o.status === 'duplicate') return `${what}: already recorded at this time.`;
    return `${what}: refused — ${o.message ?? o.code ?? 'invalid'}.`;
  });
}

function news2View(n: News2): HTMLElement[] {
  const scale = n.spo2Scale === 2 ? h('p', { class: 'hint' }, 'SpO₂ scale 2 (target 88–92 %), as recorded by a clinician.') : null;
  if (n.status === 'incomplete') {
    const missing = (n.missing ?? []).map((m) => NEWS2_PARAMETER[m] ?? m);
    return [
      h('p', { class: 'news2-status' }, h('strong', null, 'Incomplete'), `: missing ${missing.join(', ')}.`),
      h('p', { class: 'hint' }, 'From the latest values of the last hour. Record what is missing below to complete the score.'),
      ...(scale === null ? [] : [scale]),
    ];
  }
  const scores = Object.entries(n.scores ?? {});
  return [
    h('p', { class: 'news2-status' }, h('strong', { class: 'news2-score' }, `Score ${n.total ?? '?'}`), ` — ${RISK[n.risk ?? ''] ?? `${n.risk ?? 'unknown'} risk`}`),
    scores.length === 0 ? h('span') : h('p', { class: 'hint' }, scores.map(([k, v]) => `${NEWS2_PARAMETER[k] ?? k} ${v}`).join(' · ')),
    h('p', { class: 'hint' }, 'From the latest values of the last hour.'),
    ...(scale === null ? [] : [scale]),
  ];
}
