import type { Attributes, HrTime, SpanContext, SpanKind, SpanStatus } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan, SpanProcessor, TimedEvent } from '@opentelemetry/sdk-trace-base';

/**
 * Finished spans across a thread boundary. The single process's rules thread records its spans
 * (the rules pass, each verdict, the alerts it raises) with a tracer of its own, and hands each
 * finished span to the main thread as plain data (structured clone: no functions, no class
 * instances); the main thread gives it to its own span processors, so one exporter (OTLP, or a
 * test's in-memory one) sees the whole process's spans, in the traces of the requests they follow.
 */

interface PlainSpanContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly isRemote?: boolean;
  /** W3C tracestate, serialized (a TraceState instance would lose its methods on the way). */
  readonly traceState?: string;
}

export interface RelayedSpan {
  readonly name: string;
  readonly kind: SpanKind;
  readonly context: PlainSpanContext;
  readonly parent?: PlainSpanContext;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly duration: HrTime;
  readonly status: SpanStatus;
  readonly attributes: Attributes;
  readonly links: readonly { readonly context: PlainSpanContext; readonly attributes?: Attributes; readonly droppedAttributesCount?: number }[];
  readonly events: readonly TimedEvent[];
  readonly resource: Attributes;
  readonly scope: { readonly name: string; readonly version?: string; readonly schemaUrl?: string };
  readonly dropped: { readonly attributes: number; readonly events: number; readonly links: number };
}

function plain(sc: SpanContext): PlainSpanContext {
  const traceState = sc.traceState?.serialize();
  return {
    traceId: sc.traceId,
    spanId: sc.spanId,
    traceFlags: sc.traceFlags,
    ...(sc.isRemote === undefined ? {} : { isRemote: sc.isRemote }),
    ...(traceState === undefined || traceState === '' ? {} : { traceState }),
  };
}

function spanContext(p: PlainSpanContext): SpanContext {
  return {
    traceId: p.traceId,
    spanId: p.spanId,
    traceFlags: p.traceFlags,
    ...(p.isRemote === undefined ? {} : { isRemote: p.isRemote }),
    ...(p.traceState === undefined ? {} : { traceState: new TraceState(p.traceState) }),
  };
}

/** A finished span as plain data. */
export function relayableSpan(span: ReadableSpan): RelayedSpan {
  const scope = span.instrumentationScope;
  return {
    name: span.name,
    kind: span.kind,
    context: plain(span.spanContext()),
    ...(span.parentSpanContext === undefined ? {} : { parent: plain(span.parentSpanContext) }),
    startTime: span.startTime,
    endTime: span.endTime,
    duration: span.duration,
    status: { code: span.status.code, ...(span.status.message === undefined ? {} : { message: span.status.message }) },
    attributes: span.attributes,
    links: span.links.map((l) => ({
      context: plain(l.context),
      ...(l.attributes === undefined ? {} : { attributes: l.attributes }),
      ...(l.droppedAttributesCount === undefined ? {} : { droppedAttributesCount: l.droppedAttributesCount }),
    })),
    events: span.events,
    resource: span.resource.attributes,
    scope: { name: scope.name, ...(scope.version === undefined ? {} : { version: scope.version }), ...(scope.schemaUrl === undefined ? {} : { schemaUrl: scope.schemaUrl }) },
    dropped: { attributes: span.droppedAttributesCount, events: span.droppedEventsCount, links: span.droppedLinksCount },
  };
}

/** The span again, as a span processor takes it. */
export function spanFromRelay(s: RelayedSpan): ReadableSpan {
  const own = spanContext(s.context);
  return {
    name: s.name,
    kind: s.kind,
    spanContext: () => own,
    ...(s.parent === undefined ? {} : { parentSpanContext: spanContext(s.parent) }),
    startTime: s.startTime,
    endTime: s.endTime,
    duration: s.duration,
    status: s.status,
    attributes: s.attributes,
    links: s.links.map((l) => ({
      context: spanContext(l.context),
      ...(l.attributes === undefined ? {} : { attributes: l.attributes }),
      ...(l.droppedAttributesCount === undefined ? {} : { droppedAttributesCount: l.droppedAttributesCount }),
    })),
    events: [...s.events],
    ended: true,
    resource: resourceFromAttributes(s.resource),
    instrumentationScope: s.scope,
    droppedAttributesCount: s.dropped.attributes,
    droppedEventsCount: s.dropped.events,
    droppedLinksCount: s.dropped.links,
  };
}

/** A span processor that hands every finished span to `send` as plain data (the thread's side). */
export class RelayingSpanProcessor implements SpanProcessor {
  constructor(private readonly send: (span: RelayedSpan) => void) {}

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    this.send(relayableSpan(span));
  }

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {}
}
