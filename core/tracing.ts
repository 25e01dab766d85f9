import {
  type Attributes,
  type Context,
  context,
  isSpanContextValid,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';

/**
 * Tracing through the OpenTelemetry API only: without an SDK (OTEL_EXPORTER_OTLP_ENDPOINT unset,
 * connectors/telemetry/otel-sdk.ts) every call here is a no-op. Attributes carry ids the audit rules allow
 * (device, alert, rule, destination, organization) and counts, never a patient id, a value, a
 * payload or a credential.
 */
export const tracer = trace.getTracer('rpm-gateway');

export { SpanKind };

/** Runs `fn` in a new active span; an error sets the span's status to its code (never its message, which may quote input). */
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T> | T,
  options: { readonly kind?: SpanKind; readonly links?: Link[]; readonly parent?: Context } = {},
): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer.startSpan(name, { attributes, kind: options.kind ?? SpanKind.INTERNAL, ...(options.links === undefined ? {} : { links: options.links }) }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    failSpan(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** An error's stable code on the span (our RpmError codes, Node's errno codes), never its message. */
export function failSpan(span: Span, err: unknown): void {
  const code = typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : 'error';
  span.setStatus({ code: SpanStatusCode.ERROR, message: code });
  span.setAttribute('rpm.error.code', code);
}

/** The active span's context, when it is being recorded (sampled): the only ones worth remembering. */
export function activeSampledContext(): SpanContext | undefined {
  const sc = trace.getActiveSpan()?.spanContext();
  return sc !== undefined && isSpanContextValid(sc) && (sc.traceFlags & TraceFlags.SAMPLED) !== 0 ? sc : undefined;
}

/** A context whose parent is the remembered span (work continued later, elsewhere in the process). */
export function contextOf(sc: SpanContext): Context {
  return trace.setSpanContext(ROOT_CONTEXT, sc);
}

/**
 * The trace each piece of work belongs to, kept in memory (bounded, oldest forgotten first) from
 * where a request handed it on to where asynchronous work picks it up: readings from their commit
 * to the rules pass that judges them and the FHIR exchange that delivers them; alerts from the
 * span that raised them to the escalation SMS. Only sampled contexts are kept, so with tracing off
 * nothing is. Across processes (the distributed mode) the context travels as a `traceparent`
 * string in the job data instead (traceparentOf / fromTraceparent).
 */
export class RecentTraces {
  private readonly entries = new Map<string, SpanContext>();
  constructor(private readonly max: number) {}

  remember(key: string, sc: SpanContext): void {
    this.entries.delete(key);
    this.entries.set(key, sc);
    if (this.entries.size > this.max) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  get(key: string): SpanContext | undefined {
    return this.entries.get(key);
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Reading id → the span of the request or publish that committed it. */
export const readingTraces = new RecentTraces(50_000);
/** Alert id → the span that raised it. */
export const alertTraces = new RecentTraces(10_000);

/** W3C `traceparent` of a span context, for job data handed to another process. */
export function traceparentOf(sc: SpanContext | undefined): string | undefined {
  if (sc === undefined) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(contextOf(sc), carrier);
  return carrier.traceparent;
}

/** The context a `traceparent` from job data names (ROOT_CONTEXT when absent or not understood). */
export function fromTraceparent(traceparent: string | undefined): Context {
  if (traceparent === undefined) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, { traceparent });
}

/** The span context a `traceparent` names (undefined when it is not one). */
export function spanContextOf(traceparent: string): SpanContext | undefined {
  return trace.getSpanContext(fromTraceparent(traceparent));
}

/** At most this many links per span: a pass of thousands of readings links to a sample of them. */
export const MAX_LINKS = 64;

export function linksTo(contexts: Iterable<SpanContext>): Link[] {
  const links: Link[] = [];
  for (const sc of contexts) {
    if (links.length >= MAX_LINKS) break;
    links.push({ context: sc });
  }
  return links;
}

/** Trace and span ids of the active span for log lines (pino mixin): log lines of traced work name their trace. */
export function traceFields(): { trace_id?: string; span_id?: string; trace_flags?: string } {
  const sc = trace.getActiveSpan()?.spanContext();
  if (sc === undefined || !isSpanContextValid(sc)) return {};
  return { trace_id: sc.traceId, span_id: sc.spanId, trace_flags: `0${sc.traceFlags.toString(16)}` };
}
