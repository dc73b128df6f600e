/**
 * The circuit breaker's state in Redis under racing workers: many failing at the same moment open
 * it once, with one alert; one process probes per interval; a probe that answers closes it, resumes
 * the queue the circuit paused (never an operator's pause) and, once the API has answered for an
 * interval, sends one "recovered" message. Each race starts its parties together, on their own
 * Redis connections, hundreds of times.
 */
import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError } from "../../src/clients/api-error.js";
import { createCircuitBreaker, type FailureVerdict } from "../../src/clients/circuit-breaker.js";
import type { TeacherRecordsClient } from "../../src/clients/teacher-records.js";
import type { Deps } from "../../src/deps.js";
import { createCircuitMonitor, PROBE_REQUEST_ID } from "../../src/jobs/circuit-monitor.js";
import { TEACHER_RECORDS_QUEUE } from "../../src/jobs/queues.js";
import { createTestWorld, deleteRedisPrefix, eventually, type TestWorld } from "../support/context.js";

const settings = { failureThreshold: 3, failureWindowMs: 60_000, probeIntervalMs: 100 };
const PARTIES = 8;

let world: TestWorld;
let connections: Redis[];
/** what the fake API answers the probe: an answer (404 for the unknown request) or a status to throw */
let probeAnswer: "answers" | number = 503;
const probes: string[] = [];
const prefixes: string[] = [];

beforeAll(async () => {
  const unused = () => {
    throw new Error("only the probe is expected");
  };
  const fake: TeacherRecordsClient = {
    kind: "trs",
    requestTrn: unused,
    planSync: unused,
    send: unused,
    awardDateFrom: unused,
    getPerson: unused,
    async getTrnRequest(requestId) {
      probes.push(requestId);
      const status = probeAnswer === "answers" ? 404 : probeAnswer;
      throw new ApiError({ status, method: "GET", endpoint: "/v3/trn-requests" });
    },
  };
  world = await createTestWorld({ api: fake });
  connections = Array.from({ length: PARTIES }, () => new Redis(world.config.redisUrl, { maxRetriesPerRequest: 1 }));
});
afterAll(async () => {
  for (const prefix of prefixes) await deleteRedisPrefix(world.config.redisUrl, prefix);
  await Promise.all((connections ?? []).map((c) => c.quit()));
  await world.cleanup();
});

/** One worker process as the circuit sees it: its own Redis connection, breaker, queue handle and monitor. */
function party(index: number, prefix: string) {
  const redis = connections[index]!;
  const circuit = createCircuitBreaker({ redis, prefix, settings });
  const queue = new Queue(TEACHER_RECORDS_QUEUE, { connection: redis, prefix });
  const deps = { ...world.deps, circuit, config: { ...world.config, redisPrefix: prefix } } as Deps;
  const monitor = createCircuitMonitor(deps, queue);
  return {
    circuit,
    queue,
    monitor,
    async close() {
      await monitor.stop();
      await queue.close();
    },
  };
}

function freshPrefix() {
  const prefix = `test-circuit-${randomUUID().slice(0, 8)}`;
  prefixes.push(prefix);
  return prefix;
}

/** Between rounds: the circuit as never opened, the queue running. */
async function forget(prefix: string, queue: Queue) {
  await connections[0]!.del(`${prefix}:circuit`, `${prefix}:circuit:failures`, `${prefix}:circuit:probe`);
  await queue.resume();
}

const alertsOf = (kind: string, prefix: string) =>
  world.deps.prisma.alert.findMany({
    where: { kind, dedupeKey: { startsWith: `circuit-${kind === "circuit_open" ? "open" : "recovered"}-${prefix}-` } },
  });

describe("the circuit breaker under racing workers", () => {
  it("opens once, with one alert, when many workers meet failures at the same moment (200 races)", async () => {
    const prefix = freshPrefix();
    const parties = Array.from({ length: PARTIES }, (_, i) => party(i, prefix));
    for (let round = 0; round < 200; round++) {
      await forget(prefix, parties[0]!.queue);
      // alternate: server errors counted across jobs, and 401s that open at once
      const errorClass = round % 2 === 0 ? "api_unavailable" : "unauthorized";
      const verdicts = (await Promise.all(
        parties.map((p, i) => p.monitor.failed({ jobKey: `job-${i}`, errorClass, detail: "GET /v3/x → 503" })),
      )) as FailureVerdict[];
      const opened = verdicts.filter((v) => v.open && v.opened);
      const alerting = verdicts.filter((v) => v.open && v.alert);
      expect(opened, `round ${round}`).toHaveLength(1);
      expect(alerting, `round ${round}`).toHaveLength(1);
      // counted failures stay closed until the threshold; a 401 opens at the first
      expect(verdicts.filter((v) => !v.open)).toHaveLength(errorClass === "unauthorized" ? 0 : settings.failureThreshold - 1);
      expect(await alertsOf("circuit_open", prefix), `round ${round}`).toHaveLength(round + 1);
      expect(await parties[0]!.queue.isPaused()).toBe(true);
      const episode = await parties[0]!.circuit.readEpisode();
      expect(episode).toMatchObject({ state: { open: true, reason: errorClass }, alerted: true, pausedByCircuit: true });
    }
    await Promise.all(parties.map((p) => p.close()));
  }, 120_000);

  it("counts a job failing again once, forgets failures past the window, and is cleared by any answer", async () => {
    const prefix = freshPrefix();
    const { circuit, close } = party(0, prefix);
    const fail = (jobKey: string) => circuit.recordFailure({ jobKey, errorClass: "api_timeout", detail: "no answer" });
    expect(await fail("a")).toEqual({ open: false, failures: 1 });
    expect(await fail("a")).toEqual({ open: false, failures: 1 });
    expect(await fail("b")).toEqual({ open: false, failures: 2 });
    circuit.noteStatus(503); // not an answer
    circuit.noteStatus(200); // an answer: the API is up, the failures so far were not an outage
    await eventually(async () => (await fail("c")).open === false && (await connections[0]!.zcard(`${prefix}:circuit:failures`)) === 1, {
      what: "the failures cleared by an answer",
    });
    expect(await fail("d")).toEqual({ open: false, failures: 2 });
    expect(await fail("e")).toMatchObject({ open: true, opened: true, alert: true, reason: "api_timeout" });
    await expect(circuit.recordFailure({ jobKey: "x", errorClass: "validation_failed", detail: "" })).rejects.toThrow();
    await close();
  });

  it("lets one process probe per interval, closes only on an answer, resumes its own pause and says 'recovered' once (200 races)", async () => {
    const prefix = freshPrefix();
    const parties = Array.from({ length: PARTIES }, (_, i) => party(i, prefix));
    for (let round = 0; round < 200; round++) {
      await forget(prefix, parties[0]!.queue);
      await parties[0]!.monitor.failed({ jobKey: "job", errorClass: "forbidden", detail: "PUT /v3/persons/{trn} → 403" });
      const { state } = await parties[0]!.circuit.readEpisode();
      if (!state.open) throw new Error("the circuit did not open");

      // the API still refuses: every process looks at once, one probes, the circuit stays open
      probeAnswer = 403;
      probes.length = 0;
      await Promise.all(parties.map((p) => p.monitor.tick()));
      expect(probes, `round ${round}`).toEqual([PROBE_REQUEST_ID]);
      expect((await parties[0]!.circuit.read()).open).toBe(true);
      expect(await parties[0]!.queue.isPaused()).toBe(true);

      // it answers: whoever's turn it is closes the circuit and resumes the queue, once
      probeAnswer = "answers";
      await connections[0]!.del(`${prefix}:circuit:probe`); // the next interval
      await Promise.all(parties.map((p) => p.monitor.tick()));
      expect(await parties[0]!.circuit.read(), `round ${round}`).toMatchObject({ open: false });
      expect(await parties[0]!.queue.isPaused()).toBe(false);
      if (round % 20 === 0) {
        // "recovered" once the API has answered for an interval, from whichever process looks
        await eventually(
          async () => {
            await Promise.all(parties.map((p) => p.monitor.tick()));
            return (await parties[0]!.circuit.readEpisode()).episodeAt === null;
          },
          { what: "the outage declared over" },
        );
        const recovered = await alertsOf("circuit_recovered", prefix);
        expect(recovered.filter((a) => a.dedupeKey.endsWith(`-${state.since.getTime()}`))).toHaveLength(1);
        // never twice for one outage; a round slower than the probe interval (a busy machine) may
        // legitimately end an outage of its own, so the total is not a fixed number
        expect(new Set(recovered.map((a) => a.dedupeKey)).size).toBe(recovered.length);
        expect(recovered.length).toBeGreaterThanOrEqual(round / 20 + 1);
      }
    }
    expect(await alertsOf("circuit_open", prefix)).toHaveLength(200);
    await Promise.all(parties.map((p) => p.close()));
  }, 120_000);

  it("leaves a pause an operator made, and takes back a pause lifted while the circuit is open", async () => {
    const prefix = freshPrefix();
    const operator = party(0, prefix);
    const worker = party(1, prefix);
    await operator.queue.pause(); // maintenance, before any outage
    await worker.monitor.failed({ jobKey: "job", errorClass: "unauthorized", detail: "401" });
    expect((await worker.circuit.readEpisode()).pausedByCircuit).toBe(false);
    probeAnswer = "answers";
    await worker.monitor.tick();
    expect((await worker.circuit.read()).open).toBe(false);
    expect(await operator.queue.isPaused()).toBe(true); // still the operator's

    await operator.queue.resume();
    await worker.monitor.failed({ jobKey: "job2", errorClass: "unauthorized", detail: "401" });
    expect(await operator.queue.isPaused()).toBe(true);
    await operator.queue.resume(); // someone resumes it in Bull Board during the outage
    probeAnswer = 503;
    await connections[0]!.del(`${prefix}:circuit:probe`);
    await worker.monitor.tick();
    expect(await operator.queue.isPaused()).toBe(true);
    await Promise.all([operator.close(), worker.close()]);
  });
});
