/**
 * TRN requests in Postgres. The request id is created and stored before anything is sent, and the
 * same id is sent on every retry, so a retry can never create a second TRN request at TRS.
 */
import { randomUUID } from "node:crypto";
import type { Prisma } from "../generated/prisma/client.js";
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

export async function activeTrnRequest(tx: Tx, traineeId: string) {
  return tx.trnRequest.findUnique({ where: { activeTraineeId: traineeId } });
}
