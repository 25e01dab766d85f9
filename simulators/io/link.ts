import type { SimReading } from '../readings.js';

/**
 * One sender's connection to the gateway (an MQTT session or an HTTP device), as the sender
 * agent sees it: send a batch, learn its fate. Connection upkeep stays inside the link.
 */

export type ReadingOutcome = { readonly status: 'accepted' | 'duplicate' | 'acked' } | { readonly status: 'rejected'; readonly code: string };

export type SendResult =
  /** The gateway acknowledged the transmission; one outcome per reading (MQTT knows only `acked`). */
  | { readonly ok: true; readonly outcomes: readonly ReadingOutcome[] }
  /**
   * Not acknowledged: connection lost, timeout, 5xx. `retryAfterMs` when the gateway asked to
   * wait; `fatal` when retrying cannot help (bad credentials, revoked device).
   */
  | { readonly ok: false; readonly reason: string; readonly retryAfterMs?: number; readonly fatal?: boolean };

export interface LinkEvents {
  /** The link can take sends now (connected, or for HTTP: always). */
  ready(): void;
  /** A rejection reported after the acknowledgement (the MQTT errors topic). */
  rejectedLater(clientId: string, code: string): void;
  /** A garbage payload's rejection (no reading to attach it to). */
  payloadRejected(code: string): void;
}

export interface Link {
  readonly transport: 'mqtt' | 'http';
  /** Whether a send now would go out (MQTT: a session is up). */
  readonly ready: boolean;
  /** Start connecting (MQTT) and keep the connection up until `hold` or `close`. */
  open(): void;
  send(batch: readonly SimReading[], done: (result: SendResult, latencyMs: number) => void): void;
  /** Send a payload the gateway must refuse (fault injection). */
  sendGarbage(payload: string, done: (acked: boolean) => void): void;
  /** Lose the connection abruptly (no DISCONNECT), as in a coverage loss; in-flight sends fail. */
  drop(): void;
  /** Stay disconnected until `open` is called again (offline window, storm delay). */
  hold(): void;
  close(): Promise<void>;
}
