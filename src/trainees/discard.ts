/**
 * Discarding a trainee (DELETE /api/v1/trainees/{slug}, CONTRACT.md §4): the upstream application
 * took the trainee off (a duplicate, added in error). Work not yet sent is cancelled, polling for
 * the TRN stops, nothing more is sent, and the timeline says who asked and why. TRS has no way to
 * delete a person or a route, so what already reached it stays there (Register's discard sent
 * nothing either). An awarded trainee cannot be discarded, nor one whose award is being sent.
 */
import type { Db } from "../deps.js";
import type { SyncTask, Trainee } from "../generated/prisma/client.js";
import { recordEvent } from "./events.js";
import { cancelTasks, lockTraineeBySlug } from "./sync-tasks.js";
import { activeTrnRequest } from "./trn-requests.js";

export type DiscardResult =
  { status: 200; trainee: Trainee; cancelled: SyncTask[]; alreadyDiscarded: boolean } | { status: 404 } | { status: 409; error: string };

export async function discardTrainee(options: {
  db: Db;
  slug: string;
  by: string;
  reason: string | null;
  now: Date;
}): Promise<DiscardResult> {
  const { db, now } = options;
  return db.$transaction(async (tx) => {
    const trainee = await lockTraineeBySlug(tx, options.slug);
    if (!trainee) return { status: 404 };
    if (trainee.state === "discarded") return { status: 200, trainee, cancelled: [], alreadyDiscarded: true };
    if (trainee.state === "awarded") {
      return { status: 409, error: "an awarded trainee cannot be discarded: the award has reached TRS" };
    }
    if (await tx.syncTask.findFirst({ where: { traineeId: trainee.id, kind: "award_trainee", state: "running" } })) {
      return { status: 409, error: "the award is being sent to TRS right now: try again in a minute" };
    }
    const cancelled = await cancelTasks(tx, { where: { traineeId: trainee.id }, now });
    const request = await activeTrnRequest(tx, trainee.id);
    if (request) {
      await tx.trnRequest.update({ where: { id: request.id }, data: { state: "cancelled", activeTraineeId: null, nextPollAt: null } });
    }
    const discarded = await tx.trainee.update({ where: { id: trainee.id }, data: { state: "discarded", discardedAt: now } });
    const parts = [
      `discarded by ${options.by}${options.reason ? `: ${options.reason}` : ""}`,
      cancelled.length ? `cancelled ${cancelled.map((t) => `${t.kind} #${t.id}`).join(", ")}` : "no work was waiting",
      ...(request ? [`stopped polling TRN request ${request.requestId}`] : []),
      "nothing more is sent to the teacher records API",
    ];
    await recordEvent(tx, {
      traineeId: trainee.id,
      kind: "trainee_discarded",
      outcome: "info",
      message: parts.join("; "),
      details: { by: options.by, reason: options.reason, fromState: trainee.state, cancelled: cancelled.map((t) => String(t.id)) },
      at: now,
    });
    return { status: 200, trainee: discarded, cancelled, alreadyDiscarded: false };
  });
}
