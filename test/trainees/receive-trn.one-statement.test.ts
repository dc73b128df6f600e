/**
 * The TRN stored in one statement (trs_sync_store_trn) writes exactly what the Prisma transaction
 * wrote before (test/support/prisma-job-writes.ts): the same scenario in two databases, the old
 * code in one and the new in the other, and every row of the trainee compared. Then a TRS webhook
 * and a poll's answer settling the same request together, hundreds of times: settled once, one
 * event, one update task, one upstream trn.received.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Deps } from "../../src/deps.js";
import type { TrnRequest } from "../../src/generated/prisma/client.js";
import { acceptTraineeDocument } from "../../src/trainees/accept-document.js";
import { traineeDocumentSchema } from "../../src/trainees/document.js";
import { settleTrnAnswer, storeTrn } from "../../src/trainees/receive-trn.js";
import { openTrnRequest } from "../../src/trainees/trn-requests.js";
import { receiveWebhookMessage } from "../../src/web/trs-webhook.js";
import { createTestWorld, type TestWorld } from "../support/context.js";
import { traineeDoc } from "../support/documents.js";
import { prismaStoreTrn } from "../support/prisma-job-writes.js";

const clock = new Date("2026-11-02T10:00:00.000Z");
const now = () => new Date(clock);
/** the old code writes here, the new one in `current` */
let before: TestWorld;
let current: TestWorld;

beforeAll(async () => {
  [before, current] = await Promise.all([createTestWorld({ now }), createTestWorld({ now })]);
  for (const world of [before, current]) {
    // the triggers' events for the upstream application are written too: compared as well
    await world.deps.prisma.upstreamWebhookSetting.create({ data: { id: true, enabled: true } });
  }
});
afterAll(async () => {
  await before?.cleanup();
  await current?.cleanup();
});

const PAST = new Date("2000-01-01T00:00:00.000Z");

async function accept(deps: Deps, overrides: Record<string, unknown>) {
  const doc = traineeDocumentSchema.parse(traineeDoc(overrides));
  const accepted = await acceptTraineeDocument({ prisma: deps.prisma, doc, now: now(), trnPoll: deps.config.trnPoll, updateDebounceMs: 0 });
  if (accepted.status === 409) throw new Error(`refused: ${accepted.body.error}`);
  return accepted.trainee;
}

interface Stage {
  traineeId: string;
  request: TrnRequest;
}

/** Every row of the trainee, without ids and creation times, request ids and task ids named by their order. */
async function rowsOf(deps: Deps, traineeId: string) {
  const prisma = deps.prisma;
  const trainee = await prisma.trainee.findUniqueOrThrow({ where: { id: traineeId } });
  const requests = await prisma.trnRequest.findMany({ where: { traineeId }, orderBy: [{ createdAt: "asc" }, { submittedAt: "asc" }] });
  const tasks = await prisma.syncTask.findMany({ where: { traineeId }, orderBy: { id: "asc" } });
  const events = await prisma.syncEvent.findMany({ where: { traineeId }, orderBy: { id: "asc" } });
  const webhooks = await prisma.upstreamWebhook.findMany({ where: { traineeId }, orderBy: { id: "asc" } });
  const names = new Map<string, string>([[traineeId, "<trainee>"]]);
  requests.forEach((r, n) => {
    names.set(r.id, `<request ${n}>`);
    names.set(r.requestId, `<request id ${n}>`);
  });
  const taskNames = new Map(tasks.map((t, n) => [t.id, `<task ${n}>`]));
  const name = (value: unknown): unknown => {
    if (typeof value === "bigint") return taskNames.get(value) ?? value;
    if (typeof value === "string") {
      let text = value;
      for (const [raw, named] of names) text = text.split(raw).join(named);
      return text;
    }
    if (Array.isArray(value)) return value.map(name);
    if (value && typeof value === "object" && !(value instanceof Date)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, name(v)]));
    }
    return value;
  };
  // updated_at was set in the past before the store: whether a row was written is what counts
  const written = (row: { updatedAt: Date }) => row.updatedAt.getTime() > PAST.getTime();
  const { id: _t, createdAt: _tc, updatedAt: _tu, ...traineeRest } = trainee;
  return name({
    trainee: { ...traineeRest, written: written(trainee) },
    requests: requests.map(({ createdAt: _c, updatedAt, ...r }) => ({ ...r, written: written({ updatedAt }) })),
    tasks: tasks.map(({ createdAt: _c, updatedAt: _u, traceContext: _x, ...t }) => t),
    events: events.map(({ id: _i, ...e }) => e),
    webhooks: webhooks.map(({ id: _i, eventId: _e, createdAt: _c, nextAttemptAt: _n, ...w }) => w),
  });
}

/** The same stage in both databases, the old store in one and the new in the other; the rows and the answers must agree. */
async function compare(
  stage: (deps: Deps) => Promise<Stage>,
  store: { trn: string; message?: string; withTask?: boolean; times?: number },
): Promise<{ outcome: string; rows: Awaited<ReturnType<typeof rowsOf>> }> {
  const results = [];
  for (const [world, write] of [
    [before, prismaStoreTrn],
    [current, storeTrn],
  ] as const) {
    const deps = world.deps;
    const staged = await stage(deps);
    await deps.pool.query("UPDATE trainees SET updated_at = $2 WHERE id = $1", [staged.traineeId, PAST]);
    await deps.pool.query("UPDATE trn_requests SET updated_at = $2 WHERE trainee_id = $1", [staged.traineeId, PAST]);
    const poll = await deps.prisma.syncTask.findFirst({ where: { traineeId: staged.traineeId, kind: "register_for_trn" } });
    const outcomes: string[] = [];
    for (let n = 0; n < (store.times ?? 1); n++) {
      try {
        await write({
          deps,
          traineeId: staged.traineeId,
          request: staged.request,
          trn: store.trn,
          response: { trnRequest: { requestId: staged.request.requestId, trn: store.trn, status: "Completed" } },
          jobName: "poll-trn",
          jobId: "poll-trn-7",
          ...(store.withTask !== false && poll ? { taskId: poll.id } : {}),
          ...(store.message ? { message: store.message } : {}),
        });
        outcomes.push("ok");
      } catch (error) {
        const e = error as { errorClassName?: string; message: string };
        outcomes.push(`${e.errorClassName}: ${e.message}`);
      }
    }
    results.push({ outcome: outcomes.join(" / "), rows: await rowsOf(deps, staged.traineeId) });
  }
  const [old, now] = results;
  expect(now).toEqual(old);
  return now!;
}

let trnCounter = 0;
const nextTrn = () => String(5_000_000 + trnCounter++);
const sameDoc = (overrides: Record<string, unknown> = {}) => traineeDoc({ slug: `t-${randomUUID().slice(0, 12)}`, ...overrides });

/** A trainee accepted as submitted_for_trn (its request open), then put in `state` directly. */
function waiting(doc: Record<string, unknown>, changes: (deps: Deps, traineeId: string) => Promise<void> = async () => {}) {
  return async (deps: Deps): Promise<Stage> => {
    const trainee = await accept(deps, doc);
    await changes(deps, trainee.id);
    const request = await deps.prisma.trnRequest.findFirstOrThrow({ where: { traineeId: trainee.id }, orderBy: { createdAt: "desc" } });
    return { traineeId: trainee.id, request };
  };
}
const setState = (state: string) => async (deps: Deps, traineeId: string) => {
  await deps.pool.query(`UPDATE trainees SET state = $2::"TraineeState" WHERE id = $1`, [traineeId, state]);
};

describe("storing a TRN in one statement writes what the Prisma transaction wrote", () => {
  it("a trainee waiting for it: trn_received, request received, the event, an update queued behind", async () => {
    const trn = nextTrn();
    const result = await compare(waiting(sameDoc()), { trn });
    expect(result.outcome).toBe("ok");
    expect(result.rows).toMatchObject({
      trainee: { trn, state: "trn_received", trnReceivedAt: now(), written: true },
      requests: [{ state: "received", trn, activeTraineeId: null, nextPollAt: null, written: true }],
      tasks: [{ kind: "register_for_trn" }, { kind: "update_trainee", phase: 1, state: "pending", availableAt: now() }],
      webhooks: [{ type: "trn.received", payload: { trn } }],
    });
    expect((result.rows as { events: { kind: string }[] }).events.at(-1)).toMatchObject({
      kind: "trn_received",
      outcome: "success",
      message: `TRN ${trn} received for request <request id 0>`,
      jobName: "poll-trn",
      jobId: "poll-trn-7",
      taskId: "<task 0>",
      details: { requestId: "<request id 0>", trn, fromState: "submitted_for_trn", toState: "trn_received" },
      createdAt: now(),
    });
  });

  it.each(["deferred", "withdrawn", "discarded", "draft", "recommended_for_award"])("a %s trainee keeps its state", async (state) => {
    const result = await compare(waiting(sameDoc(), setState(state)), { trn: nextTrn() });
    expect(result.rows).toMatchObject({ trainee: { state } });
  });

  it("the same answer stored twice changes nothing the second time", async () => {
    const result = await compare(waiting(sameDoc()), { trn: nextTrn(), times: 2 });
    expect(result.outcome).toBe("ok / ok");
    const events = (result.rows as { events: { kind: string }[] }).events.filter((e) => e.kind === "trn_received");
    expect(events).toHaveLength(1);
  });

  it("a webhook's message, without a task", async () => {
    await compare(waiting(sameDoc()), { trn: nextTrn(), message: "TRN received by webhook", withTask: false });
  });

  it("an update not yet started carries the change: none added", async () => {
    const result = await compare(
      waiting(sameDoc(), async (deps, traineeId) => {
        await deps.prisma.syncTask.create({ data: { traineeId, kind: "update_trainee", phase: 1, state: "queued", availableAt: now() } });
      }),
      { trn: nextTrn() },
    );
    expect((result.rows as { tasks: unknown[] }).tasks).toHaveLength(2);
  });

  it("an update already running read the trainee before: one is added behind it", async () => {
    const result = await compare(
      waiting(sameDoc(), async (deps, traineeId) => {
        await deps.prisma.syncTask.create({ data: { traineeId, kind: "update_trainee", phase: 1, state: "running", availableAt: now() } });
      }),
      { trn: nextTrn() },
    );
    expect((result.rows as { tasks: unknown[] }).tasks).toHaveLength(3);
  });

  it("a trainee that already holds this TRN (upstream sent it): the request closes, no update, trn_received_at kept", async () => {
    const trn = nextTrn();
    await compare(
      waiting(sameDoc(), async (deps, traineeId) => {
        await deps.pool.query("UPDATE trainees SET trn = $2 WHERE id = $1", [traineeId, trn]);
      }),
      { trn },
    );
  });

  it("a trainee holding another TRN: a conflict, nothing written", async () => {
    const held = nextTrn();
    const result = await compare(
      waiting(sameDoc(), async (deps, traineeId) => {
        await deps.pool.query("UPDATE trainees SET trn = $2 WHERE id = $1", [traineeId, held]);
      }),
      { trn: nextTrn() },
    );
    expect(result.outcome).toMatch(/^trn_conflict: TRS allocated \d+ but the trainee already has \d+$/);
    expect(result.rows).toMatchObject({ trainee: { trn: held, written: false }, requests: [{ state: "requested", written: false }] });
  });

  it("a TRN another trainee holds: a conflict, nothing written", async () => {
    const trn = nextTrn();
    const holder = sameDoc({ state: "trn_received", trn });
    const stage = waiting(sameDoc());
    const result = await compare(
      async (deps) => {
        await accept(deps, holder);
        return stage(deps);
      },
      { trn },
    );
    expect(result.outcome).toBe(`trn_conflict: TRS allocated ${trn}, which another trainee already has`);
    expect(result.rows).toMatchObject({ trainee: { trn: null, state: "submitted_for_trn" }, requests: [{ state: "requested" }] });
  });

  it("an answer to a closed request: it is stored, and the newer request still open closes as received", async () => {
    const stage = waiting(sameDoc());
    const result = await compare(
      async (deps) => {
        const staged = await stage(deps);
        const request = await deps.prisma.trnRequest.update({
          where: { id: staged.request.id },
          data: { state: "superseded", activeTraineeId: null },
        });
        await openTrnRequest(deps.prisma, { traineeId: staged.traineeId, submittedAt: now(), config: deps.config.trnPoll });
        return { traineeId: staged.traineeId, request };
      },
      { trn: nextTrn() },
    );
    expect(result.rows).toMatchObject({
      requests: [
        { state: "received", written: true },
        { state: "received", activeTraineeId: null, written: true },
      ],
    });
  });
});

describe("a TRS webhook and a poll's answer settling the same request together", () => {
  const ROUNDS = 300;

  async function settledOnce(deps: Deps, traineeId: string, trn: string, round: number) {
    const { rows } = await deps.pool.query(
      `SELECT t.trn, t.state::text AS state, r.state::text AS request_state, r.trn AS request_trn, r.active_trainee_id,
              (SELECT count(*)::int FROM sync_events e WHERE e.trainee_id = t.id AND e.kind = 'trn_received') AS events,
              (SELECT count(*)::int FROM sync_tasks k WHERE k.trainee_id = t.id AND k.kind = 'update_trainee') AS updates,
              (SELECT count(*)::int FROM upstream_webhooks w WHERE w.trainee_id = t.id AND w.type = 'trn.received') AS webhooks
         FROM trainees t JOIN trn_requests r ON r.trainee_id = t.id WHERE t.id = $1`,
      [traineeId],
    );
    expect(rows, `round ${round}`).toEqual([
      {
        trn,
        state: "trn_received",
        request_state: "received",
        request_trn: trn,
        active_trainee_id: null,
        events: 1,
        updates: 1,
        webhooks: 1,
      },
    ]);
  }

  const pollAnswer = (deps: Deps, stage: Stage, trn: string, info: object, jobId: string) =>
    settleTrnAnswer({
      deps,
      traineeId: stage.traineeId,
      request: stage.request,
      result: { requestId: stage.request.requestId, status: "completed", trn, potentialDuplicate: false, raw: info },
      jobName: "poll-trn",
      jobId,
    });

  it(`through the webhook route and the poll: settled once, one event, one update task, ${ROUNDS} times`, async () => {
    const deps = current.deps;
    const seen = { settled: 0, already_settled: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const stage = await waiting(sameDoc())(deps);
      const trn = nextTrn();
      const info = { requestId: stage.request.requestId, trn, status: "Completed", potentialDuplicate: false };
      const [webhook, poll] = await Promise.all([
        receiveWebhookMessage({
          deps,
          ceId: randomUUID(),
          type: "trn_request.completed",
          body: Buffer.from(JSON.stringify({ trnRequest: info })),
        }),
        pollAnswer(deps, stage, trn, info, `poll-${round}`),
      ]);
      expect(["settled", "already_settled"], `round ${round}`).toContain(webhook);
      seen[webhook as keyof typeof seen]++;
      expect(poll).toBe(true);
      await settledOnce(deps, stage.traineeId, trn, round);
    }
    expect(seen.settled + seen.already_settled).toBe(ROUNDS);
  });

  // The route reads the request first and most often finds the poll's store done: here both
  // answers reach trs_sync_store_trn at the same moment, as they do when the webhook is first.
  it(`both storing at the same moment: settled once, one event, one update task, ${ROUNDS} times`, async () => {
    const deps = current.deps;
    for (let round = 0; round < ROUNDS; round++) {
      const stage = await waiting(sameDoc())(deps);
      const trn = nextTrn();
      const info = { requestId: stage.request.requestId, trn, status: "Completed", potentialDuplicate: false };
      const answers = await Promise.all([
        settleTrnAnswer({
          deps,
          traineeId: stage.traineeId,
          request: stage.request,
          result: { requestId: stage.request.requestId, status: "completed", trn, potentialDuplicate: false, raw: { trnRequest: info } },
          jobName: "trs-webhook",
          jobId: randomUUID(),
          message: "TRN received by webhook",
        }),
        pollAnswer(deps, stage, trn, info, `poll-${round}`),
      ]);
      expect(answers).toEqual([true, true]);
      await settledOnce(deps, stage.traineeId, trn, round);
    }
  });
});
