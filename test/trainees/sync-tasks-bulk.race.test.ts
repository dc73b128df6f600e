/**
 * Bulk retry and cancel under real races: two support staff confirming at the same moment (a
 * retry of every job and a retry of the awards alone, a cancel of the updates beside them), and a
 * PUT of the trainee arriving meanwhile, all started together, hundreds of times. Whatever the
 * order the database picks:
 * - nothing throws (no deadlock between batches that lock overlapping trainees);
 * - an award never waits to run while the update before it is still failed;
 * - every task is retried or cancelled at most once, and its timeline says which.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acceptTraineeDocument } from "../../src/trainees/accept-document.js";
import { traineeDocumentSchema, type TraineeDocument } from "../../src/trainees/document.js";
import { cancelInBulk, retryInBulk } from "../../src/trainees/sync-tasks-bulk.js";
import { createTestWorld, type TestWorld } from "../support/context.js";
import { traineeDoc } from "../support/documents.js";
import { movePendingTasks } from "../support/tasks.js";

let world: TestWorld;
beforeAll(async () => {
  world = await createTestWorld({ env: { DATABASE_POOL_SIZE: "22" } });
});
afterAll(() => world.cleanup());

const ROUNDS = 60;
const TRAINEES_PER_ROUND = 5;

function accept(doc: TraineeDocument) {
  return acceptTraineeDocument({ prisma: world.deps.prisma, doc, now: new Date(), trnPoll: world.config.trnPoll, updateDebounceMs: 0 });
}

/** A trainee whose update and award both failed. */
async function traineeWithFailedUpdateAndAward(index: number) {
  const trn = String(3_000_000 + index);
  const doc = traineeDocumentSchema.parse(traineeDoc({ state: "trn_received", trn, lastName: "Before" }));
  const first = await accept(doc);
  if (first.status === 409) throw new Error("refused");
  const awarded = await accept({ ...doc, state: "recommended_for_award", outcomeDate: "2026-07-01" });
  if (awarded.status === 409) throw new Error("refused");
  await movePendingTasks(world.deps.prisma, { traineeId: first.trainee.id }, "failed", { errorClass: "api_unavailable", attempts: 3 });
  const [update, award] = await world.deps.prisma.syncTask.findMany({ where: { traineeId: first.trainee.id }, orderBy: { id: "asc" } });
  if (update?.kind !== "update_trainee" || award?.kind !== "award_trainee") throw new Error("unexpected tasks");
  return {
    doc: { ...doc, state: "recommended_for_award" as const, outcomeDate: "2026-07-01" },
    traineeId: first.trainee.id,
    update,
    award,
  };
}

describe("bulk retry and cancel racing each other and a PUT", () => {
  it(`keep each trainee's line in order and act on each job once (${ROUNDS * TRAINEES_PER_ROUND} trainees, ${ROUNDS} races)`, async () => {
    const prisma = world.deps.prisma;
    let checked = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const trainees = await Promise.all(
        Array.from({ length: TRAINEES_PER_ROUND }, (_, i) => traineeWithFailedUpdateAndAward(round * TRAINEES_PER_ROUND + i)),
      );
      const updates = trainees.map((t) => t.update.id);
      const awards = trainees.map((t) => t.award.id);
      const now = new Date();
      const parties = [
        () => retryInBulk(prisma, { taskIds: [...updates, ...awards], actor: "Ada", now, auditAction: "retry-failed-jobs" }),
        () => retryInBulk(prisma, { taskIds: [...awards].reverse(), actor: "Bea", now, auditAction: "retry-failed-jobs" }),
        () => cancelInBulk(prisma, { taskIds: updates, actor: "Cy", reason: "sent by hand", now, auditAction: "cancel-failed-jobs" }),
        ...trainees.slice(0, 3).map((t) => () => accept({ ...t.doc, lastName: `Edited ${round}` })),
      ];
      // a different party starts first each round
      const shift = round % parties.length;
      await Promise.all([...parties.slice(shift), ...parties.slice(0, shift)].map((start) => start()));

      for (const trainee of trainees) {
        const tasks = await prisma.syncTask.findMany({ where: { traineeId: trainee.traineeId }, orderBy: { id: "asc" } });
        const update = tasks.find((t) => t.id === trainee.update.id)!;
        const award = tasks.find((t) => t.id === trainee.award.id)!;
        // the award may run only once nothing failed is before it
        if (award.state === "pending") expect(update.state).not.toBe("failed");
        expect(["pending", "cancelled"]).toContain(update.state);
        expect(award.state).toBe("pending"); // retried by Ada or Bea (nobody cancels awards)
        expect(award.attempts).toBe(0);

        const events = await prisma.syncEvent.findMany({ where: { traineeId: trainee.traineeId }, orderBy: { id: "asc" } });
        const mentions = (taskId: bigint, kind: string) =>
          events.filter((e) => e.kind === kind && new RegExp(`#${taskId}\\b`).test(e.message ?? "")).length;
        expect(mentions(update.id, "retry_requested") + mentions(update.id, "update_trainee_cancelled")).toBe(1);
        expect(mentions(award.id, "retry_requested")).toBe(1);
        expect(mentions(update.id, "update_trainee_cancelled")).toBe(update.state === "cancelled" ? 1 : 0);
        checked++;
      }
    }
    expect(checked).toBe(ROUNDS * TRAINEES_PER_ROUND);
  }, 240_000);
});
