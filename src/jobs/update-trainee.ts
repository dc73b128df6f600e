/**
 * update-trainee: sends the trainee's current personal and training details (TRS: PUT persons and
 * PUT routes-to-professional-statuses with InTraining, UnderAssessment or Deferred; DQT: PATCH
 * teachers/update). Withdrawn and awarded trainees are not updated: TRS refuses it (10056, 10052)
 * and the withdrawal or award already carried the latest details.
 */
import { sendCalls } from "./send-calls.js";
import { standardRetry, type SyncJobDefinition } from "./job.js";

export const updateTrainee: SyncJobDefinition = {
  kind: "update_trainee",
  name: "update-trainee",
  needsTrn: true,
  operation: "update",
  // GET person (to keep what TRS holds), PUT person, PUT route, and GET person again when the
  // route is refused because the record already holds QTS/EYTS (awarded-elsewhere.ts)
  maxCalls: 4,
  retry: standardRetry,
  async handle(_payload, ctx) {
    const { trainee } = ctx;
    if (["withdrawn", "awarded", "draft", "discarded"].includes(trainee.state)) {
      await ctx.event({ kind: "update_skipped", outcome: "skipped", message: `not sent: the trainee is ${trainee.state}` });
      return { done: true, message: `skipped: trainee is ${trainee.state}` };
    }
    const report = await sendCalls(ctx, "update", ctx.deps.api.planSync("update", trainee));
    return {
      done: true,
      message: `update: ${report.sent.length} sent, ${report.skipped.length} already in sync, ${report.ignored.length} ignored`,
    };
  },
};
