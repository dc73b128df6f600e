/**
 * Bench scenario "latency": new trainees PUT at a steady 10 a second to a real `web` process, with a
 * real `worker` process and the sandbox running; for each, the time from the PUT's answer to its TRN
 * request arriving at the sandbox (the sandbox's request log), p50/p95/p99. The baseline, in the
 * same run: a plain BullMQ job added at the same rate, from the add's answer to its request
 * arriving. `npx tsx bench/latency.ts [--quick]` alone, or in `npm run bench`.
 */
import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { benchDatabase, startWeb, dropBenchTemplate } from "./web-process.js";
import { benchDocument, lastNameOf } from "./trainees.js";
import {
  dropPrefix,
  percentile,
  PLAIN_QUEUE,
  redisUrl,
  startPlainWorker,
  startSandbox,
  startWorker,
  waitFor,
  type SandboxProcess,
} from "./stack.js";

const PER_SECOND = 10;

/** Calls `send(n)` for n = 1..count at PER_SECOND, without waiting for one answer before the next call. */
async function steady(count: number, send: (n: number) => Promise<void>): Promise<void> {
  const started = Date.now();
  const sent: Promise<void>[] = [];
  for (let n = 1; n <= count; n++) {
    const due = started + ((n - 1) * 1000) / PER_SECOND;
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    sent.push(send(n));
  }
  await Promise.all(sent);
}

/** Milliseconds from each accepted time to the arrival of that trainee's TRN request at the sandbox. */
async function latencies(sandbox: SandboxProcess, accepted: Map<string, number>): Promise<number[]> {
  let found = 0;
  const arrived = await waitFor(
    "every TRN request at the sandbox",
    async () => {
      const requests = await sandbox.requests();
      const byName = new Map<string, number>();
      for (const [at, method, path, , lastName] of requests) {
        if (method === "POST" && path === "/v3/trn-requests" && lastName && !byName.has(lastName)) byName.set(lastName, at);
      }
      found = [...accepted.keys()].filter((name) => byName.has(name)).length;
      return found === accepted.size ? byName : undefined;
    },
    { timeoutMs: 300_000, everyMs: 1_000, detail: () => `${found} of ${accepted.size} arrived` },
  );
  return [...accepted].map(([name, at]) => arrived.get(name)! - at).sort((a, b) => a - b);
}

const summary = (prefix: string, sorted: number[]) => ({
  [`${prefix}p50_ms`]: Math.round(percentile(sorted, 50)),
  [`${prefix}p95_ms`]: Math.round(percentile(sorted, 95)),
  [`${prefix}p99_ms`]: Math.round(percentile(sorted, 99)),
  [`${prefix}max_ms`]: Math.round(sorted[sorted.length - 1] ?? NaN),
});

export async function latencyScenario(options: { quick: boolean }): Promise<Record<string, number>> {
  const count = Number(process.env.BENCH_LATENCY_CHANGES ?? (options.quick ? 150 : 600));
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 25);
  const prefix = `bench-latency-${process.pid}`;
  const sandbox = await startSandbox();
  const database = await benchDatabase("latency");
  try {
    // the baseline: a plain BullMQ job per change
    const plain = await startPlainWorker({ sandboxUrl: sandbox.url, prefix: `${prefix}-plain`, concurrency });
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    const queue = new Queue(PLAIN_QUEUE, { connection: redis, prefix: `${prefix}-plain` });
    let baseline: number[];
    try {
      const accepted = new Map<string, number>();
      await steady(count, async (n) => {
        await queue.add("register", { label: "platency", n, requestId: randomUUID(), only: "register" }, { removeOnComplete: true });
        accepted.set(lastNameOf("platency", n), Date.now());
      });
      baseline = await latencies(sandbox, accepted);
    } finally {
      await queue.close();
      await redis.quit();
      await plain.stop();
      await dropPrefix(`${prefix}-plain`);
    }

    await sandbox.reset();
    const worker = await startWorker({
      databaseUrl: database.url,
      sandboxUrl: sandbox.url,
      prefix,
      concurrency,
      profile: "worker-latency",
    });
    const web = await startWeb(database.url, { env: { REDIS_PREFIX: prefix } });
    let measured: number[];
    let unavailable = 0;
    try {
      const accepted = new Map<string, number>();
      await steady(count, async (n) => {
        const doc = benchDocument("latency", n);
        let answer = await web.api.put(`api/v1/trainees/${doc.slug as string}`, { json: doc });
        // 503: Postgres did not answer in time (a busy machine); nothing was stored and the upstream sends it again
        for (let retry = 0; answer.statusCode === 503 && retry < 5; retry++) {
          unavailable++;
          answer = await web.api.put(`api/v1/trainees/${doc.slug as string}`, { json: doc });
        }
        if (answer.statusCode !== 201) throw new Error(`PUT ${doc.slug as string} answered ${answer.statusCode}: ${answer.body}`);
        accepted.set(doc.lastName as string, Date.now());
      });
      measured = await latencies(sandbox, accepted);
    } finally {
      await web.stop();
      await worker.stop();
      await dropPrefix(prefix);
    }
    return {
      changes: count,
      per_second: PER_SECOND,
      ...summary("", measured),
      answered_503: unavailable,
      ...summary("baseline_", baseline),
    };
  } finally {
    await sandbox.stop();
    await database.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const figures = await latencyScenario({ quick: process.argv.includes("--quick") });
    console.table(figures);
    console.log(JSON.stringify({ latency: figures }));
  } finally {
    await dropBenchTemplate();
  }
}
