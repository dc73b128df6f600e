/**
 * Ordering rule 5, "a change during a running job is not lost", under a real race: a PUT of the
 * trainee and a worker's claim of the trainee's queued update start together, hundreds of times.
 * Either the claim reads the new data, or the PUT sees the update already running and queues
 * another one behind it. Never both missed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acceptTraineeDocument } from "../../src/trainees/accept-document.js";
import { traineeDocumentSchema, type TraineeDocument } from "../../src/trainees/document.js";
import { claimTask } from "../../src/trainees/sync-tasks.js";
import { createTestWorld, type TestWorld } from "../support/context.js";
import { traineeDoc } from "../support/documents.js";
import { movePendingTasks } from "../support/tasks.js";

let world: TestWorld;
beforeAll(async () => {
  world = await createTestWorld({ env: { DATABASE_POOL_SIZE: "22" } });
});
afterAll(() => world.cleanup());

const ROUNDS = 25;
const RACES_PER_ROUND = 10;

function accept(doc: TraineeDocument) {
  return acceptTraineeDocument({ prisma: world.deps.prisma, doc, now: new Date(), trnPoll: world.config.trnPoll, updateDebounceMs: 0 });
}

/** A trainee with a TRN whose update has been handed to BullMQ (queued) and not yet claimed. */
async function traineeWithQueuedUpdate(index: number) {
  const doc = traineeDocumentSchema.parse(traineeDoc({ state: "trn_received", trn: String(2_000_000 + index), lastName: "Old" }));
  const accepted = await accept(doc);
  if (accepted.status === 409) throw new Error("refused");
  await movePendingTasks(world.deps.prisma, { traineeId: accepted.trainee.id }, "queued");
  const task = await world.deps.prisma.syncTask.findFirstOrThrow({ where: { traineeId: accepted.trainee.id } });
  return { doc, traineeId: accepted.trainee.id, taskId: task.id };
}

/** One race: the edit and the claim start together. Returns true when the edit was lost. */
async function race(index: number): Promise<boolean> {
  const { doc, traineeId, taskId } = await traineeWithQueuedUpdate(index);
  const [claim] = await Promise.all([
    claimTask(world.deps.pool, { taskId, attempt: 1, now: new Date(), maxStalls: 3 }),
    accept({ ...doc, lastName: "New" }),
  ]);
  if (claim.kind !== "claimed") throw new Error(`claim: ${claim.kind}`);
  if (claim.trainee.lastName === "New") return false; // the running job sends the edit
  // The job read the old name: the edit must have its own update, waiting behind the running one.
  const followUp = await world.deps.prisma.syncTask.count({
    where: { traineeId, kind: "update_trainee", state: "pending", id: { gt: taskId } },
  });
  return followUp === 0;
}

describe("an edit racing the claim of the trainee's update", () => {
  it(`is never lost (${ROUNDS * RACES_PER_ROUND} races)`, async () => {
    let lost = 0;
    let races = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const results = await Promise.all(Array.from({ length: RACES_PER_ROUND }, (_, i) => race(round * RACES_PER_ROUND + i)));
      lost += results.filter(Boolean).length;
      races += results.length;
    }
    expect(races).toBe(ROUNDS * RACES_PER_ROUND);
    expect(lost).toBe(0);
  }, 120_000);
});
