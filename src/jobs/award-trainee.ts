/**
 * award-trainee: recommends the trainee for QTS/EYTS (TRS: routes status Holds with holdsFrom =
 * outcome date; DQT: itt-outcome Pass with assessmentDate). It always runs after every update of
 * the trainee (phase 2 in the outbox). Only once the API accepted it does the trainee become
 * awarded, with awardedAt = the date the API reports (DQT qtsDate) or else the outcome date; that
 * local change triggers nothing further.
 */
import { dateOnly, isoDay } from "../trainees/records.js";
import { sendCalls } from "./send-calls.js";
import { standardRetry, type SyncJobDefinition } from "./job.js";

export const awardTrainee: SyncJobDefinition = {
  kind: "award_trainee",
  name: "award-trainee",
  needsTrn: true,
  operation: "award",
  maxCalls: 1,
  retry: standardRetry,
  async handle(_payload, ctx) {
    const { deps, trainee } = ctx;
    if (trainee.state === "awarded") return { done: true, message: "already awarded" };
    if (trainee.state !== "recommended_for_award") {
      await ctx.event({ kind: "award_skipped", outcome: "skipped", message: `not sent: the trainee is ${trainee.state}` });
      return { done: true, message: `skipped: trainee is ${trainee.state}` };
    }
    const report = await sendCalls(ctx, "award", deps.api.planSync("award", trainee));
    const reported = deps.api.awardDateFrom(report.sent.map((s) => s.result));
    const awardedAt = reported ? dateOnly(reported) : trainee.outcomeDate;
    await deps.prisma.$transaction(async (tx) => {
      // Only a trainee still recommended moves; the state machine forbids anything else meanwhile.
      await tx.trainee.updateMany({ where: { id: trainee.id, state: "recommended_for_award" }, data: { state: "awarded", awardedAt } });
      await tx.syncEvent.create({
        data: {
          traineeId: trainee.id,
          kind: "trainee_awarded",
          outcome: "success",
          jobName: awardTrainee.name,
          jobId: ctx.jobId,
          taskId: ctx.task.id,
          message: `awarded ${awardedAt ? isoDay(awardedAt) : "(no date)"}${reported ? " (date reported by the API)" : " (outcome date)"}`,
          createdAt: ctx.now,
        },
      });
    });
    return { done: true, message: "award accepted" };
  },
};
