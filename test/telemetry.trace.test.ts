/**
 * One trace for one trainee change (issue 11 item 2), recorded by an in-memory exporter: the
 * upstream PUT, the Postgres statements under it, the BullMQ job the outbox became, and the calls
 * the job made to the teacher records API, which received the trace's `traceparent`.
 */
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../src/logger.js";
import { startTelemetry, type Telemetry } from "../src/telemetry.js";
import { startHarness, type Harness } from "./support/harness.js";
import { traineeDoc } from "./support/documents.js";

const exporter = new InMemorySpanExporter();
let telemetry: Telemetry | null;
let harness: Harness;
beforeAll(async () => {
  // before the harness makes its Prisma client, queues and workers
  telemetry = startTelemetry({ serviceName: "trs-sync-test", exporter });
  harness = await startHarness();
});
afterAll(async () => {
  await harness?.stop();
  await telemetry?.shutdown(); // tracing off again for whatever runs next in this process
});

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe("tracing", () => {
  it("follows one trainee change from the PUT through the outbox and the job to TRS", async () => {
    const h = harness;
    const doc = traineeDoc();
    // the upstream application's own trace continues here
    const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
    const response = await h.api.put(doc.slug, doc, { traceparent: `00-${callerTrace}-00f067aa0ba902b7-01` });
    expect(response.status).toBe(201);
    await h.waitFor("TRN and the update sent", async () => {
      const t = await h.trainee(doc.slug);
      return t.trn && t.sync.pending.length === 0;
    });
    // a job records its outcome before its processor returns, and its span ends only then
    const traced = () => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === callerTrace);
    const jobsEnded = () => traced().filter((s) => s.name === "process teacher-records").length >= 2;
    await h.waitFor("both jobs' spans ended", async () => {
      await telemetry!.flush();
      return jobsEnded();
    });
    const spans = traced();

    if (process.env.PRINT_TRACE) {
      const depth = (s: ReadableSpan): number => {
        const parent = spans.find((p) => p.spanContext().spanId === parentOf(s));
        return parent ? depth(parent) + 1 : 0;
      };
      const t0 = Math.min(...spans.map((s) => s.startTime[0] * 1e3 + s.startTime[1] / 1e6));
      for (const s of [...spans].sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1])) {
        if (s.name.startsWith("prisma:engine") || s.name.startsWith("prisma:client:serialize")) continue;
        const at = s.startTime[0] * 1e3 + s.startTime[1] / 1e6 - t0;
        const ms = s.duration[0] * 1e3 + s.duration[1] / 1e6;
        console.log(`${"  ".repeat(depth(s))}${s.name}  +${at.toFixed(0)}ms ${ms.toFixed(1)}ms`);
      }
    }
    const put = spans.find((s) => s.name === "PUT /api/v1/trainees/:slug");
    expect(put, spans.map((s) => s.name).join(", ")).toBeDefined();
    expect(put!.attributes["http.response.status_code"]).toBe(201);
    // Prisma's statements of the PUT, under it
    expect(spans.some((s) => s.name.startsWith("prisma:") && s.startTime >= put!.startTime)).toBe(true);
    // the BullMQ jobs made from the outbox rows, and what they sent to TRS, in the same trace
    const jobSpans = spans.filter((s) => /register-for-trn|update-trainee/.test(s.name));
    expect(jobSpans.length).toBeGreaterThanOrEqual(2);
    const calls = spans.filter((s) => s.name === "POST /v3/trn-requests" || s.name === "PUT /v3/persons/{trn}");
    expect(calls.map((s) => s.name).sort()).toEqual(["POST /v3/trn-requests", "PUT /v3/persons/{trn}"]);
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    for (const call of calls) {
      // each call hangs, through its job, from the PUT
      let ancestor: ReadableSpan | undefined = call;
      while (ancestor && ancestor !== put) ancestor = byId.get(parentOf(ancestor) ?? "");
      expect(ancestor, `${call.name} under the PUT`).toBe(put);
    }
    // and TRS was told which trace each request belongs to
    const sent = h.sandbox.requestLog().filter((r) => r.path === "/v3/trn-requests" && r.method === "POST");
    expect(sent.at(-1)?.traceparent).toMatch(new RegExp(`^00-${callerTrace}-`));
  });

  it("names the trace in log lines written inside a span", async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: "info",
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    });
    const { trace } = await import("@opentelemetry/api");
    trace.getTracer("test").startActiveSpan("work", (span) => {
      logger.info("inside");
      span.end();
    });
    logger.info("outside");
    const [inside, outside] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(inside!.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(outside!.trace_id).toBeUndefined();
  });
});
