/**
 * Bench scenario "failed jobs at scale": 100,000 failed jobs in Postgres, a real `web` process
 * (src/main-web.ts), and the time of the first failed-jobs page and of the whole CSV export, with
 * the web process's peak resident memory during the export. The baseline, measured in the same
 * run: the same first page with 1,000 failed jobs, and the web process's memory before the export.
 * `npx tsx bench/failed-jobs.ts` alone, or as part of `npm run bench`.
 */
import { performance } from "node:perf_hooks";
import pg from "pg";
import { benchDatabase, memory, startWeb, timed, type WebProcess, dropBenchTemplate } from "./web-process.js";

const BASELINE = 1_000;

/** Adds failed jobs numbered from..to (inclusive), each for its own trainee. */
export async function seed(databaseUrl: string, from: number, to: number) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // one statement each: generate_series does the 100,000 rows in Postgres
    await client.query(
      `
      INSERT INTO trainees (id, slug, trn, state, first_names, last_name, date_of_birth, sex, email, training_route,
        provider_ukprn, provider_name, itt_start_date, itt_end_date, course_subjects, course_min_age, course_max_age,
        document_hash, created_at, updated_at)
      SELECT gen_random_uuid(), 'bench-' || n, lpad((2000000 + n)::text, 7, '0'), 'trn_received', 'First' || n, 'Last' || n,
        date '1990-01-01' + (n % 3000), 'female', 'trainee' || n || '@example.com', 'provider_led_postgrad',
        '10000001', 'Example Teacher Training', date '2026-09-01', date '2027-07-31', ARRAY['100425'], 11, 16,
        md5(n::text), now(), now()
      FROM generate_series($1::int, $2::int) AS n`,
      [from, to],
    );
    await client.query(`
      INSERT INTO sync_tasks (trainee_id, kind, phase, state, attempts, error_class, http_status, error_message, failed_at, available_at, created_at, updated_at)
      SELECT id, 'update_trainee', 1, 'failed', 10,
        (ARRAY['api_unavailable', 'validation_failed', 'invalid_subject', 'forbidden'])[1 + (hashtext(slug) & 3)],
        503, 'PUT /v3/persons/{trn} → 503', now() - (random() * interval '30 days'), now(), now(), now()
      FROM trainees tr WHERE NOT EXISTS (SELECT 1 FROM sync_tasks t WHERE t.trainee_id = tr.id)`);
    await client.query("ANALYZE");
  } finally {
    await client.end();
  }
}

export async function failedJobsScenario(options: { quick: boolean } = { quick: false }): Promise<Record<string, number>> {
  const FAILED = Number(process.env.BENCH_FAILED_JOBS ?? (options.quick ? 10_000 : 100_000));
  const database = await benchDatabase("failed");
  let web: WebProcess | undefined;
  try {
    web = await startWeb(database.url);
    const page = () => timed(5, () => web!.time("admin/dead-jobs"));
    // the baseline, in the same run: the same page with 1,000 failed jobs
    await seed(database.url, 1, BASELINE);
    const baseline = await page();
    const seeded = performance.now();
    await seed(database.url, BASELINE + 1, FAILED);
    const seedSeconds = (performance.now() - seeded) / 1000;
    const first = await page();

    const pid = web.child.pid!;
    const before = memory(pid);
    const started = performance.now();
    let rows = -1;
    let peak = before.rssMiB;
    const sampler = setInterval(() => (peak = Math.max(peak, memory(pid).rssMiB)), 20);
    await new Promise<void>((resolve, reject) => {
      const stream = web!.http.stream("admin/dead-jobs.csv");
      stream.on("data", (chunk: Buffer) => {
        for (const byte of chunk) if (byte === 10) rows++;
      });
      stream.on("end", resolve);
      stream.on("error", reject);
    });
    clearInterval(sampler);
    const csvSeconds = (performance.now() - started) / 1000;
    if (rows !== FAILED) throw new Error(`the CSV had ${rows} rows, not ${FAILED}`);
    return {
      failed_jobs: FAILED,
      seed_seconds: Number(seedSeconds.toFixed(1)),
      first_page_ms_median: Math.round(first.median),
      first_page_ms_max: Math.round(first.max),
      first_page_ms_median_at_1000: Math.round(baseline.median),
      first_page_ratio_to_1000: Number((first.median / baseline.median).toFixed(2)),
      csv_seconds: Number(csvSeconds.toFixed(2)),
      csv_rows_per_second: Math.round(FAILED / csvSeconds),
      web_rss_before_mib: Math.round(before.rssMiB),
      web_rss_peak_during_csv_mib: Math.round(peak),
      web_rss_peak_ratio_to_before: Number((peak / before.rssMiB).toFixed(2)),
    };
  } finally {
    await web?.stop();
    await database.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const figures = await failedJobsScenario({ quick: process.argv.includes("--quick") });
    console.table(figures);
    console.log(JSON.stringify({ failedJobs: figures }));
  } finally {
    await dropBenchTemplate();
  }
}
