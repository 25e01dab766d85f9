import type { AppContext } from '../context.js';
import { focusHeading, h } from '../dom.js';
import type { View } from './view.js';

/** Organization administration (organization admins): placeholder replaced by the admin screens. */
export class AdminView implements View {
  readonly title = 'Administration';
  constructor(
    private readonly ctx: AppContext,
    private readonly section: string,
  ) {}
  mount(main: HTMLElement): void {
    main.append(h('div', { class: 'view-head' }, h('h1', null, 'Administration')), h('p', null, `Signed in as ${this.ctx.me.email}; section ${this.section || 'overview'}.`));
    focusHeading(main);
  }
  destroy(): void {}
}
