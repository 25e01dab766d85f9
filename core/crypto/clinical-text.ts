import { FieldCipher } from './field-encryption.js';

/**
 * Free text that people write about patients (a nurse's note on an alert or a time entry, the
 * reason for break-glass access) is PHI: stores keep it sealed with the field cipher (AES-256-GCM,
 * bound to its row), so a copied database file, WAL or backup does not show it (HIPAA
 * §164.312(a)(2)(iv)). Without a cipher (tests of a bare store) the text is kept as given. Text
 * stored before sealing existed is read as it is (no `enc1.` prefix) and sealed when rewritten.
 */
export class ClinicalText {
  constructor(private readonly cipher: FieldCipher | undefined) {}

  get sealing(): boolean {
    return this.cipher !== undefined;
  }

  seal(text: string | null, context: string): string | null {
    if (text === null || this.cipher === undefined) return text;
    return this.cipher.encrypt(text, `clinical-text:${context}`);
  }

  open(value: string | null, context: string): string | null {
    if (value === null || FieldCipher.keyIdOf(value) === undefined) return value;
    if (this.cipher === undefined) return value;
    return this.cipher.decrypt(value, `clinical-text:${context}`);
  }
}

/** Row contexts: a value moved to another row does not decrypt there. */
export const alertNoteContext = (alertId: string): string => `alert-note:${alertId}`;
export const alertEventNoteContext = (alertId: string, version: number): string => `alert-event-note:${alertId}:${version}`;
export const timeEntryNoteContext = (entryId: string): string => `time-note:${entryId}`;
export const breakGlassReasonContext = (grantId: string): string => `break-glass-reason:${grantId}`;

interface WithNote {
  readonly note: string | null;
}

/**
 * The notes of alerts, alert events and time entries, sealed on the way into an AlertStore
 * adapter and opened on the way out (both adapters use this, so both store the same).
 */
export class AlertNotes {
  private readonly text: ClinicalText;

  constructor(cipher: FieldCipher | undefined) {
    this.text = new ClinicalText(cipher);
  }

  sealAlert<T extends WithNote & { readonly id: string }>(a: T): T {
    return a.note === null ? a : { ...a, note: this.text.seal(a.note, alertNoteContext(a.id)) };
  }

  openAlert<T extends WithNote & { readonly id: string }>(a: T): T {
    return a.note === null ? a : { ...a, note: this.text.open(a.note, alertNoteContext(a.id)) };
  }

  sealEvent<T extends WithNote & { readonly alertId: string; readonly version: number }>(e: T): T {
    return e.note === null ? e : { ...e, note: this.text.seal(e.note, alertEventNoteContext(e.alertId, e.version)) };
  }

  openEvent<T extends WithNote & { readonly alertId: string; readonly version: number }>(e: T): T {
    return e.note === null ? e : { ...e, note: this.text.open(e.note, alertEventNoteContext(e.alertId, e.version)) };
  }

  /** Whether this process seals (has a cipher); without one nothing is re-sealed at open. */
  get sealing(): boolean {
    return this.text.sealing;
  }

  /** A stored note in plain text (an install from before sealing), to seal at open. */
  static isPlain(value: string | null): value is string {
    return value !== null && FieldCipher.keyIdOf(value) === undefined;
  }

  sealAlertNote(alertId: string, note: string): string | null {
    return this.text.seal(note, alertNoteContext(alertId));
  }

  sealEventNote(alertId: string, version: number, note: string): string | null {
    return this.text.seal(note, alertEventNoteContext(alertId, version));
  }

  sealTimeNote(entryId: string, note: string | null): string | null {
    return this.text.seal(note, timeEntryNoteContext(entryId));
  }

  openTime<T extends WithNote & { readonly id: string }>(t: T): T {
    return t.note === null ? t : { ...t, note: this.text.open(t.note, timeEntryNoteContext(t.id)) };
  }
}
