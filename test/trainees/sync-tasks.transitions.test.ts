/**
 * The sync-task lifecycle as a table: which moves are allowed, and that the database refuses
 * every other one whoever writes it (the trigger agrees with the table, pair by pair).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SyncTaskState } from "../../src/generated/prisma/client.js";
import { acceptTraineeDocument } from "../../src/trainees/accept-document.js";
import { traineeDocumentSchema } from "../../src/trainees/document.js";
import { blockingStates, canMove, taskStates, taskTransitions } from "../../src/trainees/sync-tasks.js";
import { createTestWorld, type TestWorld } from "../support/context.js";
import { traineeDoc } from "../support/documents.js";

/** Every allowed move and who makes it; anything not here must be refused. */
const allowed: [SyncTaskState, SyncTaskState, string][] = [
  ["pending", "queued", "the dispatcher hands it to BullMQ"],
  ["pending", "running", "a job for it started anyway (Bull Board retry)"],
  ["pending", "cancelled", "support, re-submission or discard"],
  ["queued", "running", "a worker claims it"],
  ["queued", "pending", "parked out of turn, or its job was lost from Redis"],
  ["queued", "failed", "BullMQ failed its job without the runner recording it"],
  ["queued", "cancelled", "support, re-submission or discard"],
  ["running", "succeeded", "done"],
  ["running", "queued", "poll later, transient retry, busy, rate limited"],
  ["running", "failed", "permanent, out of attempts, or stalled too often"],
  ["running", "pending", "a re-run found earlier work ahead, or its job was lost"],
  ["running", "cancelled", "cancelled while in flight (the run is fenced out)"],
  ["failed", "pending", "support retried it or a later task"],
  ["failed", "running", "Bull Board retried it"],
  ["failed", "cancelled", "support cancelled it"],
];

const pairs = taskStates.flatMap((from) => taskStates.filter((to) => to !== from).map((to) => [from, to] as const));
const isAllowed = (from: SyncTaskState, to: SyncTaskState) => allowed.some(([f, t]) => f === from && t === to);

describe("the task state table", () => {
  it.each(pairs)("%s → %s", (from, to) => {
    expect(canMove(from, to)).toBe(isAllowed(from, to));
  });

  it("has no way out of succeeded or cancelled", () => {
    expect(taskTransitions.succeeded).toEqual([]);
    expect(taskTransitions.cancelled).toEqual([]);
  });

  it("lets every blocking state leave the line only by succeeding or being cancelled", () => {
    for (const state of blockingStates) expect(canMove(state, "cancelled")).toBe(true);
    expect(blockingStates.filter((s) => canMove(s, "succeeded"))).toEqual(["running"]);
  });
});

describe("the database guard", () => {
  let world: TestWorld;
  let traineeId: string;
  beforeAll(async () => {
    world = await createTestWorld();
    const doc = traineeDocumentSchema.parse(traineeDoc({ state: "draft" }));
    const accepted = await acceptTraineeDocument({
      prisma: world.deps.prisma,
      doc,
      now: new Date(),
      trnPoll: world.config.trnPoll,
      updateDebounceMs: 0,
    });
    if (accepted.status === 409) throw new Error("refused");
    traineeId = accepted.trainee.id;
  });
  afterAll(() => world.cleanup());

  it("refuses exactly the moves the table refuses, whoever writes them", async () => {
    const results: string[] = [];
    for (const [from, to] of pairs) {
      const task = await world.deps.prisma.syncTask.create({ data: { traineeId, kind: "update_trainee", phase: 1, state: from } });
      const ok = await world.deps.prisma.syncTask
        .update({ where: { id: task.id }, data: { state: to } })
        .then(() => true)
        .catch((error: Error) => {
          expect(error.message).toContain(`cannot move from ${from} to ${to}`);
          return false;
        });
      results.push(`${from}>${to}:${ok}`);
    }
    expect(results).toEqual(pairs.map(([from, to]) => `${from}>${to}:${canMove(from, to)}`));
  });
});
