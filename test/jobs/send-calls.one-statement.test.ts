/**
 * sendCalls on plain statements (the hashes read once, each call's event, hash and ownership check
 * in one statement) writes exactly what the Prisma version wrote before
 * (test/support/prisma-job-writes.ts): the same run in two databases, the old code in one and the
 * new in the other, the API answering the same, and the events, hashes, reports and errors compared.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError } from "../../src/clients/api-error.js";
import type { CallResult, PlannedCall, TeacherRecordsClient } from "../../src/clients/teacher-records.js";
import type { Deps } from "../../src/deps.js";
import type { Trainee } from "../../src/generated/prisma/client.js";
import type { SyncContext } from "../../src/jobs/job.js";
import { jobNames } from "../../src/jobs/queues.js";
import { sendCalls } from "../../src/jobs/send-calls.js";
import { acceptTraineeDocument } from "../../src/trainees/accept-document.js";
import { traineeDocumentSchema } from "../../src/trainees/document.js";
import { recordEvent } from "../../src/trainees/events.js";
import { claimTask, stillOwns } from "../../src/trainees/sync-tasks.js";
import { createTestWorld, type TestWorld } from "../support/context.js";
import { traineeDoc } from "../support/documents.js";
import { prismaSendCalls } from "../support/prisma-job-writes.js";
import { wrapClient } from "../support/wrap-client.js";

const clock = new Date("2026-11-02T10:00:00.000Z");
const now = () => new Date(clock);
/** the old code writes here, the new one in `current` */
let before: TestWorld;
let current: TestWorld;

beforeAll(async () => {
  [before, current] = await Promise.all([createTestWorld({ now }), createTestWorld({ now })]);
});
afterAll(async () => {
  await before?.cleanup();
  await current?.cleanup();
});

/** What the API answers to one call; it may act on the database first (support cancelling the task). */
type Answer = (call: PlannedCall, run: { deps: Deps; taskId: bigint }) => Promise<CallResult>;
const accepted: Answer = async (call) => ({ status: call.endpoint === "trs:route" ? 204 : 200, body: null });
const refused =
  (status: number, errorCode?: number): Answer =>
  async (call) => {
    throw new ApiError({ status, method: call.method, endpoint: call.path, ...(errorCode ? { errorCode } : {}) });
  };

interface Run {
  /** answers by endpoint; an endpoint not named is accepted */
  answers?: Record<string, Answer>;
  /** the trainee as this run read it (a later run after an edit) */
  edit?: Partial<Trainee>;
}

/** A trainee with a TRN and its update task claimed, as run-task.ts hands it to the job. */
async function claimedUpdate(deps: Deps, doc: Record<string, unknown>) {
  const accepted = await acceptTraineeDocument({
    prisma: deps.prisma,
    doc: traineeDocumentSchema.parse(doc),
    now: now(),
    trnPoll: deps.config.trnPoll,
    updateDebounceMs: 0,
  });
  if (accepted.status === 409) throw new Error("refused");
  const task = await deps.prisma.syncTask.findFirstOrThrow({ where: { traineeId: accepted.trainee.id, kind: "update_trainee" } });
  const claim = await claimTask(deps.pool, { taskId: task.id, attempt: 1, now: now(), maxStalls: 5 });
  if (claim.kind !== "claimed") throw new Error(`not claimed: ${claim.kind}`);
  return claim;
}

function contextFor(deps: Deps, claim: Awaited<ReturnType<typeof claimedUpdate>>, run: Run, sent: string[]): SyncContext {
  const { task, trainee, fence } = claim;
  const jobId = `update-trainee-${task.id}`;
  const api: TeacherRecordsClient = wrapClient(deps.api, {
    send: async (call) => {
      sent.push(call.endpoint);
      return (run.answers?.[call.endpoint] ?? accepted)(call, { deps, taskId: task.id });
    },
  });
  // as src/jobs/run-task.ts builds it
  return {
    deps: { ...deps, api },
    task,
    trainee: { ...trainee, ...run.edit },
    jobId,
    fence,
    now: deps.now(),
    event: (e) =>
      recordEvent(deps.prisma, {
        ...e,
        traineeId: trainee.id,
        jobName: jobNames[task.kind],
        jobId,
        taskId: task.id,
        at: e.at ?? deps.now(),
      }),
    stillOwned: () => stillOwns(deps.pool, fence),
  };
}

/** Statements sent to Postgres (every pg Client#query, as bench/round-trips.ts counts them) while `work` runs. */
async function counted<T>(work: () => Promise<T>): Promise<{ value: T; statements: number }> {
  const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const query = prototype.query;
  let statements = 0;
  prototype.query = function countedQuery(this: unknown, ...args: unknown[]) {
    statements++;
    return query.apply(this, args);
  };
  try {
    return { value: await work(), statements };
  } finally {
    prototype.query = query;
  }
}

async function rowsOf(deps: Deps, traineeId: string, taskId: bigint) {
  const events = await deps.prisma.syncEvent.findMany({ where: { traineeId }, orderBy: { id: "asc" } });
  const payloads = await deps.prisma.sentPayload.findMany({ where: { traineeId }, orderBy: { endpoint: "asc" } });
  const task = await deps.prisma.syncTask.findUniqueOrThrow({ where: { id: taskId } });
  return {
    events: events.map(({ id: _i, traineeId: _t, taskId: eventTask, jobId, ...e }) => ({
      ...e,
      ofThisTask: eventTask === taskId,
      jobId: jobId?.replace(String(taskId), "<task>") ?? null,
    })),
    payloads: payloads.map(({ traineeId: _t, ...p }) => p),
    task: task.state,
  };
}

/** The same runs in both databases, old code and new; everything written and answered must agree. */
async function compare(runs: Run[]) {
  const doc = traineeDoc({ state: "trn_received", trn: String(2_000_000 + Math.floor(Math.random() * 7_999_999)) });
  const results = [];
  for (const [world, send] of [
    [before, prismaSendCalls],
    [current, sendCalls],
  ] as const) {
    const deps = world.deps;
    const claim = await claimedUpdate(deps, doc);
    const outcomes = [];
    for (const run of runs) {
      const sent: string[] = [];
      const ctx = contextFor(deps, claim, run, sent);
      const calls = deps.api.planSync("update", ctx.trainee);
      const { value, statements } = await counted(async () => {
        try {
          const report = await send(ctx, "update", calls);
          return {
            sent: report.sent.map((s) => [s.call.endpoint, s.result.status]),
            skipped: report.skipped.map((c) => c.endpoint),
            refused: report.refused.map((c) => c.endpoint),
            ignored: report.ignored.map((i) => [i.call.endpoint, i.errorClass]),
          };
        } catch (error) {
          return { error: `${(error as Error).name}: ${(error as Error).message}` };
        }
      });
      outcomes.push({ value, sent, statements });
    }
    results.push({
      outcomes: outcomes.map(({ value, sent }) => ({ value, sent })),
      statements: outcomes.map((o) => o.statements),
      rows: await rowsOf(deps, claim.trainee.id, claim.task.id),
    });
  }
  const [old, fresh] = results;
  expect({ outcomes: fresh!.outcomes, rows: fresh!.rows }).toEqual({ outcomes: old!.outcomes, rows: old!.rows });
  return { ...fresh!, oldStatements: old!.statements };
}

describe("sendCalls on plain statements writes what the Prisma version wrote", () => {
  it("both calls accepted: two events and two hashes, in one read and one statement per call", async () => {
    const result = await compare([{}]);
    expect(result.outcomes[0]).toEqual({
      value: {
        sent: [
          ["trs:person", 200],
          ["trs:route", 204],
        ],
        skipped: [],
        refused: [],
        ignored: [],
      },
      sent: ["trs:person", "trs:route"],
    });
    expect(
      result.rows.events.filter((e) => e.ofThisTask).map((e) => [e.kind, e.outcome, e.message, e.details, e.jobName, e.jobId]),
    ).toEqual([
      ["update_sent", "success", "PUT trs:person accepted", { endpoint: "trs:person" }, "update-trainee", "update-trainee-<task>"],
      ["update_sent", "success", "PUT trs:route accepted", { endpoint: "trs:route" }, "update-trainee", "update-trainee-<task>"],
    ]);
    expect(result.rows.payloads.map((p) => [p.endpoint, p.acceptedAt, p.refusedCode])).toEqual([
      ["trs:person", now(), null],
      ["trs:route", now(), null],
    ]);
    // before: per call the hash read, the event, the upsert, and the ownership check before the second
    expect(result.oldStatements).toEqual([7]);
    expect(result.statements).toEqual([3]);
  });

  it("the same payloads again: nothing sent, one 'already in sync' event", async () => {
    const result = await compare([{}, {}]);
    expect(result.outcomes[1]).toEqual({ value: { sent: [], skipped: ["trs:person", "trs:route"], refused: [], ignored: [] }, sent: [] });
    expect(result.rows.events.at(-1)).toMatchObject({ kind: "update_skipped", outcome: "skipped" });
    expect(result.statements).toEqual([3, 2]);
  });

  it("an edit changes the person only: the route is skipped, the person sent", async () => {
    const result = await compare([{}, { edit: { email: "someone.else@example.com" } }]);
    expect(result.outcomes[1]!.sent).toEqual(["trs:person"]);
  });

  it("personal details refused for good (10041): counted as accepted, remembered, and not sent again after an edit", async () => {
    const result = await compare([{ answers: { "trs:person": refused(400, 10041) } }, { edit: { email: "someone.else@example.com" } }]);
    expect(result.outcomes.map((o) => o.sent)).toEqual([["trs:person", "trs:route"], []]);
    expect(result.rows.payloads.find((p) => p.endpoint === "trs:person")).toMatchObject({ refusedCode: 10041 });
    expect(result.rows.events.filter((e) => e.ofThisTask).map((e) => e.kind)).toEqual([
      "update_ignored",
      "update_sent",
      "update_not_sent",
      "update_skipped",
    ]);
  });

  it("a call failing (500): the earlier call's event and hash are kept, the error thrown", async () => {
    const result = await compare([{ answers: { "trs:route": refused(500) } }]);
    expect(result.outcomes[0]!.value).toMatchObject({ error: expect.stringMatching(/^ApiError: PUT .* 500/) });
    expect(result.rows.payloads.map((p) => p.endpoint)).toEqual(["trs:person"]);
  });

  it("cancelled while the first call was under way: its event and hash are written, the second call is not sent", async () => {
    const cancelDuringCall: Answer = async (call, { deps, taskId }) => {
      await deps.pool.query("UPDATE sync_tasks SET state = 'cancelled' WHERE id = $1", [taskId]);
      return accepted(call, { deps, taskId });
    };
    const result = await compare([{ answers: { "trs:person": cancelDuringCall } }]);
    expect(result.outcomes[0]).toEqual({
      value: { error: "RunSuperseded: the task changed while this run was under way" },
      sent: ["trs:person"],
    });
    expect(result.rows.payloads.map((p) => p.endpoint)).toEqual(["trs:person"]);
    expect(result.rows.task).toBe("cancelled");
    // the cancel itself is one statement; the ownership answer came with the first call's write
    expect(result.statements).toEqual([1 + 1 + 1]);
  });

  it("taken over by another run (a new claim) while the first call was under way: the second call is not sent", async () => {
    const takenOver: Answer = async (call, { deps, taskId }) => {
      await deps.pool.query("UPDATE sync_tasks SET claim_count = claim_count + 1 WHERE id = $1", [taskId]);
      return accepted(call, { deps, taskId });
    };
    const result = await compare([{ answers: { "trs:person": takenOver } }]);
    expect(result.outcomes[0]!.sent).toEqual(["trs:person"]);
    expect(result.outcomes[0]!.value).toEqual({ error: "RunSuperseded: the task changed while this run was under way" });
  });
});
