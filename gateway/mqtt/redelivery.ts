import { Readable } from 'node:stream';

/** The part of an aedes persistence this module touches. */
export interface OutgoingQueue {
  outgoingStream(client: { readonly id: string }): Readable;
}

/**
 * [MQTT-3.3.1-1]: a PUBLISH the server sends again because its earlier attempt was not
 * acknowledged carries DUP 1. aedes 1.x resends the QoS 1 messages of a resumed session
 * (CleanSession 0) from its persistence's outgoing queue with DUP 0. That queue holds two kinds:
 * messages already sent once (aedes stored their packet identifier when it sent them) and
 * messages queued while the client was away (no identifier yet). Marking the first kind DUP as
 * they are read back, before aedes builds the packet from them, is the hook aedes leaves; the
 * second kind goes out with DUP 0, as a first delivery must.
 */
export function markRedeliveries(persistence: OutgoingQueue): void {
  const original = persistence.outgoingStream.bind(persistence);
  persistence.outgoingStream = (client) =>
    Readable.from(
      (async function* () {
        for await (const packet of original(client) as AsyncIterable<{ messageId?: number; dup?: boolean }>) {
          yield packet.messageId === undefined || packet.messageId === null ? packet : { ...packet, dup: true };
        }
      })(),
    );
}
