import type { Api } from './api.js';
import type { LiveWorklist } from './live.js';
import type { Alert } from './types.js';

export interface AlertSettings {
  readonly titleBadge: boolean;
  readonly desktopNotifications: boolean;
  readonly sound: boolean;
}

const DEFAULTS: AlertSettings = { titleBadge: true, desktopNotifications: false, sound: false };

/** Unacknowledged, unsnoozed critical alerts: what the badge counts. */
export function waitingCritical(alerts: Iterable<Alert>, now = Date.now()): number {
  let n = 0;
  for (const a of alerts) if (a.severity === 'critical' && a.status !== 'acknowledged' && a.status !== 'resolved' && (a.snoozedUntil === null || Date.parse(a.snoozedUntil) <= now)) n++;
  return n;
}

/**
 * New critical alerts signalled outside the tab, each as the nurse chose (GET/PUT
 * /v1/me/alert-settings): a count in the tab title, a desktop notification (no PHI beyond the
 * rule and the opaque patient id), a short tone. Kept on the server: the browser stores nothing.
 */
export class AlertSignals {
  settings: AlertSettings = DEFAULTS;
  private baseTitle = document.title;
  private audio: AudioContext | null = null;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly api: Api,
    private readonly live: LiveWorklist,
  ) {
    this.unsubscribe = live.subscribe((changes) => {
      for (const c of changes) {
        if (c.source !== 'stream' || c.alert.severity !== 'critical') continue;
        if (c.result === 'added' || (c.result === 'changed' && c.change === 'created')) this.signal(c.alert);
      }
      this.updateTitle();
    });
  }

  async load(): Promise<void> {
    this.settings = await this.api.get<AlertSettings>('/v1/me/alert-settings');
    this.updateTitle();
  }

  async save(next: AlertSettings): Promise<void> {
    // Asked for here, while the nurse's click is the user gesture browsers require.
    if (next.desktopNotifications && 'Notification' in window && Notification.permission === 'default') await Notification.requestPermission();
    if (next.sound) this.audioContext();
    this.settings = await this.api.put<AlertSettings>('/v1/me/alert-settings', next);
    this.updateTitle();
  }

  /** Whether the browser lets us notify (the nurse may have refused it). */
  get notificationPermission(): string {
    return 'Notification' in window ? Notification.permission : 'unsupported';
  }

  /** The view's title; the badge goes in front of it. */
  setBaseTitle(title: string): void {
    this.baseTitle = title;
    this.updateTitle();
  }

  destroy(): void {
    this.unsubscribe();
    void this.audio?.close();
    document.title = this.baseTitle;
  }

  private updateTitle(): void {
    const n = this.settings.titleBadge ? waitingCritical(this.live.model.rows().flatMap((r) => r.alerts)) : 0;
    document.title = n > 0 ? `(${n}) ${this.baseTitle}` : this.baseTitle;
  }

  private signal(alert: Alert): void {
    if (this.settings.desktopNotifications && 'Notification' in window && Notification.permission === 'granted') {
      try {
        new Notification('New critical alert', { body: `${alert.name} · patient ${alert.patientId}`, tag: alert.id });
      } catch {
        // Some browsers only notify from a service worker; the title badge still counts it.
      }
    }
    if (this.settings.sound) this.tone();
  }

  private audioContext(): AudioContext {
    this.audio ??= new AudioContext();
    if (this.audio.state === 'suspended') void this.audio.resume();
    return this.audio;
  }

  /** Two short beeps, generated (no audio file, nothing fetched). */
  private tone(): void {
    const ctx = this.audioContext();
    for (const [i, freq] of [880, 660].entries()) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = freq;
      gain.gain.value = 0.15;
      osc.connect(gain).connect(ctx.destination);
      const at = ctx.currentTime + i * 0.25;
      osc.start(at);
      osc.stop(at + 0.18);
    }
  }
}
