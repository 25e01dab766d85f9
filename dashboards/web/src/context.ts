import type { Api } from './api.js';
import type { AlertSignals } from './alert-signals.js';
import type { DisplayService } from './display.js';
import type { IdentityDirectory } from './identities.js';
import type { LiveWorklist } from './live.js';
import type { TimerService } from './timer-service.js';
import type { StaffSelf } from './types.js';

/** What every signed-in view gets from the app. */
export interface AppContext {
  readonly api: Api;
  readonly me: StaffSelf;
  readonly live: LiveWorklist;
  readonly timer: TimerService;
  /** New critical alerts outside the tab: title badge, desktop notification, sound (her settings). */
  readonly signals: AlertSignals;
  /** Units and time zone this nurse reads values in. */
  readonly display: DisplayService;
  /** Patients' names and identifiers for lists (session memory only). */
  readonly identities: IdentityDirectory;
  /** Polite screen-reader announcement (the live region in the shell). */
  announce(message: string): void;
  /** A visible error banner (role="alert"); an action's failure, never swallowed. */
  showError(message: string): void;
  clearError(): void;
  /** "You", a colleague's name, or a neutral stand-in for an unknown id. */
  staffName(id: string | null): string;
  /**
   * A video call with a patient is connected: the screen is attended (she is talking with the
   * patient), so it counts as activity for automatic logoff. Called while the call stays connected.
   */
  inCall(): void;
}
