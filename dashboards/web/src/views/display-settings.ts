import { ApiError } from '../api.js';
import type { AppContext } from '../context.js';
import { h } from '../dom.js';
import { unitSymbol, zoneName } from '../format.js';
import { type DisplayPrefs, GLUCOSE_UNITS, TEMPERATURE_UNITS, WEIGHT_UNITS } from '../types.js';
import { field, openDialog } from './dialog.js';

const UNIT_NAME: Record<string, string> = { '[lb_av]': 'lb (pounds)', kg: 'kg (kilograms)', Cel: '°C (Celsius)', '[degF]': '°F (Fahrenheit)', 'mg/dL': 'mg/dL', 'mmol/L': 'mmol/L' };

/** "lb · °F · mg/dL · EST": what values and times are shown in, at a glance in the header. */
export function displaySummary(p: DisplayPrefs): string {
  return `${unitSymbol(p.weightUnit)} · ${unitSymbol(p.temperatureUnit)} · ${p.glucoseUnit} · ${zoneName()}`;
}

function zones(): string[] {
  const all = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return all.includes('UTC') ? all : ['UTC', ...all];
}

/**
 * The nurse's own units and time zone over her organization's (PUT /v1/me/display). Each choice
 * can go back to "the organization's", which then follows the organization when it changes.
 */
export function openDisplaySettings(ctx: AppContext): void {
  const { organization, own, effective } = ctx.display.settings;
  const orgValue = <K extends keyof DisplayPrefs>(k: K): string => organization?.[k] ?? defaults[k];
  const choice = <K extends keyof DisplayPrefs>(k: K, values: readonly string[], label: (v: string) => string): HTMLSelectElement =>
    h(
      'select',
      { name: k },
      h('option', { value: '', selected: own?.[k] === undefined }, `Organization’s: ${label(orgValue(k))}`),
      values.map((v) => h('option', { value: v, selected: own?.[k] === v }, label(v))),
    );
  const unitLabel = (v: string): string => UNIT_NAME[v] ?? v;
  const weight = choice('weightUnit', WEIGHT_UNITS, unitLabel);
  const temperature = choice('temperatureUnit', TEMPERATURE_UNITS, unitLabel);
  const glucose = choice('glucoseUnit', GLUCOSE_UNITS, unitLabel);
  const here = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const timeZone = choice('timeZone', zones(), (z) => (z === here ? `${z} (this device)` : z));
  openDialog({
    title: 'Display settings',
    description: `Values and times are shown in these units and this time zone, for you only. Now: ${displaySummary(effective)} (${effective.timeZone}).`,
    fields: [field('Weight', weight), field('Temperature', temperature), field('Glucose', glucose), field('Time zone', timeZone, 'Every time on the dashboard is shown in this zone, with its name.')],
    submitLabel: 'Save settings',
    onSubmit: async () => {
      const chosen: Partial<Record<keyof DisplayPrefs, string>> = {};
      for (const [k, el] of [
        ['weightUnit', weight],
        ['temperatureUnit', temperature],
        ['glucoseUnit', glucose],
        ['timeZone', timeZone],
      ] as const) {
        if (el.value !== '') chosen[k] = el.value;
      }
      ctx.clearError();
      try {
        await ctx.display.save(chosen as Partial<DisplayPrefs>);
        const now = ctx.display.settings.effective;
        ctx.announce(`Display settings saved: ${displaySummary(now)}, times in ${now.timeZone}.`);
        return true;
      } catch (err) {
        if (!(err instanceof ApiError && err.sessionEnded)) ctx.showError(`Could not save the display settings: ${err instanceof Error ? err.message : String(err)}`);
        return false;
      }
    },
  });
}

const defaults: DisplayPrefs = { weightUnit: 'kg', temperatureUnit: 'Cel', glucoseUnit: 'mg/dL', timeZone: 'UTC' };
