/**
 * Traces with OpenTelemetry, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set. One trainee change is
 * one trace: the upstream PUT (a server span, continuing the caller's `traceparent` if it sent one),
 * its Postgres statements (Prisma's own instrumentation), the outbox row, which keeps the trace
 * context (`sync_tasks.trace_context`) so that the dispatcher adds the BullMQ job inside it
 * (bullmq-otel: producer and consumer spans), and each call the job makes to the teacher records
 * API (a client span, and `traceparent` on the request). Log lines written inside a span carry its
 * `trace_id` and `span_id`.
 *
 * Why spans are made by hand for HTTP rather than by @opentelemetry/instrumentation-http: this is
 * an ESM program, and module-patching instrumentations only see what is loaded through require();
 * got and express are reached through ESM imports, so those spans would come and go with how each
 * package is loaded. Prisma's and BullMQ's instrumentations do not patch modules (Prisma reads a
 * global its client looks for; BullMQ takes the telemetry object as an option), so they are used.
 *
 * With tracing off the OpenTelemetry API is a no-op: no spans, no trace context stored, nothing sent.
 */
import { context, propagation, trace, SpanKind, SpanStatusCode, type Context, type Span } from "@opentelemetry/api";
import { BullMQOtel } from "bullmq-otel";

const tracerName = "trs-sync";
let enabled = false;

/** telemetry.ts turns this on when it starts tracing */
export function setTracing(on: boolean): void {
  enabled = on;
}

/** BullMQ's telemetry option for queues and workers: bullmq-otel while tracing is on. */
export function bullmqTelemetry(): { telemetry: BullMQOtel } | Record<string, never> {
  return enabled ? { telemetry: new BullMQOtel({ tracerName }) } : {};
}

const tracer = () => trace.getTracer(tracerName);

/** The active trace context as a W3C `traceparent`, to keep beside work done later; null when off. */
export function currentTraceparent(): string | null {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ?? null;
}

/** Runs `work` inside the trace a stored `traceparent` names (or as it is, without one). */
export function withTraceparent<T>(traceparent: string | null | undefined, work: () => T): T {
  if (!traceparent) return work();
  return context.with(propagation.extract(context.active(), { traceparent }), work);
}

/** The ids for a log line written inside a span. */
export function traceIds(): { trace_id: string; span_id: string } | Record<string, never> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/** A span around one call to the teacher records API; `headers` gains `traceparent`. */
export async function inClientSpan<T>(
  options: { method: string; endpoint: string; headers: Record<string, string> },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer().startActiveSpan(
    `${options.method} ${options.endpoint}`,
    { kind: SpanKind.CLIENT, attributes: { "http.request.method": options.method, "url.template": options.endpoint } },
    async (span) => {
      propagation.inject(context.active(), options.headers);
      try {
        return await work(span);
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** The server span of an incoming request, continuing the caller's trace; ended by `end`. */
export function startServerSpan(
  method: string,
  headers: Record<string, string | string[] | undefined>,
): { context: Context; end(route: string, status: number): void } {
  const parent = propagation.extract(context.active(), headers);
  const span = tracer().startSpan(method, { kind: SpanKind.SERVER, attributes: { "http.request.method": method } }, parent);
  return {
    context: trace.setSpan(parent, span),
    end(route, status) {
      span.updateName(`${method} ${route}`);
      span.setAttributes({ "http.route": route, "http.response.status_code": status });
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    },
  };
}
