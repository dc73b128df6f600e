/**
 * The trainee's timeline (append-only sync_events): every change received and every sync attempt,
 * so that nobody needs a developer to explain a record's state.
 */
import type { Prisma } from "../generated/prisma/client.js";

export type EventOutcome = "success" | "failure" | "retrying" | "skipped" | "info";

export interface EventInput {
  traineeId: string;
  kind: string;
  outcome: EventOutcome;
  message?: string | null;
  jobName?: string | null;
  jobId?: string | null;
  taskId?: bigint | null;
  errorClass?: string | null;
  httpStatus?: number | null;
  errorCode?: number | null;
  details?: Prisma.InputJsonValue;
  at?: Date;
}

export async function recordEvent(tx: Prisma.TransactionClient, event: EventInput): Promise<void> {
  await tx.syncEvent.create({
    data: {
      traineeId: event.traineeId,
      kind: event.kind,
      outcome: event.outcome,
      message: event.message ?? null,
      jobName: event.jobName ?? null,
      jobId: event.jobId ?? null,
      taskId: event.taskId ?? null,
      errorClass: event.errorClass ?? null,
      httpStatus: event.httpStatus ?? null,
      errorCode: event.errorCode ?? null,
      ...(event.details !== undefined ? { details: event.details } : {}),
      ...(event.at ? { createdAt: event.at } : {}),
    },
  });
}
