/**
 * The baseline of the throughput scenarios: a plain BullMQ worker that makes the same calls to the
 * sandbox as trs-sync's jobs, through the same client (src/clients), and nothing else: no outbox,
 * no claim, no lock, no timeline. Job data: `{label, n, requestId, only?: "register"}`.
 * Environment: REDIS_URL, REDIS_PREFIX, TRS_API_BASE_URL, TRS_API_KEY, WORKER_CONCURRENCY.
 */
import { Worker } from "bullmq";
import { Redis } from "ioredis";
import { isApiError } from "../src/clients/api-error.js";
import { createTeacherRecordsClient } from "../src/clients/create-client.js";
import { classify } from "../src/jobs/classify.js";
import { benchTrainee } from "./trainees.js";
import { PLAIN_QUEUE } from "./stack.js";

const env = process.env;
const api = createTeacherRecordsClient({
  kind: "trs",
  baseUrl: env.TRS_API_BASE_URL!,
  apiKey: env.TRS_API_KEY!,
  version: "20250627",
  timeoutMs: 30_000,
});

const worker = new Worker(
  PLAIN_QUEUE,
  async (job) => {
    const { label, n, requestId, only } = job.data as { label: string; n: number; requestId: string; only?: "register" };
    const trainee = benchTrainee(label, n);
    const answer = await api.requestTrn(requestId, trainee);
    if (only === "register") return;
    const withTrn = { ...trainee, trn: answer.trn, state: "trn_received" as const };
    for (const call of api.planSync("update", withTrn)) {
      try {
        await api.send(call);
      } catch (error) {
        // trs-sync counts these as accepted (TRS's 10041 on PUT persons): so does the baseline
        if (!isApiError(error) || classify(error, { operation: "update" }).errorClass.kind !== "ignorable") throw error;
      }
    }
  },
  {
    connection: new Redis(env.REDIS_URL!, { maxRetriesPerRequest: null }),
    prefix: env.REDIS_PREFIX!,
    concurrency: Number(env.WORKER_CONCURRENCY ?? 10),
  },
);
worker.on("failed", (job, error) => console.error(`plain worker: job ${job?.id} failed: ${error.message}`));

const stop = () => void worker.close().then(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
