import type { StreamEvent } from './types.js';

export interface StreamHandlers {
  /** The stream is open: anything before this moment must be fetched (the snapshot). */
  opened(): void;
  event(e: StreamEvent): void;
  /** Lost; reconnecting after `retryMs`. */
  lost(retryMs: number): void;
  /** 401: the session ended. */
  unauthorized(): void;
}

/** One Server-Sent Events message, parsed per the HTML spec's rules (event, data; comments ignored). */
export function parseSseBlock(block: string): { event: string; data: string } | null {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return data.length === 0 ? null : { event, data: data.join('\n') };
}

/**
 * GET /v1/worklist/stream with the session token in the Authorization header. EventSource cannot
 * send headers (and a token in the URL would end up in logs), so this reads the stream with
 * fetch. Reconnects with backoff; the caller refetches the snapshot on every `opened`.
 */
export class WorklistStream {
  private controller: AbortController | null = null;
  private stopped = false;
  private attempt = 0;
  private retryTimer = 0;

  constructor(
    private readonly token: () => string | null,
    private readonly handlers: StreamHandlers,
  ) {}

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  /** A fresh connection now (the server renders events in the display units of the moment it opens). */
  restart(): void {
    this.stop();
    this.start();
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.retryTimer);
    this.controller?.abort();
    this.controller = null;
  }

  private async connect(): Promise<void> {
    const token = this.token();
    if (this.stopped || token === null) return;
    const controller = new AbortController();
    this.controller = controller;
    try {
      const res = await fetch('/v1/worklist/stream', {
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
        cache: 'no-store',
        credentials: 'omit',
        signal: controller.signal,
      });
      if (res.status === 401) {
        this.handlers.unauthorized();
        return;
      }
      if (!res.ok || res.body === null) throw new Error(`stream answered ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      let opened = false;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        // Open once bytes arrive (the server's ": connected"), not at the headers: a buffering
        // proxy can pass headers and then hold every event.
        if (!opened) {
          opened = true;
          this.attempt = 0;
          this.handlers.opened();
        }
        buffer += value;
        let end: number;
        while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
          const msg = parseSseBlock(block);
          if (msg !== null && msg.event === 'alert') this.handlers.event(JSON.parse(msg.data) as StreamEvent);
        }
      }
    } catch (err) {
      if (this.stopped || this.controller !== controller) return;
      void err;
    }
    // Stopped, or replaced by a reconnect (restart): this connection's story ends here.
    if (this.stopped || this.controller !== controller) return;
    // Server restarts and network blips: 1 s, 2 s, 4 s … at most 15 s between tries.
    const retryMs = Math.min(15_000, 1000 * 2 ** this.attempt++);
    this.handlers.lost(retryMs);
    this.retryTimer = window.setTimeout(() => void this.connect(), retryMs);
  }
}
