import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { type RelayedSpan, RelayingSpanProcessor, spanFromRelay } from './span-relay.js';

export interface Tracing {
  /** Flushes the spans still buffered and stops exporting. */
  shutdown(): Promise<void>;
}

/**
 * Whether to trace: configured the standard way, off unless an OTLP endpoint is named
 * (OTEL_EXPORTER_OTLP_ENDPOINT, or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), and never with
 * OTEL_SDK_DISABLED=true. Off, the OpenTelemetry API is a no-op and costs nothing measurable.
 */
export function tracingConfigured(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED === 'true') return false;
  return (env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '') !== '' || (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? '') !== '';
}

/** The span processors of the tracing started in this thread: where spans relayed from other threads go. */
const processors = new Set<SpanProcessor>();

function startSdk(serviceName: string, processor: SpanProcessor): Tracing {
  const sdk = new NodeSDK({
    serviceName,
    spanProcessors: [processor],
    instrumentations: [],
    // Traces only: our logs go to stdout (pino, with trace ids), our metrics to /metrics.
    logRecordProcessors: [],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}

/**
 * Starts the OpenTelemetry SDK for traces only (no automatic instrumentation: the spans are the
 * gateway's own, core/tracing.ts), exporting over OTLP/HTTP as the OTEL_* variables say (endpoint,
 * headers, sampler, OTEL_SERVICE_NAME, default `rpm-gateway`). Tests pass an in-memory exporter.
 * Must run before the gateway starts, so its first requests are traced.
 */
export function startTracing(options: { readonly exporter?: SpanExporter; readonly serviceName?: string; readonly synchronous?: boolean } = {}): Tracing {
  const exporter = options.exporter ?? new OTLPTraceExporter();
  const processor = options.synchronous === true ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter);
  const sdk = startSdk(options.serviceName ?? process.env.OTEL_SERVICE_NAME ?? 'rpm-gateway', processor);
  processors.add(processor);
  return {
    shutdown: async () => {
      processors.delete(processor);
      await sdk.shutdown();
    },
  };
}

/** Whether this thread started tracing (startTracing): a thread it starts then traces too, through it. */
export function tracingStarted(): boolean {
  return processors.size > 0;
}

/** A span finished in another thread of this process (startRelayedTracing there): exported with this thread's spans. */
export function exportRelayedSpan(span: RelayedSpan): void {
  if (processors.size === 0) return;
  const readable = spanFromRelay(span);
  for (const p of processors) p.onEnd(readable);
}

/**
 * Tracing in a worker thread whose parent traces: spans are recorded here (sampled as the OTEL_*
 * variables say, in the thread's own context) and each finished one is handed to `send`, for the
 * parent's exporter (exportRelayedSpan there). No exporter, connection or buffer of its own.
 */
export function startRelayedTracing(send: (span: RelayedSpan) => void): Tracing {
  return startSdk(process.env.OTEL_SERVICE_NAME ?? 'rpm-gateway', new RelayingSpanProcessor(send));
}
