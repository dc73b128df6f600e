/**
 * Bench scenario "ingest": PUT /api/v1/trainees/{slug} of new trainee documents that create work
 * (submitted for a TRN: the trainee, its TRN request, its register task and a timeline event in
 * one transaction), from 16 clients at once against a real `web` process. The baseline, in the
 * same run: the same documents PUT again, which the web process answers 200 without writing.
 * Also the Postgres statements per PUT. `npx tsx bench/ingest.ts [--quick]` alone, or in `npm run bench`.
 */
import { performance } from "node:perf_hooks";
import { benchDatabase, startWeb, type WebProcess, dropBenchTemplate } from "./web-process.js";
import { benchDocument } from "./trainees.js";
import { round } from "./overhead.js";

const CLIENTS = 16;

/**
 * PUTs documents 1..count from `clients` clients at once; every answer must be `status`, after
 * retries of 503 (Postgres did not answer in time: nothing stored, the upstream sends it again).
 * Returns PUTs per second and how many 503s came.
 */
async function putAll(web: WebProcess, count: number, status: number): Promise<{ perSecond: number; unavailable: number }> {
  let next = 1;
  let unavailable = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next <= count) {
        const doc = benchDocument("ingest", next++);
        let answer = await web.api.put(`api/v1/trainees/${doc.slug as string}`, { json: doc });
        for (let retry = 0; answer.statusCode === 503 && retry < 5; retry++) {
          unavailable++;
          answer = await web.api.put(`api/v1/trainees/${doc.slug as string}`, { json: doc });
        }
        if (answer.statusCode !== status)
          throw new Error(`PUT ${doc.slug as string} answered ${answer.statusCode}, not ${status}: ${answer.body}`);
      }
    }),
  );
  return { perSecond: count / ((performance.now() - started) / 1000), unavailable };
}

export async function ingestScenario(options: { quick: boolean }): Promise<Record<string, number>> {
  const count = Number(process.env.BENCH_INGEST_DOCUMENTS ?? (options.quick ? 1_000 : 5_000));
  const database = await benchDatabase("ingest");
  let web: WebProcess | undefined;
  try {
    web = await startWeb(database.url, { profile: "web-ingest" });
    // warm-up: another trainee's documents, so that the first measured PUTs do not pay for compilation
    for (let n = 1; n <= 50; n++) {
      const doc = { ...benchDocument("warmup", n) };
      await web.api.put(`api/v1/trainees/${doc.slug as string}`, { json: doc });
    }
    await web.resetRoundTrips();
    const created = await putAll(web, count, 201);
    const trips = await web.roundTrips();
    await web.resetRoundTrips();
    const unchanged = await putAll(web, count, 200);
    const unchangedTrips = await web.roundTrips();
    return {
      documents: count,
      clients: CLIENTS,
      puts_per_second: Math.round(created.perSecond),
      answered_503: created.unavailable,
      pg_statements_per_put: round(trips.pg / count, 2),
      baseline_unchanged_puts_per_second: Math.round(unchanged.perSecond),
      baseline_pg_statements_per_unchanged_put: round(unchangedTrips.pg / count, 2),
      ratio_to_unchanged: round(created.perSecond / unchanged.perSecond, 3),
    };
  } finally {
    await web?.stop();
    await database.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const figures = await ingestScenario({ quick: process.argv.includes("--quick") });
    console.table(figures);
    console.log(JSON.stringify({ ingest: figures }));
  } finally {
    await dropBenchTemplate();
  }
}
