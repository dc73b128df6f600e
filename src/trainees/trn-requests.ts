/**
 * TRN requests in Postgres. The request id is created and stored before anything is sent, and the
 * same id is sent on every retry, so a retry can never create a second TRN request at TRS.
 */
import { randomUUID } from "node:crypto";
import type { Prisma } from "../generated/prisma/client.js";
import type { Db } from "../deps.js";
import { trnDeadline, type TrnPollConfig } from "./trn-schedule.js";

type Tx = Prisma.TransactionClient;

/**
 * Opens a TRN request for the trainee, with its deadline counted from `submittedAt` (a
 * re-submission gets a fresh deadline; Register kept the old one and alerted at once). The unique
 * active_trainee_id column makes a second active request for the same trainee impossible.
 */
export async function openTrnRequest(tx: Tx, options: { traineeId: string; submittedAt: Date; config: TrnPollConfig }) {
  return tx.trnRequest.create({
    data: {
      traineeId: options.traineeId,
      requestId: randomUUID(),
      activeTraineeId: options.traineeId,
      state: "requested",
      submittedAt: options.submittedAt,
      deadlineAt: trnDeadline(options.submittedAt, options.config),
    },
  });
}

export async function activeTrnRequest(tx: Tx | Db, traineeId: string) {
  return tx.trnRequest.findUnique({ where: { activeTraineeId: traineeId } });
}

/**
 * Closes the trainee's active request, if any: `superseded` when support re-submitted, `received`
 * when the trainee got its TRN another way (upstream sent it). Nothing polls a closed request; a
 * poll in flight finds it closed and stops.
 */
export async function closeActiveTrnRequest(
  tx: Tx | Db,
  options: { traineeId: string } & ({ state: "superseded" } | { state: "received"; trn: string }),
) {
  const active = await activeTrnRequest(tx, options.traineeId);
  if (!active) return null;
  return tx.trnRequest.update({
    where: { id: active.id },
    data: { state: options.state, activeTraineeId: null, nextPollAt: null, ...(options.state === "received" ? { trn: options.trn } : {}) },
  });
}

/** A request that is still being asked about: requested (POST unanswered) or pending (polling). */
export const openTrnRequestStates = ["requested", "pending"] as const;
