import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { Api, ApiError } from './api.js';
import type { AppContext } from './context.js';
import { DisplayService, resetDisplay } from './display.js';
import { IdentityDirectory } from './identities.js';
import { LiveWorklist } from './live.js';
import { IdleWatch, tokenStore } from './session.js';
import { TimerService } from './timer-service.js';
import { AlertSignals } from './alert-signals.js';
import type { Alert, Colleague, LoginResponse, Me, StaffSelf } from './types.js';
import { renderLogin } from './views/login.js';
import { MyDayView } from './views/my-day.js';
import { renderMfaEnrolment } from './views/mfa-enrol.js';
import { PatientView } from './views/patient.js';
import { joinAppointment, VisitCallView } from './views/visit.js';
import { setJoinHandler } from './views/visit-join.js';
import { Shell } from './views/shell.js';
import type { View } from './views/view.js';
import { WorklistView } from './views/worklist.js';
import { RosterView } from './views/roster.js';
import { BillingView } from './views/billing.js';
import { AdminView } from './views/admin.js';
import { hashRoute } from './url-state.js';
import { minutes, SEVERITY_LABEL } from './format.js';

type SignOutReason = 'user' | 'idle' | 'expired';

const SIGNED_OUT_MESSAGE: Record<SignOutReason, string | null> = {
  user: 'You are signed out.',
  idle: 'You were signed out after 15 minutes without activity.',
  expired: 'Your session has ended. Please sign in again.',
};

/** Per signed-in session; torn down entirely at sign-out so nothing of it outlives the session. */
interface Session {
  readonly ctx: AppContext;
  readonly shell: Shell;
  readonly live: LiveWorklist;
  readonly idle: IdleWatch;
  readonly unsubscribe: (() => void)[];
  view: View | null;
}

class App {
  private session: Session | null = null;
  private signingOut = false;
  /** The server's idle limit in minutes (GET /v1/auth/me), for what the sign-out says. */
  private idleMinutes = 15;
  private readonly api = new Api({
    token: () => tokenStore.get(),
    onRequest: () => this.session?.idle.requested(),
    onSessionEnded: () => void this.signOut('expired'),
  });

  constructor(private readonly root: HTMLElement) {}

  async boot(): Promise<void> {
    // Back from single sign-on: a one-time hand-off code in the fragment, swapped for the session,
    // and taken out of the address bar and the history at once.
    const sso = /^#\/sso\/([A-Za-z0-9_-]+)$/.exec(location.hash);
    const ssoFailed = /^#\/sso-failed\/([A-Z_]+)$/.exec(location.hash);
    if (sso !== null || ssoFailed !== null) history.replaceState(null, '', '#/worklist');
    if (ssoFailed !== null) {
      return this.showLogin(
        ssoFailed[1] === 'RPM_ERR_AUTH_MFA_REQUIRED'
          ? 'Your identity provider did not confirm a second factor, which your organization requires. Sign in there with it, then try again.'
          : 'Single sign-on did not complete. Check with your administrator that your account exists here with the same email.',
      );
    }
    if (sso?.[1] !== undefined) {
      try {
        const res = await this.api.post<LoginResponse>('/v1/auth/sso/exchange', { code: sso[1] });
        tokenStore.set(res.token);
        return await this.enter(res.staff);
      } catch {
        return this.showLogin('Single sign-on did not complete (the sign-in took too long, or was already used). Please try again.');
      }
    }
    if (tokenStore.get() === null) return this.showLogin(null);
    try {
      const me = await this.api.get<Me>('/v1/auth/me');
      if (me.mfaEnrollmentRequired === true) return this.enrol(me.staff);
      await this.enter(me.staff);
    } catch {
      tokenStore.clear();
      this.showLogin(SIGNED_OUT_MESSAGE.expired);
    }
  }

  private showLogin(message: string | null): void {
    document.title = 'Sign in · RPM nurse dashboard';
    renderLogin(this.root, this.api, message, (res: LoginResponse) => {
      tokenStore.set(res.token);
      if (res.mfaEnrollmentRequired === true) return void this.enrol(res.staff);
      void this.enter(res.staff).then(() => {
        // Someone may have been guessing her password: she should know (issue 11).
        const n = res.notice?.failedLoginsSinceLastSignIn ?? 0;
        if (n > 0) {
          this.session?.ctx.showError(
            `${n} wrong password${n === 1 ? ' was' : 's were'} tried for your account since you last signed in. If that was not you, tell your administrator.`,
          );
        }
      });
    });
  }

  /** The organization requires a second factor: nothing else opens until one is set up. */
  private async enrol(me: StaffSelf): Promise<void> {
    document.title = 'Set up two-step sign-in · RPM nurse dashboard';
    await renderMfaEnrolment(
      this.root,
      this.api,
      () => void this.enter(me),
      () => {
        const token = tokenStore.get();
        tokenStore.clear();
        if (token !== null) void fetch('/v1/auth/logout', { method: 'POST', headers: { authorization: `Bearer ${token}` }, cache: 'no-store', credentials: 'omit' }).catch(() => undefined);
        this.showLogin(SIGNED_OUT_MESSAGE.user);
      },
    );
  }

  private async enter(me: StaffSelf): Promise<void> {
    this.signingOut = false;
    // The server's idle limit, so both sign out on the same one.
    const idleMinutes = await this.api
      .get<Me>('/v1/auth/me')
      .then((m) => m.idleMinutes)
      .catch(() => undefined);
    if (idleMinutes !== undefined) this.idleMinutes = idleMinutes;
    const colleagues = new Map<string, string>();
    const timer = new TimerService(this.api);
    const display = new DisplayService(this.api);
    let displayProblem: string | null = null;
    await Promise.all([
      this.api
        .get<{ staff: Colleague[] }>('/v1/colleagues')
        .then((r) => r.staff.forEach((c) => colleagues.set(c.id, c.displayName ?? 'a colleague')))
        .catch(() => undefined),
      timer.load().catch(() => undefined),
      // Times and units: without them every time would be shown in UTC, so say so if they fail.
      display.load().catch((err: unknown) => {
        displayProblem = `Your display settings could not be loaded (${err instanceof Error ? err.message : String(err)}): times are shown in UTC.`;
      }),
    ]);
    const live = new LiveWorklist(this.api, () => tokenStore.get(), () => void this.signOut('expired'));
    const signals = new AlertSignals(this.api, live);
    await signals.load().catch(() => undefined);
    const ctx: AppContext = {
      api: this.api,
      me,
      live,
      timer,
      display,
      identities: new IdentityDirectory(this.api),
      signals,
      announce: (m) => shell.announcer.say(m),
      showError: (m) => shell.showError(m),
      clearError: () => shell.clearError(),
      staffName: (id) => (id === null ? 'nobody' : id === me.id ? 'You' : (colleagues.get(id) ?? 'another staff member')),
      inCall: () => idle.attended(),
    };
    const shell = new Shell(this.root, ctx, () => void this.signOut('user'));
    const idle = new IdleWatch({
      warn: (ms) => shell.warnIdle(ms),
      unwarn: () => shell.unwarnIdle(),
      expire: () => void this.signOut('idle'),
      // Active but only watching the stream: one request keeps the server session (and priorities) fresh.
      keepAlive: () => void live.refresh().catch(() => undefined),
    }, idleMinutes === undefined ? undefined : idleMinutes * 60_000);
    // New units or zone: the live stream and every view are rendered again in them.
    const unsubscribe = [
      display.subscribe(() => {
        live.reconnect();
        this.route();
      }),
    ];
    this.session = { ctx, shell, live, idle, unsubscribe, view: null };
    announceNewAlerts(ctx);
    idle.start();
    live.start();
    window.addEventListener('hashchange', this.route);
    this.route();
    if (displayProblem !== null) shell.showError(displayProblem);
  }

  private readonly route = (): void => {
    const s = this.session;
    if (s === null) return;
    const { path } = hashRoute();
    const match = /^\/patients\/([^/]+)$/.exec(path);
    const visit = /^\/visits\/([^/]+)$/.exec(path);
    s.view?.destroy();
    s.shell.clearError();
    s.shell.view.replaceChildren();
    let view: View;
    const day = /^\/day(?:\/(\d{4}-\d{2}-\d{2}))?$/.exec(path);
    const role = s.ctx.me.role;
    if (match?.[1] !== undefined) view = new PatientView(s.ctx, decodeURIComponent(match[1]));
    else if (visit?.[1] !== undefined) view = new VisitCallView(s.ctx, decodeURIComponent(visit[1]));
    else if (day !== null) view = new MyDayView(s.ctx, day[1]);
    else if (path === '/roster') view = new RosterView(s.ctx);
    else if (path === '/billing' && (role === 'physician' || role === 'admin')) view = new BillingView(s.ctx);
    else if (path.startsWith('/admin') && role === 'admin') view = new AdminView(s.ctx, path.slice('/admin'.length).replace(/^\//, ''));
    else {
      if (location.hash !== '#/worklist') history.replaceState(null, '', '#/worklist');
      view = new WorklistView(s.ctx);
    }
    s.shell.setCurrent(path);
    s.view = view;
    s.ctx.signals.setBaseTitle(`${view.title} · RPM nurse dashboard`);
    view.mount(s.shell.view);
  };

  async signOut(reason: SignOutReason): Promise<void> {
    if (this.signingOut) return;
    this.signingOut = true;
    const s = this.session;
    // A running timer stops with the session: billable minutes are time spent, not a tab left open.
    const timerNote = s === null ? null : await stopTimerAtSignOut(s.ctx, reason, s.idle.lastActivityAt);
    this.session = null;
    const token = tokenStore.get();
    tokenStore.clear();
    window.removeEventListener('hashchange', this.route);
    for (const d of document.querySelectorAll('dialog')) d.remove();
    if (s !== null) {
      for (const u of s.unsubscribe) u();
      s.idle.stop();
      s.live.stop();
      s.ctx.signals.destroy();
      s.view?.destroy();
      s.shell.destroy();
    }
    // End the server session too (it would expire on its own, but not for another 15 minutes).
    if (token !== null && reason !== 'expired') {
      await fetch('/v1/auth/logout', { method: 'POST', headers: { authorization: `Bearer ${token}` }, cache: 'no-store', credentials: 'omit' }).catch(() => undefined);
    }
    resetDisplay();
    const message = reason === 'idle' ? `You were signed out after ${this.idleMinutes} minutes without activity.` : SIGNED_OUT_MESSAGE[reason];
    this.showLogin(timerNote === null ? message : `${message ?? ''} ${timerNote}`.trim());
  }
}

/**
 * Stops this nurse's running timer before the session ends, and says what was logged. When the
 * session has already ended (401), the server stops it at her last activity instead.
 */
async function stopTimerAtSignOut(ctx: AppContext, reason: SignOutReason, lastActivityAt: number): Promise<string | null> {
  const running = ctx.timer.running;
  if (running === null) return null;
  const byServer = `Your timer for patient ${running.patientId} stops at your last activity (unless you are still signed in elsewhere).`;
  if (reason === 'expired') return byServer;
  try {
    // Signed out for inactivity: the minutes without activity are not billable; stop at her last one.
    const stopped = await ctx.timer.stop(reason === 'idle' ? { reason: 'session-expired', endedAt: lastActivityAt } : { reason: 'signed-out' });
    const logged = stopped?.minutes === null || stopped?.minutes === undefined ? '' : ` (${minutes(stopped.minutes)} logged)`;
    return reason === 'idle'
      ? `Your timer for patient ${running.patientId} was stopped at your last activity${logged}.`
      : `Your timer for patient ${running.patientId} was stopped at sign-out${logged}.`;
  } catch (err) {
    // The server stops it too when the last session ends; say so rather than nothing.
    return err instanceof ApiError && err.sessionEnded
      ? byServer
      : `Your timer for patient ${running.patientId} could not be stopped here (${err instanceof Error ? err.message : String(err)}); it stops when your session ends.`;
  }
}

/** New alerts are announced wherever the nurse is; a burst becomes one message. */
function announceNewAlerts(ctx: AppContext): void {
  let fresh: Alert[] = [];
  let timer = 0;
  ctx.live.subscribe((changes) => {
    for (const c of changes) {
      if (c.source === 'stream' && c.result === 'added') fresh.push(c.alert);
    }
    if (fresh.length === 0 || timer !== 0) return;
    timer = window.setTimeout(() => {
      timer = 0;
      const list = fresh.sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0));
      fresh = [];
      const top = list[0];
      if (top === undefined) return;
      const what = `${SEVERITY_LABEL[top.severity].toLowerCase()} alert: ${top.title}, patient ${top.patientId}`;
      ctx.announce(list.length === 1 ? `New ${what}.` : `${list.length} new alerts. Most urgent: ${what}.`);
    }, 1000);
  });
}

// A booked video appointment's "Join" starts (or returns to) a video visit with its patient.
setJoinHandler((ctx, appointment) => void joinAppointment(ctx, appointment));

const root = document.getElementById('app');
if (root !== null) void new App(root).boot();
