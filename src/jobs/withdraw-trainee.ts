/**
 * withdraw-trainee: tells the API the trainee withdrew (TRS: routes status Withdrawn; DQT:
 * itt-outcome Withdrawn). Queued behind any earlier update of the trainee, and behind the TRN
 * request when the trainee was withdrawn before the TRN arrived.
 */
import { sendCalls } from "./send-calls.js";
import { standardRetry, type SyncJobDefinition } from "./job.js";

export const withdrawTrainee: SyncJobDefinition = {
  kind: "withdraw_trainee",
  name: "withdraw-trainee",
  needsTrn: true,
  operation: "withdraw",
  maxCalls: 1,
  retry: standardRetry,
  async handle(_payload, ctx) {
    const { trainee } = ctx;
    if (trainee.state !== "withdrawn") {
      await ctx.event({
        kind: "withdraw_skipped",
        outcome: "skipped",
        message: `not sent: the trainee is ${trainee.state}, not withdrawn`,
      });
      return { done: true, message: `skipped: trainee is ${trainee.state}` };
    }
    const report = await sendCalls(ctx, "withdraw", ctx.deps.api.planSync("withdraw", trainee));
    return { done: true, message: `withdrawal: ${report.sent.length} sent, ${report.skipped.length} already in sync` };
  },
};
