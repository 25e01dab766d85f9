/**
 * The session token is the only thing this app keeps in the browser, in sessionStorage: it dies
 * with the tab, and other tabs never see it. Staff details, patient data and settings live in
 * memory only.
 */
const TOKEN_KEY = 'rpm.session';

export const tokenStore = {
  get(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set(token: string): void {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear(): void {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

/**
 * Automatic logoff (HIPAA §164.312(a)(2)(iii)): the server ends idle sessions after
 * RPM_SESSION_IDLE_MINUTES (GET /v1/auth/me says how long; 15 minutes by default) and the
 * dashboard signs out on the same limit.
 */
export const IDLE_LIMIT_MS = 15 * 60_000;
/** A warning one minute before, so a nurse reading a chart can stay signed in with a key press. */
const WARNING_BEFORE_MS = 60_000;
/**
 * The live stream delivers without requests, so a nurse who is active but only watching would
 * reach the server's idle expiry: when there was activity and no request for this long, ping.
 */
export const KEEPALIVE_AFTER_MS = 2 * 60_000;
const CHECK_EVERY_MS = 5_000;
/**
 * Real user input only. Not `scroll` or `focus`: live updates re-render the worklist, and the
 * browser fires those by itself (scroll anchoring when rows are inserted above the viewport,
 * focus restoration). `pointermove` counts only when the pointer really moved on the screen: a
 * browser may send moves and hover events to a resting pointer when the DOM changes under it.
 */
const ACTIVITY_EVENTS = ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart'] as const;

export interface IdleCallbacks {
  warn(remainingMs: number): void;
  unwarn(): void;
  expire(): void;
  keepAlive(): void;
}

/**
 * Watches user activity (not network activity: the live stream and timers must never keep a
 * session alive on an unattended screen). Time comes from Date.now(), so a throttled background
 * tab still signs out on its next tick.
 */
export class IdleWatch {
  private lastActivity = Date.now();
  private lastRequest = Date.now();
  private warned = false;
  private timer = 0;
  /** Where the pointer was last seen (screen coordinates), to tell a real move from a re-render's. */
  private pointer: { x: number; y: number } | null = null;
  private readonly onActivity = (ev: Event): void => {
    if (!ev.isTrusted) return;
    if (ev instanceof PointerEvent && (ev.type === 'pointermove' || ev.type === 'pointerdown')) {
      const last = this.pointer;
      this.pointer = { x: ev.screenX, y: ev.screenY };
      if (ev.type === 'pointermove' && (last === null || (last.x === ev.screenX && last.y === ev.screenY))) return;
    }
    this.lastActivity = Date.now();
    if (this.warned) {
      this.warned = false;
      this.cb.unwarn();
    }
  };

  constructor(
    private readonly cb: IdleCallbacks,
    private readonly limitMs: number = IDLE_LIMIT_MS,
  ) {}

  /** When the nurse last did something (a timer she left running stops here, not at the sign-out). */
  get lastActivityAt(): number {
    return this.lastActivity;
  }

  start(): void {
    this.lastActivity = Date.now();
    this.pointer = null;
    for (const ev of ACTIVITY_EVENTS) window.addEventListener(ev, this.onActivity, { passive: true, capture: true });
    this.timer = window.setInterval(() => this.check(), CHECK_EVERY_MS);
  }

  stop(): void {
    for (const ev of ACTIVITY_EVENTS) window.removeEventListener(ev, this.onActivity, { capture: true });
    window.clearInterval(this.timer);
  }

  /**
   * Activity that is not input: a connected video call with a patient (the nurse is talking, not
   * typing). Never network activity alone: the caller vouches that a person is there.
   */
  attended(): void {
    this.lastActivity = Date.now();
    if (this.warned) {
      this.warned = false;
      this.cb.unwarn();
    }
  }

  /** Every API call reports here: the server's idle expiry moved. */
  requested(): void {
    this.lastRequest = Date.now();
  }

  private check(): void {
    const now = Date.now();
    const idle = now - this.lastActivity;
    if (idle >= this.limitMs) {
      this.stop();
      this.cb.expire();
      return;
    }
    if (idle >= this.limitMs - Math.min(WARNING_BEFORE_MS, this.limitMs / 4) && !this.warned) {
      this.warned = true;
      this.cb.warn(this.limitMs - idle);
    }
    if (this.lastActivity > this.lastRequest && now - this.lastRequest >= KEEPALIVE_AFTER_MS) {
      this.lastRequest = now;
      this.cb.keepAlive();
    }
  }
}
