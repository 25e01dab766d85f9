import { ApiError, seg } from '../api.js';
import type { AppContext } from '../context.js';
import { focusHeading, h, srOnly } from '../dom.js';
import { dateAndTime, minutes } from '../format.js';
import { tokenStore } from '../session.js';
import { type CallState, callStateText, VideoCall } from '../video/call.js';
import type { JoinView, LinkView, VisitView } from '../video/types.js';
import type { View } from './view.js';

/** Links just issued, by visit (memory only: a link is a secret, shown to the nurse who asked for it). */
const issuedLinks = new Map<string, LinkView>();

const SMS_TEXT: Record<LinkView['sms'], string> = {
  sent: 'The link was sent to the patient by text message.',
  'not-requested': 'No text message was sent.',
  'no-phone': 'No text message was sent: the patient has no phone number on record.',
  failed: 'The text message could not be sent.',
};

/** Starts a visit (from the patient page, or about an alert) and opens its call view. */
export async function startVisit(ctx: AppContext, patientId: string, options: { alertId?: string; modality: 'video' | 'audio' }): Promise<void> {
  try {
    const res = await ctx.api.post<{ visit: VisitView; link: LinkView }>('/v1/visits', { patientId, modality: options.modality, sendSms: true, ...(options.alertId === undefined ? {} : { alertId: options.alertId }) });
    issuedLinks.set(res.visit.id, res.link);
    ctx.announce(`Video visit started. ${SMS_TEXT[res.link.sms]}`);
    location.hash = `#/visits/${seg(res.visit.id)}`;
  } catch (err) {
    if (!(err instanceof ApiError && err.sessionEnded)) ctx.showError(`The video visit could not be started: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** How early before its start a booked appointment's visit opens (the gateway's APPOINTMENT_JOIN_EARLY_MS). */
const JOIN_EARLY_MS = 30 * 60_000;

/**
 * A booked video appointment's "Join" (my day, the patient's visits): the visit held for that
 * appointment, linked to it (the appointment is completed when the visit ends with both in). Its
 * open visit when there is one (the gateway names it), else a new one (the patient gets her link
 * by SMS). Earlier than 30 minutes before the start it says when the visit opens.
 */
export async function joinAppointment(ctx: AppContext, appointment: { readonly id: string; readonly start: string }): Promise<void> {
  const opensAt = Date.parse(appointment.start) - JOIN_EARLY_MS;
  if (Date.now() < opensAt) {
    ctx.showError(`This visit opens 30 minutes before it starts, at ${dateAndTime(new Date(opensAt).toISOString())}.`);
    return;
  }
  try {
    const res = await ctx.api.post<{ visit: VisitView; link: LinkView }>('/v1/visits', { appointmentId: appointment.id, sendSms: true });
    issuedLinks.set(res.visit.id, res.link);
    ctx.announce(`Video visit started for the appointment. ${SMS_TEXT[res.link.sms]}`);
    location.hash = `#/visits/${seg(res.visit.id)}`;
  } catch (err) {
    if (err instanceof ApiError && err.code === 'RPM_ERR_VISIT_ALREADY_OPEN' && typeof err.problem.visitId === 'string') {
      location.hash = `#/visits/${seg(err.problem.visitId)}`;
      return;
    }
    if (!(err instanceof ApiError && err.sessionEnded)) ctx.showError(`The video visit could not be started: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The patient page's panel: start a visit (video, or audio only) and this patient's recent visits. */
export function visitPanel(patientId: string, ctx: AppContext): { element: HTMLElement; load(): Promise<void> } {
  const audioOnly = h('input', { type: 'checkbox', id: `visit-audio-${patientId}` });
  const start = h(
    'button',
    { type: 'button', class: 'primary', 'data-key': 'start-visit', onclick: () => void startVisit(ctx, patientId, { modality: audioOnly.checked ? 'audio' : 'video' }) },
    'Start video visit',
  );
  const recent = h('div', { class: 'video-visit-list' });
  const element = h(
    'section',
    { class: 'panel video-visits', 'aria-labelledby': 'video-visits-heading' },
    h('h2', { id: 'video-visits-heading' }, 'Video visits'),
    h('div', { class: 'timer-controls' }, start, h('label', { for: audioOnly.id }, audioOnly, ' Audio only')),
    h('p', { class: 'hint' }, 'The patient gets a link by text message that works once. Minutes count as interactive time.'),
    recent,
  );
  const load = async (): Promise<void> => {
    try {
      const { visits } = await ctx.api.get<{ visits: VisitView[] }>(`/v1/patients/${seg(patientId)}/visits`, { limit: 5 });
      recent.replaceChildren(
        visits.length === 0
          ? h('p', { class: 'hint' }, 'No video visits yet.')
          : h(
              'ul',
              { class: 'entry-list', 'aria-label': 'Recent video visits, newest first' },
              visits.map((v) =>
                h(
                  'li',
                  null,
                  h('time', { datetime: v.createdAt }, dateAndTime(v.createdAt)),
                  ` · ${visitStatusText(v)}`,
                  v.status === 'ended' ? null : [' · ', h('a', { href: `#/visits/${seg(v.id)}` }, 'Open', srOnly(` the visit of ${dateAndTime(v.createdAt)}`))],
                ),
              ),
            ),
      );
    } catch (err) {
      recent.replaceChildren(h('p', { class: 'hint' }, `Visits unavailable (${err instanceof Error ? err.message : String(err)})`));
    }
  };
  return { element, load };
}

function visitStatusText(v: VisitView): string {
  if (v.status === 'waiting') return 'waiting for the patient';
  if (v.status === 'in-progress') return 'in progress';
  if (v.endReason === 'cancelled') return 'ended before the patient joined';
  return `${v.modality === 'audio' ? 'audio' : 'video'}, ${v.minutes === null ? 'no time logged' : minutes(v.minutes)}${v.endReason === 'expired' ? ' (ended by the system)' : ''}`;
}

/** `#/visits/<id>`: the nurse's side of a visit. Leaving the page leaves the room; "End visit" ends the visit. */
export class VisitCallView implements View {
  readonly title = 'Video visit';
  private call: VideoCall | null = null;
  private readonly status = h('p', { class: 'call-status', role: 'status', 'aria-live': 'polite', 'data-state': 'loading' }, 'Loading the visit…');
  private readonly linkBox = h('div', { class: 'video-visit-link' });
  private readonly stage = h('div', { class: 'call-stage' });
  private readonly controls = h('div', { class: 'call-controls' });
  private readonly summary = h('div', { class: 'visit-summary' });
  private visit: VisitView | null = null;
  private cameraWasOn = false;
  /** While connected: the call counts as activity for automatic logoff (the server session is kept by the dashboard's keep-alive). */
  private attendedTimer = 0;

  constructor(
    private readonly ctx: AppContext,
    private readonly visitId: string,
  ) {}

  mount(main: HTMLElement): void {
    main.append(
      h('div', { class: 'view-head' }, h('p', { class: 'back' }, h('a', { href: '#/worklist' }, '← Worklist')), h('h1', null, 'Video visit')),
      h('section', { class: 'panel call', 'aria-label': 'Call' }, this.status, this.stage, this.controls, this.summary),
      this.linkBox,
    );
    focusHeading(main);
    void this.load();
  }

  destroy(): void {
    window.clearInterval(this.attendedTimer);
    this.call?.hangUp();
    this.call = null;
  }

  private async load(): Promise<void> {
    try {
      const visit = await this.ctx.api.get<VisitView>(`/v1/visits/${seg(this.visitId)}`);
      this.visit = visit;
      const heading = document.querySelector('main h1');
      if (heading !== null) heading.textContent = `Video visit · patient ${visit.patientId}`;
      this.renderLink(issuedLinks.get(visit.id) ?? null);
      if (visit.status === 'ended') return this.renderEnded(visit, null);
      const { join } = await this.ctx.api.post<{ visit: VisitView; join: JoinView }>(`/v1/visits/${seg(this.visitId)}/join`);
      this.enter(join, visit);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) this.setStatus('refused', 'This visit does not exist or is not in your care.');
      else if (!(err instanceof ApiError && err.sessionEnded)) this.ctx.showError(`Could not open the visit: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private enter(join: JoinView, visit: VisitView): void {
    const end = h('button', { type: 'button', class: 'danger', 'data-key': 'end-visit', onclick: () => void this.end() }, 'End visit');
    if (join.provider !== 'embedded') {
      const url = join.joinUrl;
      this.setStatus('waiting', url === null ? 'This visit runs in LiveKit: open it with your LiveKit client.' : 'This visit runs in the organization’s video service. Open it in a new tab.');
      this.controls.replaceChildren(...(url === null ? [] : [h('a', { class: 'button primary', href: url, target: '_blank', rel: 'noopener noreferrer' }, 'Open the visit')]), end);
      return;
    }
    const remote = h('video', { class: 'remote-video', autoplay: true, playsinline: true, 'aria-label': 'The patient’s video' });
    const local = h('video', { class: 'local-video', autoplay: true, playsinline: true, muted: true, 'aria-label': 'Your video (preview)' });
    this.stage.replaceChildren(remote, local);
    const call = new VideoCall({
      signalingPath: join.signalingPath,
      visitId: visit.id,
      role: 'staff',
      token: tokenStore.get() ?? '',
      iceServers: join.iceServers,
      iceTransportPolicy: join.iceTransportPolicy,
      audioOnly: visit.modality === 'audio',
      localVideo: local,
      remoteVideo: remote,
      onState: (state) => {
        this.setStatus(state, callStateText(state, 'staff'));
        window.clearInterval(this.attendedTimer);
        if (state === 'connected') {
          this.ctx.announce('The patient has joined.');
          this.ctx.inCall();
          this.attendedTimer = window.setInterval(() => this.ctx.inCall(), 30_000);
        }
        if (state === 'ended') void this.showEnded();
      },
    });
    this.call = call;
    const mic = h('button', { type: 'button', 'aria-pressed': 'false', onclick: () => mic.setAttribute('aria-pressed', String(!call.toggleAudio())) }, 'Mute microphone');
    const cam = h('button', { type: 'button', 'aria-pressed': 'false', onclick: () => cam.setAttribute('aria-pressed', String(!call.toggleVideo())) }, 'Turn camera off');
    this.controls.replaceChildren(mic, ...(visit.modality === 'video' ? [cam] : []), end);
    this.cameraWasOn = visit.modality === 'video';
    void call.start();
  }

  private renderLink(link: LinkView | null): void {
    const renew = h('button', { type: 'button', onclick: () => void this.renewLink() }, 'Send a new link');
    if (link === null) {
      this.linkBox.replaceChildren(
        h('section', { class: 'panel', 'aria-labelledby': 'link-heading' }, h('h2', { id: 'link-heading' }, 'Patient link'), h('p', { class: 'hint' }, 'A new link replaces the one sent before.'), renew),
      );
      return;
    }
    const input = h('input', { id: 'visit-link-url', readonly: true, value: link.url, class: 'link-url' });
    this.linkBox.replaceChildren(
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'link-heading' },
        h('h2', { id: 'link-heading' }, 'Patient link'),
        h('p', { 'data-sms': link.sms }, SMS_TEXT[link.sms], ` It works once, until ${dateAndTime(link.expiresAt)}.`),
        h('label', { for: input.id }, 'Link for the patient (give it to no one else)'),
        input,
        renew,
      ),
    );
  }

  private async renewLink(): Promise<void> {
    try {
      const res = await this.ctx.api.post<{ visit: VisitView; link: LinkView }>(`/v1/visits/${seg(this.visitId)}/link`, { sendSms: true });
      issuedLinks.set(this.visitId, res.link);
      this.renderLink(res.link);
      this.ctx.announce(`New link issued. ${SMS_TEXT[res.link.sms]}`);
    } catch (err) {
      if (!(err instanceof ApiError && err.sessionEnded)) this.ctx.showError(`No new link: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async end(): Promise<void> {
    // Video turned off for the whole visit: it was held by audio.
    const modality = this.visit?.modality === 'video' && this.cameraWasOn && this.call?.hasVideo() === true ? 'video' : 'audio';
    try {
      const res = await this.ctx.api.post<{ visit: VisitView; timeEntry: { minutes: number; modality: string } | null }>(`/v1/visits/${seg(this.visitId)}/end`, { modality });
      this.call?.hangUp();
      this.call = null;
      this.renderEnded(res.visit, res.timeEntry);
      this.ctx.announce(this.summary.textContent ?? 'The visit has ended.');
    } catch (err) {
      if (err instanceof ApiError && err.code === 'RPM_ERR_VISIT_ENDED') void this.showEnded();
      else if (!(err instanceof ApiError && err.sessionEnded)) this.ctx.showError(`The visit could not be ended: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async showEnded(): Promise<void> {
    const visit = await this.ctx.api.get<VisitView>(`/v1/visits/${seg(this.visitId)}`).catch(() => null);
    if (visit !== null) this.renderEnded(visit, visit.minutes === null ? null : { minutes: visit.minutes });
  }

  private renderEnded(visit: VisitView, entry: { minutes: number; modality?: string } | null): void {
    this.stage.replaceChildren();
    this.controls.replaceChildren(h('a', { href: `#/patients/${seg(visit.patientId)}` }, `Back to patient ${visit.patientId}`));
    this.linkBox.replaceChildren();
    this.setStatus('ended', 'The visit has ended.');
    this.summary.replaceChildren(
      h('p', { 'data-minutes': entry?.minutes ?? '' }, entry === null ? 'The patient did not join: no time was logged.' : `${minutes(entry.minutes)} logged to your time log as interactive ${(entry.modality ?? visit.modality) === 'audio' ? 'audio' : 'video'} time.`),
    );
  }

  private setStatus(state: CallState | 'refused' | 'loading', text: string): void {
    this.status.dataset.state = state;
    this.status.textContent = text;
  }
}
