import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';

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

/**
 * Starts the OpenTelemetry SDK for traces only (no automatic instrumentation: the spans are the
 * gateway's own, core/tracing.ts), exporting over OTLP/HTTP as the OTEL_* variables say (endpoint,
 * headers, sampler, OTEL_SERVICE_NAME, default `rpm-gateway`). Tests pass an in-memory exporter.
 * Must run before the gateway starts, so its first requests are traced.
 */
export function startTracing(options: { readonly exporter?: SpanExporter; readonly serviceName?: string; readonly synchronous?: boolean } = {}): Tracing {
  const exporter = options.exporter ?? new OTLPTraceExporter();
  const sdk = new NodeSDK({
    serviceName: options.serviceName ?? process.env.OTEL_SERVICE_NAME ?? 'rpm-gateway',
    spanProcessors: [options.synchronous === true ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter)],
    instrumentations: [],
    // Traces only: our logs go to stdout (pino, with trace ids), our metrics to /metrics.
    logRecordProcessors: [],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
