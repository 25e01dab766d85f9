import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BullWorkBus } from '../connectors/redis/bullmq-work-bus.js';
import { partitionOf } from '../core/cluster/partitions.js';
import { createLogger } from '../core/logging.js';
import type { Reading } from '../core/model/reading.js';
import type { WorkJob } from '../core/ports/work-bus.js';
import { activeSampledContext, fromTraceparent, readingTraces, tracer } from '../core/tracing.js';
import { rulesUnit } from '../pipeline/cluster/units.js';
import { WorkHandoff } from '../pipeline/cluster/work-handoff.js';
import { continuingTrace } from '../worker/units.js';
import { startTracing, type Tracing } from '../connectors/telemetry/otel-sdk.js';
import { dropRedisPrefix, freshRedisPrefix, REDIS_TEST_URL, requireRedis } from './helpers/redis.js';

/**
 * The distributed mode hands work to other processes through the bus: the nudge carries the
 * committing request's trace as a W3C `traceparent` in its job data, so the worker that picks it
 * up can continue (or link to) that trace. Through the real BullMQ bus on the real Redis.
 */
describe('trace context in the work hand-off (distributed mode)', () => {
  const exporter = new InMemorySpanExporter();
  const prefix = freshRedisPrefix();
  let tracing: Tracing;
  let bus: BullWorkBus;

  beforeAll(async () => {
    await requireRedis();
    tracing = startTracing({ exporter, synchronous: true });
    bus = new BullWorkBus({ url: REDIS_TEST_URL, prefix });
  });
  afterAll(async () => {
    await bus?.close();
    await tracing?.shutdown();
    await dropRedisPrefix(prefix);
  });

  it('puts the traceparent of the commit span in the job data of the rules partition it nudges', async () => {
    const partitions = 4;
    const reading = { id: 'r-handoff-1', patientId: 'p-handoff' } as unknown as Reading;
    const unit = rulesUnit({ index: partitionOf('p-handoff', partitions), count: partitions });
    const jobs: WorkJob[] = [];
    const stop = await bus.consume(unit, async (job) => void jobs.push(job));
    const handoff = new WorkHandoff({ bus, log: createLogger('silent'), partitions, destinations: () => [], timeSeries: false });
    const span = tracer.startSpan('rpm.commit');
    context.with(trace.setSpan(ROOT_CONTEXT, span), () => {
      const sc = activeSampledContext();
      expect(sc).toBeDefined();
      if (sc !== undefined) readingTraces.remember(reading.id, sc);
      handoff.committed([reading], [{ status: 'accepted', id: reading.id, seq: 42 }]);
    });
    span.end();
    const deadline = Date.now() + 10_000;
    while (jobs.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await stop();
    const { traceId, spanId } = span.spanContext();
    expect(jobs).toEqual([{ name: 'committed', data: { seq: 42, traceparent: `00-${traceId}-${spanId}-01` } }]);
    // The worker's side: the traceparent names the commit span as the parent of what it does next.
    const continued = trace.getSpanContext(fromTraceparent(jobs[0]?.data.traceparent as string));
    expect(continued).toMatchObject({ traceId, spanId, isRemote: true });
  });

  it("continues the gateway's trace in the worker: the job's handler runs in a consumer span of that trace", async () => {
    const unit = 'fhir:trace-test';
    const origin = tracer.startSpan('rpm.commit');
    origin.end();
    const { traceId, spanId } = origin.spanContext();
    let innerTrace: string | undefined;
    const done = new Promise<void>((resolve) => {
      void bus
        .consume(
          unit,
          continuingTrace(unit, async () => {
            innerTrace = trace.getActiveSpan()?.spanContext().traceId;
            resolve();
          }),
        )
        .then((stop) => done.then(stop));
    });
    await bus.post([{ unit, job: { name: 'committed', data: { seq: 1, traceparent: `00-${traceId}-${spanId}-01` } } }]);
    await done;
    expect(innerTrace).toBe(traceId);
    // The consumer span ends once the handler has returned.
    const deadline = Date.now() + 5000;
    while (!exporter.getFinishedSpans().some((s) => s.name === 'worker committed') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const consumer = exporter.getFinishedSpans().find((s) => s.name === 'worker committed');
    expect(consumer?.spanContext().traceId).toBe(traceId);
    expect(consumer?.parentSpanContext?.spanId ?? (consumer as unknown as { parentSpanId?: string })?.parentSpanId).toBe(spanId);
  });
});
