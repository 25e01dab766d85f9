import type { AppContext } from '../context.js';
import { h } from '../dom.js';
import type { Appointment } from '../types.js';

/**
 * The "Join" button of a video visit. Video itself comes with the video module: it replaces the
 * handler with `setJoinHandler`; until then the button says that video is not set up here.
 */
type JoinHandler = (ctx: AppContext, visit: Appointment) => void;

let handler: JoinHandler = (ctx) => ctx.showError('Video visits are not set up on this gateway yet. Call the patient instead.');

export function setJoinHandler(next: JoinHandler): void {
  handler = next;
}

export function joinButton(ctx: AppContext, visit: Appointment, about: string): HTMLButtonElement | null {
  if (visit.modality !== 'video' || visit.status !== 'booked') return null;
  return h(
    'button',
    { type: 'button', class: 'small primary join-visit', 'data-appointment': visit.id, 'aria-label': `Join video visit with ${about}`, onclick: () => handler(ctx, visit) },
    'Join',
  );
}
