/**
 * Bench scenario "overhead" (with "memory"): N trainees through trs-sync's full path (outbox
 * dispatch, claim, trainee lock, register-for-trn, the TRN stored, update-trainee: 4 requests per
 * trainee) against a plain BullMQ worker making the same calls through the same client, at the
 * same concurrency, the rate limit off, both against the sandbox in its own process. Also the
 * Postgres statements and Redis commands each sent per trainee, and the worker's resident memory
 * at start and after the run. `npx tsx bench/overhead.ts [--quick]` alone, or in `npm run bench`.
 */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import pg from "pg";
import { retention } from "../src/jobs/queues.js";
import { benchDatabase, dropBenchTemplate } from "./web-process.js";
import { dropPrefix, PLAIN_QUEUE, redisUrl, scalarOf, startPlainWorker, startSandbox, startWorker, waitFor } from "./stack.js";
import { insertRows, submittedRows } from "./trainees.js";

export async function overheadScenario(options: { quick: boolean }): Promise<Record<string, number>> {
  const trainees = Number(process.env.BENCH_OVERHEAD_TRAINEES ?? (options.quick ? 2_000 : 20_000));
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 25);
  const prefix = `bench-overhead-${process.pid}`;
  const sandbox = await startSandbox();
  const database = await benchDatabase("overhead");
  const figures: Record<string, number> = { trainees, concurrency };
  try {
    // the baseline: the same calls from a plain BullMQ worker
    const plain = await startPlainWorker({ sandboxUrl: sandbox.url, prefix: `${prefix}-plain`, concurrency, profile: "plain-worker" });
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    const queue = new Queue(PLAIN_QUEUE, { connection: redis, prefix: `${prefix}-plain` });
    try {
      figures.plain_rss_start_mib = Math.round(plain.rssMiB());
      await plain.resetRoundTrips();
      const started = performance.now();
      for (let from = 1; from <= trainees; from += 1_000) {
        const jobs = [];
        for (let n = from; n < Math.min(from + 1_000, trainees + 1); n++) {
          jobs.push({
            name: "register-and-update",
            data: { label: "plain", n, requestId: randomUUID() },
            opts: { jobId: `plain-${n}`, ...retention },
          });
        }
        await queue.addBulk(jobs);
      }
      await waitFor(
        "the plain worker",
        async () => {
          const counts = await queue.getJobCounts("completed", "failed");
          if (counts.failed) throw new Error(`${counts.failed} plain jobs failed`);
          return counts.completed === trainees ? true : undefined;
        },
        { timeoutMs: 3_600_000, everyMs: 100 },
      );
      const seconds = (performance.now() - started) / 1000;
      const trips = await plain.roundTrips();
      figures.plain_per_second = Math.round(trainees / seconds);
      figures.plain_seconds = round(seconds, 1);
      figures.plain_requests_per_trainee = round((await sandbox.count()) / trainees, 2);
      figures.plain_redis_round_trips_per_trainee = round(trips.redis / trainees, 2);
      figures.plain_redis_commands_per_trainee = round(trips.redisCommands / trainees, 2);
      figures.plain_rss_after_mib = Math.round(plain.rssMiB());
    } finally {
      await queue.close();
      await redis.quit();
      await plain.stop();
      await dropPrefix(`${prefix}-plain`);
    }

    // trs-sync's full path
    await sandbox.reset();
    const worker = await startWorker({ databaseUrl: database.url, sandboxUrl: sandbox.url, prefix, concurrency, profile: "worker" });
    try {
      figures.worker_rss_start_mib = Math.round(worker.rssMiB());
      const rows = submittedRows("sync", 1, trainees);
      await worker.resetRoundTrips();
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      let started: number;
      try {
        await client.query("BEGIN");
        await insertRows(client, "trainees", rows.trainees);
        await insertRows(client, "trn_requests", rows.requests);
        await insertRows(client, "sync_tasks", rows.tasks);
        started = performance.now(); // the work becomes visible at this commit
        await client.query("COMMIT");
      } finally {
        await client.end();
      }
      await waitFor(
        "trs-sync's worker",
        async () => {
          const [done, failed] = await Promise.all([
            scalarOf(database.url, "SELECT count(*) AS value FROM sync_tasks WHERE kind = 'update_trainee' AND state = 'succeeded'"),
            scalarOf(database.url, "SELECT count(*) AS value FROM sync_tasks WHERE state = 'failed'"),
          ]);
          if (failed) throw new Error(`${failed} trs-sync tasks failed`);
          return done === trainees ? true : undefined;
        },
        { timeoutMs: 3_600_000, everyMs: 250 },
      );
      const seconds = (performance.now() - started) / 1000;
      const trips = await worker.roundTrips();
      figures.trs_sync_per_second = Math.round(trainees / seconds);
      figures.trs_sync_seconds = round(seconds, 1);
      figures.ratio = round(trainees / seconds / (trainees / figures.plain_seconds), 3);
      figures.trs_sync_requests_per_trainee = round((await sandbox.count()) / trainees, 2);
      figures.pg_statements_per_trainee = round(trips.pg / trainees, 2);
      figures.redis_round_trips_per_trainee = round(trips.redis / trainees, 2);
      figures.redis_commands_per_trainee = round(trips.redisCommands / trainees, 2);
      figures.worker_rss_after_mib = Math.round(worker.rssMiB());
    } finally {
      await worker.stop();
      await dropPrefix(prefix);
    }
    return figures;
  } finally {
    await sandbox.stop();
    await database.drop();
  }
}

export const round = (value: number, digits: number) => Number(value.toFixed(digits));

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const figures = await overheadScenario({ quick: process.argv.includes("--quick") });
    console.table(figures);
    console.log(JSON.stringify({ overhead: figures }));
  } finally {
    await dropBenchTemplate();
  }
}
