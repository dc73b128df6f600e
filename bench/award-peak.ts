/**
 * Bench scenario "award peak": the end of the academic year. N trainees who hold a TRN are
 * recommended for the award at once (one transaction: each trainee's update and award tasks), and
 * a real `worker` process sends them (update: GET person, PUT person, PUT route; award: PUT route)
 * under a rate limit scaled down for the bench. Figures: the time to drain against the floor the
 * limit allows (requests ÷ rate; target within 1.1×), and the most requests the sandbox received
 * in any window of the limit's length (target: never above the limit), read from its request log.
 *
 * Where the configuration has API_RATE_LIMIT_WINDOW, the window is scaled down with the limit
 * (BENCH_AWARD_WINDOW_SECONDS, default 5 s quick and 10 s full); otherwise the window is a minute.
 * `npx tsx bench/award-peak.ts [--quick]` alone, or in `npm run bench`.
 */
import { performance } from "node:perf_hooks";
import pg from "pg";
import { benchDatabase, dropBenchTemplate } from "./web-process.js";
import { benchTrainee, insertRows } from "./trainees.js";
import { dropPrefix, hasRateLimitWindow, scalarOf, startSandbox, startWorker, waitFor } from "./stack.js";
import { round } from "./overhead.js";

/** The most timestamps (sorted, ms) in any window of `windowMs` (half-open). */
export function mostInWindow(sorted: number[], windowMs: number): number {
  let most = 0;
  let first = 0;
  for (let last = 0; last < sorted.length; last++) {
    while (sorted[last]! - sorted[first]! >= windowMs) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

export async function awardPeakScenario(options: { quick: boolean }): Promise<Record<string, number>> {
  const trainees = Number(process.env.BENCH_AWARD_TRAINEES ?? (options.quick ? 1_000 : 10_000));
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 25);
  // requests per second the scaled-down limit allows: below what the path can do, so that the limit is what the figures show
  const ratePerSecond = Number(process.env.BENCH_AWARD_RATE_PER_SECOND ?? (options.quick ? 60 : 100));
  const windowSeconds = hasRateLimitWindow() ? Number(process.env.BENCH_AWARD_WINDOW_SECONDS ?? (options.quick ? 5 : 10)) : 60;
  const limit = Math.round(ratePerSecond * windowSeconds);
  const prefix = `bench-award-${process.pid}`;
  const sandbox = await startSandbox();
  const database = await benchDatabase("award");
  try {
    // trainees with a TRN, as TRS holds them
    const rows = Array.from({ length: trainees }, (_, i) =>
      benchTrainee("award", i + 1, { trn: String(3_000_000 + i + 1), state: "trn_received", trnReceivedAt: new Date() }),
    );
    await sandbox.seedPersons(
      rows.map((t) => ({
        trn: t.trn,
        firstName: t.firstNames,
        middleName: null,
        lastName: t.lastName,
        dateOfBirth: t.dateOfBirth.toISOString().slice(0, 10),
        emailAddress: t.email,
        nationalInsuranceNumber: null,
        gender: t.sex === "female" ? "Female" : "Male",
      })),
    );
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    await insertRows(client, "trainees", rows);

    const env: Record<string, string> = { API_RATE_LIMIT_PER_MINUTE: String(limit) };
    if (hasRateLimitWindow()) env.API_RATE_LIMIT_WINDOW = `${windowSeconds * 1000}ms`;
    const worker = await startWorker({
      databaseUrl: database.url,
      sandboxUrl: sandbox.url,
      prefix,
      concurrency,
      env,
      profile: "worker-award",
    });
    let seconds: number;
    try {
      // recommended at once: what the PUTs would write, in one transaction
      await client.query("BEGIN");
      await client.query(
        `UPDATE trainees SET state = 'recommended_for_award', outcome_date = current_date - 1, recommended_for_award_at = now(), updated_at = now()`,
      );
      await client.query(
        `INSERT INTO sync_tasks (trainee_id, kind, phase, state, available_at, created_at, updated_at)
         SELECT id, k.kind::"SyncTaskKind", k.phase, 'pending', now(), now(), now()
         FROM trainees CROSS JOIN (VALUES ('update_trainee', 1), ('award_trainee', 2)) AS k(kind, phase)
         ORDER BY trainees.slug, k.phase`,
      );
      const started = performance.now();
      await client.query("COMMIT");
      await waitFor(
        "every award",
        async () => {
          const [done, failed] = await Promise.all([
            scalarOf(database.url, "SELECT count(*) AS value FROM sync_tasks WHERE kind = 'award_trainee' AND state = 'succeeded'"),
            scalarOf(database.url, "SELECT count(*) AS value FROM sync_tasks WHERE state = 'failed'"),
          ]);
          if (failed) throw new Error(`${failed} tasks failed`);
          return done === trainees ? true : undefined;
        },
        { timeoutMs: 3_600_000, everyMs: 250 },
      );
      seconds = (performance.now() - started) / 1000;
    } finally {
      await client.end();
      await worker.stop();
      await dropPrefix(prefix);
    }
    const arrivals = (await sandbox.requests()).map(([at]) => at).sort((a, b) => a - b);
    const floor = arrivals.length / ratePerSecond;
    const most = mostInWindow(arrivals, windowSeconds * 1000);
    return {
      trainees,
      requests: arrivals.length,
      limit,
      window_seconds: windowSeconds,
      drain_seconds: round(seconds, 1),
      floor_seconds: round(floor, 1),
      drain_to_floor: round(seconds / floor, 3),
      most_in_any_window: most,
      most_in_window_to_limit: round(most / limit, 3),
    };
  } finally {
    await sandbox.stop();
    await database.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const figures = await awardPeakScenario({ quick: process.argv.includes("--quick") });
    console.table(figures);
    console.log(JSON.stringify({ awardPeak: figures }));
  } finally {
    await dropBenchTemplate();
  }
}
