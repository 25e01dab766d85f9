import { focusMemo, h, restoreFocus } from '../dom.js';

export interface DialogSpec {
  readonly title: string;
  /** What the nurse must know before submitting (read out with the dialog: aria-describedby). */
  readonly description?: string | readonly HTMLElement[];
  readonly fields: readonly HTMLElement[];
  readonly submitLabel: string;
  /** Resolves true to close; false keeps the dialog open (the error is shown by the caller). */
  onSubmit(form: HTMLFormElement): Promise<boolean>;
}

let counter = 0;

/**
 * A modal <dialog>: the browser traps focus and closes on Escape. Focus returns to the button
 * that opened it, so keyboard users continue where they were.
 */
export function openDialog(spec: DialogSpec): HTMLDialogElement {
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const memo = focusMemo(opener);
  const titleId = `dialog-title-${++counter}`;
  const descId = `dialog-desc-${counter}`;
  const description =
    spec.description === undefined ? null : h('div', { id: descId, class: 'dialog-description' }, typeof spec.description === 'string' ? h('p', null, spec.description) : spec.description);
  const submit = h('button', { type: 'submit', class: 'primary' }, spec.submitLabel);
  const form = h(
    'form',
    { method: 'dialog', novalidate: false },
    h('h2', { id: titleId }, spec.title),
    description,
    ...spec.fields,
    h('div', { class: 'dialog-buttons' }, submit, h('button', { type: 'button', value: 'cancel', onclick: () => dialog.close() }, 'Cancel')),
  );
  const dialog = h('dialog', { 'aria-labelledby': titleId, 'aria-describedby': description === null ? undefined : descId }, form);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    void spec
      .onSubmit(form)
      .then((close) => {
        if (close) dialog.close();
      })
      .finally(() => {
        submit.disabled = false;
      });
  });
  dialog.addEventListener('close', () => {
    dialog.remove();
    // The row that opened it may have been re-rendered meanwhile: find its control again.
    if (opener !== null && opener.isConnected) opener.focus();
    else restoreFocus(memo);
  });
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

/** A labelled form control. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  const id = control.id === '' ? `field-${++counter}` : control.id;
  control.id = id;
  const hintEl = hint === undefined ? null : h('span', { class: 'hint', id: `${id}-hint` }, hint);
  if (hintEl !== null) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), hintEl, control);
}
