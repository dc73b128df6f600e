/**
 * An outage of the teacher records API dead-letters nothing: the circuit opens (one Slack alert,
 * whatever the number of workers), the teacher-records queue pauses, the jobs that met the outage
 * go back to waiting without spending attempts, /readyz, /metrics and the dashboard say so, and
 * once the API answers every change is sent exactly once and one "recovered" message follows.
 */
import { afterEach, describe, expect, it } from "vitest";
import got from "got";
import { PROBE_REQUEST_ID } from "../../src/jobs/circuit-monitor.js";
import { startHarness, type Harness } from "../support/harness.js";
import { traineeDoc } from "../support/documents.js";
import { wrapClient } from "../support/wrap-client.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

const THRESHOLD = 3;
const env = {
  CIRCUIT_PROBE_INTERVAL: "200ms",
  CIRCUIT_FAILURE_THRESHOLD: String(THRESHOLD),
  // failures before the circuit opens are retried as usual: slowly enough that one job cannot count twice meanwhile
  JOB_RETRY_BASE_DELAY: "2s",
  // a busy machine answers slowly: a timeout here would be a failure of its own, beside the outage
  API_TIMEOUT: "30s",
  // two workers in this process share one Postgres pool: each running job needs two connections
  WORKER_CONCURRENCY: "3",
  DATABASE_POOL_SIZE: "14",
};

/** Starts a harness with two worker processes' worth of workers and counts the circuit's probes. */
async function start(): Promise<{ h: Harness; probes: () => number }> {
  let probes = 0;
  const h = await startHarness({
    env,
    wrapApi: (api) =>
      wrapClient(api, {
        getTrnRequest: (id) => {
          if (id === PROBE_REQUEST_ID) probes++;
          return api.getTrnRequest(id);
        },
      }),
  });
  await h.startWorker(); // a second worker process: the circuit is shared
  return { h, probes: () => probes };
}

const tasksOf = (h: Harness, kind: "register_for_trn" | "update_trainee") =>
  h.world.deps.prisma.syncTask.findMany({ where: { kind }, select: { state: true, attempts: true, traineeId: true } });

const slackTexts = (h: Harness) => h.slack.accepted.map((m) => m.text);

describe("the circuit breaker", () => {
  it("holds everything through an outage, with one alert, and sends every change exactly once after it", async () => {
    const { h, probes } = await start();
    harness = h;
    const port = Number(new URL(h.world.config.api.baseUrl).port);
    await h.sandbox.close(); // TRS is gone: connections refused

    const docs = Array.from({ length: 8 }, (_, i) => traineeDoc({ lastName: `Outage${i}` }));
    for (const doc of docs) expect((await h.api.put(doc.slug, doc)).status).toBeLessThan(300);
    const opened = await h.waitFor("the circuit open", async () => {
      const state = await h.world.deps.circuit.read();
      return state.open ? state : null;
    });
    expect(opened.reason).toBe("api_unreachable");
    // an outage that lasts: the API is probed again and again, and nothing gives up meanwhile
    const probesAtOpening = probes();
    await h.waitFor("three failed probes", async () => probes() >= probesAtOpening + 3);
    expect(await h.world.queues.teacherRecords.isPaused()).toBe(true);
    expect((await tasksOf(h, "register_for_trn")).filter((t) => t.state === "failed")).toEqual([]);
    expect(await h.world.queues.teacherRecords.getFailedCount()).toBe(0);
    const held = await h.world.deps.prisma.syncEvent.findMany({ where: { kind: "register_for_trn_held" } });
    expect(held.length).toBeGreaterThan(0);
    expect(held[0]!.message).toMatch(/held back by the open circuit/);

    // operators see it: /readyz (still ready: changes are taken), /metrics, Slack once
    const ready = await got(`${h.webUrl}/readyz`).json<{ status: string; circuit: { state: string; since: string } }>();
    expect(ready).toMatchObject({ status: "ready", circuit: { state: "open", since: opened.since.toISOString() } });
    const metrics = await got(`${h.webUrl}/metrics`).text();
    expect(metrics).toMatch(/^trs_sync_circuit_open 1$/m);
    expect(metrics).toContain(`trs_sync_circuit_open_since_seconds ${opened.since.getTime() / 1000}`);
    await h.waitFor("the alert in Slack", async () => slackTexts(h).some((t) => t.includes("stopped sending")));

    await h.sandbox.listen(port); // TRS is back
    for (const doc of docs) await h.waitFor(`${doc.slug} TRN`, async () => (await h.trainee(doc.slug)).trn, 30_000);
    await h.waitFor("'recovered' in Slack", async () => slackTexts(h).some((t) => t.includes("answers again")));

    // one TRN request per trainee, accepted once (an answer lost to a slow machine sends the same id again: 409)
    const posts = h.sandbox.requestLog().filter((r) => r.method === "POST" && r.path === "/v3/trn-requests");
    const idOf = (r: (typeof posts)[number]) => (r.body as { requestId: string }).requestId;
    expect(new Set(posts.map(idOf)).size).toBe(docs.length);
    const accepted = posts.filter((r) => r.status < 300).map(idOf);
    expect(accepted).toHaveLength(docs.length);
    expect(new Set(accepted).size).toBe(docs.length);
    expect(posts.filter((r) => r.status >= 300).map((r) => r.status)).toEqual(posts.filter((r) => r.status >= 300).map(() => 409));
    const tasks = await tasksOf(h, "register_for_trn");
    expect(tasks.map((t) => t.state)).toEqual(docs.map(() => "succeeded"));
    // only the failures that counted towards opening spent an attempt (one each); the held ones none
    expect(tasks.reduce((spent, t) => spent + (t.attempts - 1), 0)).toBeLessThanOrEqual(THRESHOLD - 1);
    expect(await h.world.queues.teacherRecords.getFailedCount()).toBe(0);
    expect(slackTexts(h).filter((t) => t.includes("stopped sending"))).toHaveLength(1);
    expect(slackTexts(h).filter((t) => t.includes("answers again"))).toHaveLength(1);
    expect(await h.world.deps.circuit.read()).toMatchObject({ open: false });
    expect(await h.world.queues.teacherRecords.isPaused()).toBe(false);
    expect(await got(`${h.webUrl}/readyz`).json()).toMatchObject({ circuit: { state: "closed" } });
  }, 90_000);

  it("opens at the first 401 without spending an attempt, and resumes when the key is accepted again", async () => {
    const { h } = await start();
    harness = h;
    const docs = Array.from({ length: 4 }, (_, i) => traineeDoc({ lastName: `Keyed${i} +legacy` }));
    for (const doc of docs) await h.api.put(doc.slug, doc);
    const trns = await Promise.all(docs.map((doc) => h.waitFor(`${doc.slug} TRN`, async () => (await h.trainee(doc.slug)).trn)));
    for (const doc of docs) await h.waitFor("settled", async () => (await h.trainee(doc.slug)).sync.pending.length === 0);

    // the key is refused for a while: the first PUT, and the probes, get 401 until the faults run out
    const before = h.sandbox.requestLog().length;
    h.sandbox.injectFault({ method: "PUT", path: "^/v3/persons/", status: 401, times: 1 });
    h.sandbox.injectFault({ method: "GET", path: "^/v3/trn-requests", status: 401, times: 3 });
    for (const [i, doc] of docs.entries()) await h.api.put(doc.slug, { ...doc, state: "trn_received", firstNames: `Renamed${i}` });
    await h.waitFor("the alert in Slack", async () => slackTexts(h).some((t) => /stopped sending.*API key refused/i.test(t)));
    for (const doc of docs) {
      await h.waitFor(`${doc.slug} synced`, async () => (await h.trainee(doc.slug)).sync.pending.length === 0, 30_000);
    }
    await h.waitFor("'recovered' in Slack", async () => slackTexts(h).some((t) => t.includes("answers again")));

    // every update, the renames and those that followed the TRNs, went through at its first attempt
    const updates = await tasksOf(h, "update_trainee");
    expect(updates.length).toBeGreaterThanOrEqual(docs.length);
    expect(updates.map((t) => [t.state, t.attempts])).toEqual(updates.map(() => ["succeeded", 1]));
    for (const [i, trn] of trns.entries()) {
      const accepted = h.sandbox
        .requestLog()
        .slice(before)
        .filter((r) => r.method === "PUT" && r.path === `/v3/persons/${trn}` && r.status < 300)
        .map((r) => (r.body as { firstName: string }).firstName);
      expect(accepted).toEqual([`Renamed${i}`]);
    }
    const held = await h.world.deps.prisma.syncEvent.findMany({ where: { kind: "update_trainee_held" } });
    expect(held.map((e) => [e.errorClass, e.httpStatus])).toEqual([["unauthorized", 401]]);
    expect(slackTexts(h).filter((t) => t.includes("stopped sending"))).toHaveLength(1);
    expect(slackTexts(h).filter((t) => t.includes("answers again"))).toHaveLength(1);
  }, 60_000);
});
