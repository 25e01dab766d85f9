/** A few DOM helpers: no framework, so elements are built here and updated in place by the views. */

export type Child = Node | string | number | null | undefined | false | readonly Child[];
type AttrValue = string | number | boolean | null | undefined | ((ev: never) => void);
export type Attrs = Record<string, AttrValue>;

/** `h('button', { class: 'x', onclick: fn, disabled: true }, 'Text')`. `on*` attributes become listeners. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs !== null) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), value as EventListener);
      else if (key === 'class') el.className = String(value);
      else el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: readonly Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, c as readonly Child[]);
    else parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : (c as Node));
  }
}

export function clear(el: Element): void {
  el.replaceChildren();
}

/** Text only screen readers get (context for repeated buttons such as "Claim"). */
export const srOnly = (text: string): HTMLSpanElement => h('span', { class: 'sr-only' }, text);

/**
 * Polite announcements through one live region. Cleared first, then set on the next frame, so
 * a repeated message is still read. Messages said within a few seconds of each other are read
 * together: a delayed "new alert" must not replace the confirmation of what the nurse just did.
 */
export class Announcer {
  readonly el = h('div', { class: 'sr-only', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true', id: 'announcer' });
  private timer = 0;
  private recent: { readonly atMs: number; readonly message: string }[] = [];

  say(message: string): void {
    const now = Date.now();
    this.recent = this.recent.filter((r) => now - r.atMs < Announcer.TOGETHER_MS && r.message !== message);
    this.recent.push({ atMs: now, message });
    this.el.textContent = '';
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => {
      this.el.textContent = this.recent.map((r) => r.message).join(' ');
    }, 50);
  }

  private static readonly TOGETHER_MS = 3000;
}

/** Moves focus to a view's heading after navigation, so screen readers start at the new content. */
export function focusHeading(root: ParentNode): void {
  const heading = root.querySelector<HTMLElement>('h1');
  if (heading === null) return;
  heading.tabIndex = -1;
  heading.focus({ preventScroll: false });
}

/** Where focus was, by stable keys (`data-key` on controls, `data-row` on rows), to find it again after a re-render. */
export interface FocusMemo {
  readonly key: string | null;
  readonly row: string | null;
}

export function focusMemo(el: Element | null): FocusMemo {
  if (el === null) return { key: null, row: null };
  return { key: el.closest('[data-key]')?.getAttribute('data-key') ?? null, row: el.closest('[data-row]')?.getAttribute('data-row') ?? null };
}

/**
 * Puts focus back on the same control, else on the first control of the same row, else on the
 * view's heading: focus never drops to <body> when the element holding it was replaced.
 */
export function restoreFocus(memo: FocusMemo, root: ParentNode = document): void {
  const css = (v: string): string => CSS.escape(v);
  const target =
    (memo.key === null ? null : root.querySelector<HTMLElement>(`[data-key="${css(memo.key)}"]`)) ??
    (memo.row === null ? null : root.querySelector<HTMLElement>(`[data-row="${css(memo.row)}"] button, [data-row="${css(memo.row)}"] a`)) ??
    root.querySelector<HTMLElement>('main h1');
  if (target === null) return;
  if (target.tagName === 'H1') target.tabIndex = -1;
  target.focus();
}
