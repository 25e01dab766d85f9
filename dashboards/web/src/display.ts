import type { Api } from './api.js';
import { setTimeZone } from './format.js';
import type { DisplayPrefs, DisplaySettings } from './types.js';

/** What a gateway shows before anyone chooses (the server's default too): SI units and UTC. */
const DEFAULT: DisplaySettings = {
  effective: { weightUnit: 'kg', temperatureUnit: 'Cel', glucoseUnit: 'mg/dL', timeZone: 'UTC' },
  organization: null,
  own: null,
};

/**
 * The units and time zone this nurse reads values in: her organization's, with her own choice
 * over them (GET/PUT /v1/me/display). Values come from the server already in these units; the
 * dashboard only formats times, in `effective.timeZone`.
 */
export class DisplayService {
  settings: DisplaySettings = DEFAULT;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly api: Api) {}

  async load(): Promise<void> {
    this.set(await this.api.get<DisplaySettings>('/v1/me/display'));
  }

  /** Her own choice; a field left out follows the organization. */
  async save(own: Partial<DisplayPrefs>): Promise<void> {
    this.set(await this.api.call<DisplaySettings>('PUT', '/v1/me/display', own));
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private set(settings: DisplaySettings): void {
    this.settings = settings;
    setTimeZone(settings.effective.timeZone);
    for (const l of this.listeners) l();
  }
}

/** Back to UTC at sign-out, so nothing of one nurse's session shapes the next. */
export function resetDisplay(): void {
  setTimeZone(DEFAULT.effective.timeZone);
}
