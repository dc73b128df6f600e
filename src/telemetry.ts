/**
 * Starts OpenTelemetry tracing in a process (trace-context.ts says what is traced, and how).
 * Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set; the exporter reads the standard OTEL_EXPORTER_OTLP_*
 * variables itself. Kept apart from trace-context.ts so that only the processes that trace load the SDK.
 */
import { context, propagation, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { PrismaInstrumentation, registerInstrumentations } from "@prisma/instrumentation";
import { setTracing } from "./trace-context.js";

export interface Telemetry {
  /** sends what is buffered and turns tracing off again */
  shutdown(): Promise<void>;
  /** sends what is buffered (tests) */
  flush(): Promise<void>;
}

/**
 * Starts tracing for this process when `endpoint` (OTEL_EXPORTER_OTLP_ENDPOINT) or an `exporter`
 * (tests) is given; otherwise returns null and everything stays a no-op. Call it before any queue,
 * worker or Prisma client is created.
 */
export function startTelemetry(options: { serviceName: string; endpoint?: string | undefined; exporter?: SpanExporter }): Telemetry | null {
  if (!options.endpoint && !options.exporter) return null;
  // the exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (and _TRACES_ENDPOINT, _HEADERS) itself
  const processor = options.exporter ? new SimpleSpanProcessor(options.exporter) : new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": options.serviceName, "service.namespace": "trs-sync" }),
    spanProcessors: [processor],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  const prisma = new PrismaInstrumentation();
  const unregister = registerInstrumentations({ tracerProvider: provider, instrumentations: [prisma] });
  setTracing(true);
  return {
    flush: () => provider.forceFlush(),
    async shutdown() {
      setTracing(false);
      unregister();
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
