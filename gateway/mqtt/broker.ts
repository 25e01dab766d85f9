import { context, trace } from '@opentelemetry/api';
import { failSpan, SpanKind, tracer } from '../../core/tracing.js';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Aedes, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import { RpmError, isRpmError } from '../../core/errors/rpm-error.js';
import { parseJsonPayload } from '../../core/json/parse-json.js';
import { sha256Hex } from '../../pipeline/ingest.js';
import type { GatewayContext } from '../context.js';
import { GuardedMqttConnection, packetGuardAuthenticated } from './packet-guard.js';
import type { AuthenticatedDevice } from '../auth/device-authenticator.js';
import { certificateCredentialId, certifiedDeviceIds } from '../tls/client-certificate.js';
import { gateConnect } from './connect-gate.js';
import { PublishRateLimiter } from './publish-rate-limit.js';
import { markRedeliveries, type OutgoingQueue } from './redelivery.js';
import { commandsTopic, errorsTopic, mayPublish, mayReceive, maySubscribe, mayUseWill } from './topics.js';

/** What we know about an authenticated MQTT session. */
interface Session {
  readonly deviceId: string;
  readonly credentialId: string;
  /** Credential changes of the device seen when it authenticated (see `changes`). */
  readonly changesAtAuth: number;
  expiryTimer: NodeJS.Timeout | undefined;
}

// CONNACK return codes, MQTT 3.1.1 §3.2.2.3.
const CONNACK_SERVER_UNAVAILABLE = 3;
const CONNACK_BAD_CREDENTIALS = 4;
const CONNACK_NOT_AUTHORIZED = 5;

function authError(message: string, returnCode: number): AuthenticateError {
  const err = new Error(message) as AuthenticateError;
  (err as { returnCode: number }).returnCode = returnCode;
  return err;
}

/** The peer address of an MQTT connection: the TCP/TLS socket's, or the WebSocket upgrade request's. */
function sourceAddressOf(client: Client): string | undefined {
  const c = client as unknown as { conn?: { remoteAddress?: string }; req?: { socket?: { remoteAddress?: string } } };
  return c.conn?.remoteAddress ?? c.req?.socket?.remoteAddress;
}

export interface MqttBroker {
  readonly aedes: Aedes;
  /** Serve one MQTT connection (TCP, TLS or WebSocket stream). */
  handle(stream: Duplex, req?: IncomingMessage): void;
  /** Publishes in flight (waiting for their commit). */
  inFlight(): number;
  /** Publishes refused since start because their device was over its rate limit. */
  rateLimited(): number;
  /** Resolves when no publish is waiting for its commit. */
  drained(): Promise<void>;
  /**
   * Publishes `body` to the device's commands topic, QoS 1: delivered to its session on whichever
   * gateway holds it (the distributed mode's emitter carries it there), or queued in a persistent session.
   */
  sendCommand(deviceId: string, body: Readonly<Record<string, unknown>>): Promise<string>;
  close(): Promise<void>;
}

/**
 * The embedded aedes broker with device authentication, topic authorization and durable
 * ingest. aedes writes the QoS 1 PUBACK right after `authorizePublish` calls back (before
 * `published` runs), so the reading is committed inside `authorizePublish`: a PUBACK is
 * sent only for a committed reading.
 */
/**
 * aedes across gateway processes (the distributed mode): the message fan-out and the session
 * persistence they share (connectors/redis/mqtt-cluster.ts). Unset: in-memory, this process only.
 */
export interface MqttClusterParts {
  readonly mq: unknown;
  readonly persistence: unknown;
}

export async function createMqttBroker(ctx: GatewayContext, cluster?: MqttClusterParts): Promise<MqttBroker> {
  const sessions = new WeakMap<Client, Session>();
  /** Sessions a new connection with the same client id is replacing (a takeover, logged as such). */
  const replaced = new WeakSet<Client>();
  const byDevice = new Map<string, Set<Client>>();
  /** Count of credential changes per device, to catch changes that race a connect. */
  const changes = new Map<string, number>();
  let inFlight = 0;
  let rateLimited = 0;
  /** Per device, the explanation of a rate-limit refusal on its way out: its other refusals close after it. */
  const explaining = new Map<string, Promise<void>>();
  let drainWaiters: Array<() => void> = [];
  const limiter = new PublishRateLimiter(ctx.config.mqtt.publishRateLimitPerDevicePerMin, 60_000, ctx.clock);

  const connectTimeoutMs = 30_000;
  const aedes = await Aedes.createBroker({
    // Hubs pipeline a backlog right after CONNECT; aedes' default of 42 queued packets is too few.
    queueLimit: 1000,
    // A frozen subscriber (a device not reading its errors topic) must not block delivery for others.
    drainTimeout: 30_000,
    maxClientsIdLength: 128,
    connectTimeout: connectTimeoutMs,
    ...(cluster === undefined ? {} : { mq: cluster.mq, persistence: cluster.persistence }),
  });
  // MQTT 3.1.1 where aedes deviates: DUP on resent QoS 1 messages of a resumed session.
  markRedeliveries((aedes as unknown as { persistence: OutgoingQueue }).persistence);

  const forget = (client: Client): void => {
    const s = sessions.get(client);
    if (s === undefined) return;
    if (s.expiryTimer !== undefined) clearTimeout(s.expiryTimer);
    const set = byDevice.get(s.deviceId);
    set?.delete(client);
    if (set !== undefined && set.size === 0) byDevice.delete(s.deviceId);
  };

  const scheduleExpiry = (client: Client, session: Session, expiresAtMs: number | null): void => {
    if (session.expiryTimer !== undefined) clearTimeout(session.expiryTimer);
    session.expiryTimer = undefined;
    if (expiresAtMs === null) return;
    const delay = expiresAtMs - ctx.clock.now();
    if (delay <= 0) {
      client.close();
      return;
    }
    session.expiryTimer = setTimeout(() => client.close(), Math.min(delay, 2 ** 31 - 1));
    session.expiryTimer.unref();
  };

  const deviceCerts = ctx.config.tls.deviceCerts;
  aedes.authenticate = (client, username, password, done) => {
    if (ctx.shuttingDown() || ctx.committer.saturated || !ctx.storeHealth.writable) {
      // Not ready for readings (shutting down, shedding load, or the store fails commits): a
      // device connecting now could only be turned away at its first publish.
      done(authError('gateway busy', CONNACK_SERVER_UNAVAILABLE), false);
      return;
    }
    if (username === undefined) {
      done(authError('username (device id) and password (device secret) are required', CONNACK_BAD_CREDENTIALS), false);
      return;
    }
    const source = sourceAddressOf(client);
    // Mutual TLS (RPM_DEVICE_CLIENT_CERTS): the device ids a verified client certificate names.
    const transport = (client as unknown as { conn?: unknown }).conn;
    // TCP/TLS: the socket under the packet guard; MQTT over WebSocket: the upgrade request's socket (HTTPS).
    const inner = transport instanceof GuardedMqttConnection ? transport.transport : transport;
    const socket = certifiedDeviceIds(inner).length > 0 ? inner : (client as unknown as { req?: { socket?: unknown } }).req?.socket;
    const certIds = deviceCerts === 'off' ? [] : certifiedDeviceIds(socket);
    const accept = (auth: AuthenticatedDevice): void => {
      const will = (client as unknown as { _will?: { topic?: string } })._will;
      if (will?.topic !== undefined && !mayUseWill(auth.device.id, will.topic)) {
        done(authError(`will topic not allowed; use devices/${auth.device.id}/status`, CONNACK_NOT_AUTHORIZED), false);
        return;
      }
      const blockedMs = limiter.blockedForMs(auth.device.id);
      if (blockedMs > 0) {
        // Over its publish rate limit: reconnecting does not help until its window resets.
        done(authError(`publish rate limit reached; retry in ${Math.ceil(blockedMs / 1000)} s`, CONNACK_SERVER_UNAVAILABLE), false);
        return;
      }
      // Namespace the MQTT client id by device, so one device can never take over
      // (and disconnect) another device's session by reusing its client id.
      (client as { id: string }).id = `${auth.device.id}|${client.id}`;
      // Same device and client id as a live session: aedes closes that one for this (MQTT-3.1.4-2).
      const previous = (aedes as unknown as { clients: Record<string, Client | undefined> }).clients[client.id];
      if (previous !== undefined && previous !== client) replaced.add(previous);
      const session: Session = {
        deviceId: auth.device.id,
        credentialId: auth.credentialId,
        changesAtAuth: changes.get(auth.device.id) ?? 0,
        expiryTimer: undefined,
      };
      sessions.set(client, session);
      scheduleExpiry(client, session, auth.expiresAtMs);
      // Packets after the CONNECT may now reach aedes, up to the post-authentication size cap.
      packetGuardAuthenticated(client.conn);
      done(null, true);
    };
    const refuse = (err: unknown): void => {
      const code = isRpmError(err) ? err.code : 'RPM_ERR_INTERNAL';
      const returnCode =
        code === 'RPM_ERR_AUTH_DEVICE_REVOKED'
          ? CONNACK_NOT_AUTHORIZED
          : code === 'RPM_ERR_OVERLOADED' || code === 'RPM_ERR_INTERNAL' || code === 'RPM_ERR_SECRET_KEY_UNKNOWN'
            ? CONNACK_SERVER_UNAVAILABLE
            : CONNACK_BAD_CREDENTIALS;
      if (code === 'RPM_ERR_INTERNAL' || code === 'RPM_ERR_SECRET_KEY_UNKNOWN') ctx.log.error({ err }, 'mqtt authentication failed unexpectedly');
      if (code === 'RPM_ERR_AUTH_INVALID') void ctx.credentialGuard.denied('device-secret', source, 'MQTT CONNECT');
      done(authError(isRpmError(err) ? err.message : 'authentication failed', returnCode), false);
    };
    if (password === undefined) {
      // No secret: only a verified client certificate naming this device opens the session.
      const credentialId = certificateCredentialId(socket);
      if (!certIds.includes(username) || credentialId === undefined) {
        done(authError('username (device id) and password (device secret) are required', CONNACK_BAD_CREDENTIALS), false);
        return;
      }
      ctx.authenticator.authenticateCertificate(username, credentialId).then(accept, refuse);
      return;
    }
    if (deviceCerts === 'require' && !certIds.includes(username)) {
      done(authError('this gateway requires a client certificate naming the device', CONNACK_NOT_AUTHORIZED), false);
      return;
    }
    const secret = password.toString('utf8');
    // Wrong secrets are throttled by source like on HTTP; a secret verified before still connects.
    if (!ctx.authenticator.recognizes(secret)) {
      try {
        ctx.credentialGuard.check('device-secret', source);
      } catch (err) {
        done(authError(isRpmError(err) ? err.message : 'retry later', CONNACK_SERVER_UNAVAILABLE), false);
        return;
      }
    }
    ctx.authenticator.authenticate(secret, username).then((auth) => {
      // A certificate sent with a secret must name the same device.
      if (certIds.length > 0 && !certIds.includes(auth.device.id)) {
        done(authError('the client certificate names another device', CONNACK_BAD_CREDENTIALS), false);
        return;
      }
      accept(auth);
    }, refuse);
  };

  aedes.authorizeSubscribe = (client, sub, done) => {
    const s = sessions.get(client);
    // A refused subscription gets SUBACK 0x80 (MQTT 3.1.1 §3.9.3); the connection stays up.
    done(null, s !== undefined && maySubscribe(s.deviceId, sub.topic) ? sub : null);
  };

  aedes.authorizeForward = (client, packet) => {
    const s = sessions.get(client);
    return s !== undefined && mayReceive(s.deviceId, packet.topic) ? packet : null;
  };

  const publishError = (deviceId: string, body: unknown): void => {
    aedes.publish(
      { cmd: 'publish', topic: errorsTopic(deviceId), payload: Buffer.from(JSON.stringify(body)), qos: 1, retain: false, dup: false },
      (err) => {
        if (err !== undefined && err !== null) ctx.log.warn({ err, deviceId }, 'could not publish to errors topic');
      },
    );
  };

  const ingest = async (session: Session, packet: PublishPacket): Promise<void> => {
    const device = await ctx.authenticator.deviceById(session.deviceId);
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const receivedAtMs = ctx.clock.now();
    ctx.presence.seen(session.deviceId, receivedAtMs);
    let readings: unknown[] = [];
    let envelopeError: RpmError | undefined;
    try {
      // The same parser as HTTP bodies: one payload means the same on every input.
      readings = ctx.ingest.parseEnvelope(parseJsonPayload(payload, 'payload'));
    } catch (err) {
      envelopeError = isRpmError(err) ? err : new RpmError('RPM_ERR_REQUEST_MALFORMED_JSON', 'payload is not valid JSON', { path: '' });
    }
    if (envelopeError !== undefined) {
      // A malformed payload is acknowledged (so the device does not redeliver it forever),
      // recorded durably with its reason, and explained on the device's errors topic.
      const payloadSha256 = sha256Hex(payload);
      await ctx.committer.submit(
        {
          readings: [],
          rejections: [
            {
              deviceId: device.id,
              receivedAtMs,
              transport: 'mqtt',
              code: envelopeError.code,
              path: envelopeError.path ?? null,
              message: envelopeError.message,
              clientId: null,
              payloadSha256,
            },
          ],
        },
        // A publish cannot be refused: it waits for room, and aedes stops reading this socket meanwhile.
        { waitForCapacity: true },
      );
      publishError(device.id, {
        code: envelopeError.code,
        message: envelopeError.message,
        path: envelopeError.path ?? '',
        messageId: packet.messageId ?? null,
        payloadSha256,
      });
      return;
    }
    const result = await ctx.ingest.ingest({ device, readings, transport: 'mqtt', payloadSha256: null, waitForCapacity: true });
    if (result.rejected > 0) {
      publishError(device.id, {
        code: 'RPM_ERR_READING_REJECTED',
        message: `${result.rejected} of ${result.outcomes.length} readings were rejected`,
        messageId: packet.messageId ?? null,
        rejected: result.outcomes.filter((o) => o.status === 'rejected'),
      });
    }
  };

  aedes.authorizePublish = (client, packet, done) => {
    const session = client === null ? undefined : sessions.get(client);
    if (client === null || session === undefined) {
      done(new Error('not authenticated'));
      return;
    }
    if (client.closed && mayUseWill(session.deviceId, packet.topic)) {
      // aedes publishes the will of a dropped session through this hook; its topic was
      // checked at CONNECT, and status messages are not readings, so nothing is ingested.
      done(null);
      return;
    }
    // One trace per publish: the topic check, then ingest (normalization, commit) under this span.
    const span = tracer.startSpan('MQTT PUBLISH devices/{id}/readings', {
      kind: SpanKind.SERVER,
      attributes: { 'messaging.system': 'mqtt', 'messaging.operation.type': 'process', 'rpm.device.id': session.deviceId, 'mqtt.qos': packet.qos },
    });
    // The session's credentials were checked at CONNECT (and follow rotation and revocation); here the topic and the rate.
    const auth = tracer.startSpan('rpm.auth.publish', { attributes: { 'rpm.device.id': session.deviceId } }, trace.setSpan(context.active(), span));
    if (!mayPublish(session.deviceId, packet.topic)) {
      auth.setAttribute('rpm.error.code', 'RPM_ERR_AUTH_TOPIC_MISMATCH');
      auth.end();
      span.setAttribute('rpm.error.code', 'RPM_ERR_AUTH_TOPIC_MISMATCH');
      span.end();
      // MQTT 3.1.1 cannot refuse a PUBLISH; [MQTT-3.3.5-2] leaves acking-and-dropping or closing.
      // Dropping would look like success to the device, so we close the connection.
      ctx.log.info({ deviceId: session.deviceId }, 'publish to a topic outside the device namespace refused');
      done(new RpmError('RPM_ERR_AUTH_TOPIC_MISMATCH', `devices may publish only to devices/${session.deviceId}/readings`));
      return;
    }
    const rate = limiter.take(session.deviceId);
    auth.end();
    if (!rate.allowed) {
      span.setAttribute('rpm.error.code', 'RPM_ERR_RATE_LIMITED');
      span.end();
      refuseOverLimit(session.deviceId, packet, rate.retryAfterMs, rate.firstRefusal, done);
      return;
    }
    // Readings are history, not state: never keep one as a retained message.
    packet.retain = false;
    inFlight++;
    context.with(trace.setSpan(context.active(), span), () => ingest(session, packet)).then(
      () => {
        span.end();
        settle();
        done(null);
      },
      (err: unknown) => {
        failSpan(span, err);
        span.end();
        settle();
        // No PUBACK: aedes closes the connection and the device redelivers after reconnecting.
        if (!isRpmError(err) || (err.code !== 'RPM_ERR_SHUTTING_DOWN' && err.code !== 'RPM_ERR_STORE_FAILURE')) {
          ctx.log.error({ err, deviceId: session.deviceId }, 'mqtt ingest failed');
        }
        done(err instanceof Error ? err : new Error('ingest failed'));
      },
    );
  };

  /**
   * A publish over the device's rate limit. MQTT 3.1.1 has no negative PUBACK, and acknowledging
   * a reading that is then dropped would tell the device it was stored. So it is not processed and
   * not acknowledged: the reason goes to the device's errors topic (once per window), then the
   * connection is closed; the device keeps the publish and redelivers it after reconnecting, and
   * CONNECTs are answered CONNACK 3 until its window resets.
   */
  const refuseOverLimit = (deviceId: string, packet: PublishPacket, retryAfterMs: number, explain: boolean, done: (err?: Error | null) => void): void => {
    rateLimited++;
    const retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    const max = ctx.config.mqtt.publishRateLimitPerDevicePerMin;
    const refusal = new RpmError('RPM_ERR_RATE_LIMITED', `at most ${max} publishes per minute per device; not stored, redeliver in ${retryAfterSeconds} s`, {
      retryAfterSeconds,
    });
    if (!explain) {
      // Publishes of the same batch: the connection closes once the explanation has gone out.
      void (explaining.get(deviceId) ?? Promise.resolve()).then(() => done(refusal));
      return;
    }
    ctx.log.info({ deviceId, retryAfterSeconds }, 'mqtt publish rate limit reached; closing the connection without PUBACK');
    const explained = new Promise<void>((resolve) => {
      aedes.publish(
        {
          cmd: 'publish',
          topic: errorsTopic(deviceId),
          payload: Buffer.from(JSON.stringify({ code: refusal.code, message: refusal.message, messageId: packet.messageId ?? null, retryAfterSeconds })),
          qos: 1,
          retain: false,
          dup: false,
        },
        () => resolve(),
      );
    });
    explaining.set(deviceId, explained);
    // Closed only once the explanation is on its way to a subscribed device.
    void explained.then(() => {
      if (explaining.get(deviceId) === explained) explaining.delete(deviceId);
      done(refusal);
    });
  };

  const settle = (): void => {
    inFlight--;
    if (inFlight === 0) {
      const waiters = drainWaiters;
      drainWaiters = [];
      for (const w of waiters) w();
    }
  };

  aedes.on('client', (client) => {
    const s = sessions.get(client);
    if (s === undefined) return;
    ctx.log.info({ deviceId: s.deviceId }, 'device connected');
    ctx.metrics.mqttSession('connected');
    let set = byDevice.get(s.deviceId);
    if (set === undefined) {
      set = new Set();
      byDevice.set(s.deviceId, set);
    }
    set.add(client);
    ctx.presence.connected(s.deviceId, ctx.clock.now());
    // A rotation or revocation between authentication and registration found no session to close.
    if ((changes.get(s.deviceId) ?? 0) !== s.changesAtAuth) recheck(client, s);
  });

  aedes.on('clientDisconnect', (client) => {
    const s = sessions.get(client);
    if (s === undefined) return;
    if (replaced.has(client)) {
      ctx.log.info({ deviceId: s.deviceId }, 'device session taken over by a new connection with the same client id');
      ctx.metrics.mqttSession('taken-over');
    } else {
      ctx.log.info({ deviceId: s.deviceId }, 'device disconnected');
    }
    ctx.metrics.mqttSession('disconnected');
    forget(client);
    ctx.presence.disconnected(s.deviceId, ctx.clock.now());
  });

  // Without a listener an 'error' (e.g. from persistence) would crash the process.
  (aedes as unknown as NodeJS.EventEmitter).on('error', (err: unknown) => ctx.log.error({ err }, 'mqtt broker error'));
  aedes.on('clientError', (client, err) => {
    ctx.log.debug({ err: err.message, deviceId: sessions.get(client)?.deviceId }, 'mqtt client error');
  });
  aedes.on('connectionError', (_client, err) => {
    ctx.log.debug({ err: err.message }, 'mqtt connection error');
  });

  const recheck = (client: Client, s: Session): void => {
    ctx.authenticator.credentialStatus(s.credentialId, s.deviceId).then(
      (status) => {
        if (status.state === 'live') scheduleExpiry(client, s, status.expiresAtMs);
        else client.close();
      },
      (err: unknown) => {
        ctx.log.error({ err, deviceId: s.deviceId }, 'could not re-check credentials; closing session');
        client.close();
      },
    );
  };

  // Revocation and rotation reach open sessions at once.
  ctx.registry.onCredentialsChanged((deviceId) => {
    changes.set(deviceId, (changes.get(deviceId) ?? 0) + 1);
    const clients = byDevice.get(deviceId);
    if (clients === undefined) return;
    for (const client of [...clients]) {
      const s = sessions.get(client);
      if (s !== undefined) recheck(client, s);
    }
  });

  return {
    aedes,
    // The CONNECT is checked for what aedes gets wrong (protocol level, empty client id) first.
    handle: (stream, req) => gateConnect(stream, () => aedes.handle(stream, req), connectTimeoutMs),
    inFlight: () => inFlight,
    rateLimited: () => rateLimited,
    drained: () => (inFlight === 0 ? Promise.resolve() : new Promise((resolve) => drainWaiters.push(resolve))),
    sendCommand: (deviceId, body) =>
      new Promise((resolve, reject) => {
        const topic = commandsTopic(deviceId);
        aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(JSON.stringify(body)), qos: 1, retain: false, dup: false }, (err) => {
          if (err !== undefined && err !== null) reject(new RpmError('RPM_ERR_BROKER_UNAVAILABLE', 'the command could not be handed to the broker; try again'));
          else resolve(topic);
        });
      }),
    close: () => new Promise<void>((resolve) => aedes.close(() => resolve())),
  };
}
