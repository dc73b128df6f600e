import { afterEach, describe, expect, it } from "vitest";
import got from "got";
import { startMetricsServer } from "../../src/metrics-server.js";
import { createApp } from "../../src/web/app.js";
import { startHarness, type Harness } from "../support/harness.js";
import { traineeDoc } from "../support/documents.js";
import { createTestWorld, eventually } from "../support/context.js";
import { serve } from "../support/http.js";
import { privateRedis } from "../support/private-redis.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

const fetchText = async (url: string) => {
  const response = await got(url, { throwHttpErrors: false, retry: { limit: 0 } });
  return { status: response.statusCode, body: response.body };
};

/** Prometheus text as families: every sample line under one HELP and TYPE, each family in one piece. */
function families(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = "";
  for (const line of text.split("\n").filter(Boolean)) {
    const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
    if (meta) {
      if (meta[1] === "HELP") {
        expect(out.has(meta[2]!), `family ${meta[2]} appears twice`).toBe(false);
        current = meta[2]!;
        out.set(current, []);
      }
      continue;
    }
    const name = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line)![1]!;
    expect(name.startsWith(current), `${name} outside its family ${current}`).toBe(true);
    out.get(current)!.push(line);
  }
  return out;
}

/** The value of the sample with that name whose labels include `labels` (in any order), or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? "").matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => have[key] === value)) return Number(match[3]);
  }
  return undefined;
}

describe("/metrics", () => {
  it("web: jobs not finished by queue, name and state, failed jobs by class, BullMQ's queue metrics, process metrics; worker: job durations, waits, failures and API requests", async () => {
    harness = await startHarness();
    const ok = traineeDoc();
    const refused = traineeDoc({ lastName: "Refused +reject" });
    await harness.api.put(ok.slug, ok);
    await harness.api.put(refused.slug, refused);
    await harness.waitFor("both settled", async () => {
      const [a, b] = [await harness!.trainee(ok.slug), await harness!.trainee(refused.slug)];
      return a.trn && a.sync.pending.length === 0 && b.sync.failed.length === 1;
    });
    const deps = harness.world.deps;
    deps.metrics.collectProcessMetrics({ process: "web" });
    const web = await serve(createApp(deps, harness.world.queues));
    const worker = await startMetricsServer({ metrics: deps.metrics, port: 0, token: undefined, logger: deps.logger });
    try {
      const { status, body } = await fetchText(`${web.url}/metrics`);
      expect(status).toBe(200);
      const webFamilies = families(body);
      expect(sample(body, "trs_sync_jobs", { queue: "teacher-records", name: "register-for-trn", state: "failed" })).toBe(1);
      expect(body).not.toMatch(/trs_sync_jobs\{[^}]*state="succeeded"/); // finished work is counted by the workers
      expect(sample(body, "trs_sync_failed_jobs", { error_class: "validation_failed" })).toBe(1);
      expect(sample(body, "bullmq_job_count", { queue: "teacher-records", state: "failed" })).toBeGreaterThanOrEqual(1);
      expect(sample(body, "bullmq_job_count", { queue: "alerts", state: "waiting" })).toBe(0);
      expect(webFamilies.get("bullmq_job_count")!.length).toBeGreaterThan(7); // both queues in one family
      expect(sample(body, "process_cpu_seconds_total", { process: "web" })).toBeGreaterThan(0);
      expect(sample(body, "trs_sync_scrape_source_up", { source: "postgres" })).toBe(1);
      expect(sample(body, "trs_sync_scrape_source_up", { source: "redis" })).toBe(1);

      const scraped = (await fetchText(`${worker.url}/metrics`)).body;
      families(scraped);
      const api = "trs_sync_api_request_duration_seconds";
      expect(sample(scraped, `${api}_count`, { endpoint: "POST /v3/trn-requests", status: "200" })).toBe(1);
      expect(sample(scraped, `${api}_count`, { endpoint: "POST /v3/trn-requests", status: "400" })).toBe(1);
      // a person TRS created now refuses personal-detail updates (10041, counted as accepted)
      expect(sample(scraped, `${api}_bucket`, { endpoint: "PUT /v3/persons/{trn}", status: "400", le: "+Inf" })).toBe(1);
      const register = { queue: "teacher-records", name: "register-for-trn" };
      expect(sample(scraped, "trs_sync_job_duration_seconds_count", { ...register, outcome: "completed" })).toBe(1);
      expect(sample(scraped, "trs_sync_job_duration_seconds_count", { ...register, outcome: "failed_for_good" })).toBe(1);
      expect(sample(scraped, "trs_sync_job_wait_seconds_count", register)).toBe(2);
      expect(sample(scraped, "trs_sync_job_failures_total", { ...register, error_class: "validation_failed" })).toBe(1);
      expect(
        sample(scraped, "trs_sync_job_duration_seconds_count", { queue: "teacher-records", name: "update-trainee", outcome: "completed" }),
      ).toBe(1);
    } finally {
      await worker.close();
      await web.close();
    }
  });

  it("needs the METRICS_TOKEN when one is set, on web and on the worker", async () => {
    const token = "metrics-token-0123456789";
    const world = await createTestWorld({ env: { METRICS_TOKEN: token } });
    const web = await serve(createApp(world.deps, world.queues));
    const worker = await startMetricsServer({ metrics: world.deps.metrics, port: 0, token, logger: world.deps.logger });
    try {
      for (const url of [`${web.url}/metrics`, `${worker.url}/metrics`]) {
        expect((await fetchText(url)).status).toBe(401);
        const wrong = await got(url, { headers: { authorization: "Bearer metrics-token-0123456780" }, throwHttpErrors: false });
        expect(wrong.statusCode).toBe(401);
        const right = await got(url, { headers: { authorization: `Bearer ${token}` }, throwHttpErrors: false });
        expect(right.statusCode).toBe(200);
      }
      expect((await fetchText(`${worker.url}/healthz`)).status).toBe(200);
    } finally {
      await worker.close();
      await web.close();
      await world.cleanup();
    }
  });
});

describe("/metrics: events for the upstream application", () => {
  it("counts those not yet accepted, by state, and says when the oldest was written", async () => {
    harness = await startHarness({ startWorker: false });
    const h = harness;
    const doc = traineeDoc();
    await h.api.put(doc.slug, doc);
    const trainee = await h.world.deps.prisma.trainee.findUniqueOrThrow({ where: { slug: doc.slug } });
    const web = await serve(createApp(h.world.deps, h.world.queues));
    try {
      const scrape = async () => (await fetchText(`${web.url}/metrics`)).body;
      const none = await scrape();
      expect(sample(none, "trs_sync_upstream_webhooks_unsent", { state: "pending" })).toBe(0);
      expect(sample(none, "trs_sync_upstream_webhooks_oldest_unsent_seconds", {})).toBe(0);
      const event = (state: "pending" | "failed" | "sent", at: string) =>
        h.world.deps.prisma.upstreamWebhook.create({
          data: { type: "trn.received", traineeId: trainee.id, traineeSlug: doc.slug, payload: {}, state, createdAt: new Date(at) },
        });
      await event("failed", "2026-11-30T10:00:00.000Z");
      await event("pending", "2026-12-01T10:00:00.000Z");
      await event("pending", "2026-12-01T11:00:00.000Z");
      await event("sent", "2026-11-01T10:00:00.000Z");
      const some = await scrape();
      expect(sample(some, "trs_sync_upstream_webhooks_unsent", { state: "failed" })).toBe(1);
      expect(sample(some, "trs_sync_upstream_webhooks_unsent", { state: "pending" })).toBe(2);
      expect(sample(some, "trs_sync_upstream_webhooks_oldest_unsent_seconds", {})).toBe(Date.parse("2026-11-30T10:00:00.000Z") / 1000);
    } finally {
      await web.close();
    }
  });
});

describe("/healthz and /readyz", () => {
  it("are up while Postgres and Redis answer, and /readyz says 503 when Redis does not", async () => {
    const redis = await privateRedis();
    await redis.start();
    const world = await createTestWorld({ env: { REDIS_URL: redis.url } });
    const web = await serve(createApp(world.deps, world.queues));
    try {
      expect((await fetchText(`${web.url}/healthz`)).status).toBe(200);
      // a process is not ready until its Redis connection is (a moment after start on a busy machine)
      const ready = await eventually(
        async () => {
          const answer = await fetchText(`${web.url}/readyz`);
          return answer.status === 200 && answer;
        },
        { what: "/readyz to say ready" },
      );
      expect(JSON.parse(ready.body)).toEqual({
        status: "ready",
        checks: { postgres: "ok", redis: "ok" },
        circuit: { state: "closed" },
      });
      // an open circuit leaves web ready (it still takes changes) and says since when, and why
      const verdict = await world.deps.circuit.recordFailure({
        jobKey: "j",
        errorClass: "forbidden",
        detail: "PUT /v3/persons/{trn} → 403",
      });
      if (!verdict.open) throw new Error("the circuit did not open");
      const open = await fetchText(`${web.url}/readyz`);
      expect(open.status).toBe(200);
      expect(JSON.parse(open.body).circuit).toEqual({ state: "open", since: verdict.since.toISOString(), reason: "forbidden" });
      const scrapeOpen = await fetchText(`${web.url}/metrics`);
      expect(sample(scrapeOpen.body, "trs_sync_circuit_open", {})).toBe(1);
      expect(sample(scrapeOpen.body, "trs_sync_circuit_open_since_seconds", {})).toBe(verdict.since.getTime() / 1000);
      await world.deps.circuit.close(verdict.since);
      const scrapeClosed = await fetchText(`${web.url}/metrics`);
      expect(sample(scrapeClosed.body, "trs_sync_circuit_open", {})).toBe(0);
      expect(sample(scrapeClosed.body, "trs_sync_circuit_open_since_seconds", {})).toBe(0);
      await redis.stop();
      const down = await fetchText(`${web.url}/readyz`);
      expect(down.status).toBe(503);
      expect(JSON.parse(down.body)).toEqual({ status: "not ready", checks: { postgres: "ok", redis: "down" } });
      // the scrape still answers, with what Postgres knows, and says Redis could not be read
      const scrape = await fetchText(`${web.url}/metrics`);
      expect(scrape.status).toBe(200);
      expect(sample(scrape.body, "trs_sync_scrape_source_up", { source: "redis" })).toBe(0);
      expect(sample(scrape.body, "trs_sync_scrape_source_up", { source: "postgres" })).toBe(1);
      expect((await fetchText(`${web.url}/healthz`)).status).toBe(200);
    } finally {
      await web.close();
      await redis.start();
      await world.cleanup();
      await redis.stop();
    }
  });
});
