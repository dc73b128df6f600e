/**
 * Bench scenario "a year of history": about 100,000 trainees with a year of sync work behind them
 * (some 600,000 tasks, 3 million timeline events), and the time of what runs all day on top of it:
 * the head-task query, the dashboard's pages, the upstream API's GETs and a /metrics scrape; then a
 * retention run. The baseline, in the same run: the same queries over 1,000 trainees' history.
 * `npx tsx bench/history.ts` alone, or as part of `npm run bench`.
 */
import { performance } from "node:perf_hooks";
import pg from "pg";
import { createPrisma } from "../src/deps.js";
import { loadConfig } from "../src/config.js";
import { headTask } from "../src/trainees/sync-tasks.js";
import { runRetention } from "../src/jobs/retention.js";
import { benchDatabase, startWeb, timed, dropBenchTemplate } from "./web-process.js";

const BASELINE = 1_000;
const day = 86_400_000;

/**
 * Trainees numbered from..to, with a year of history each, written in time order (ids grow with
 * time, as they do in production): documents accepted, the TRN registered and polled, updates,
 * and for some a withdrawal or an award; 1 in 100 has a failed update, 1 in 30 still waits for a TRN.
 */
export async function seedHistory(databaseUrl: string, from: number, to: number): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO trainees (id, slug, trn, state, first_names, last_name, date_of_birth, sex, email, training_route,
         provider_ukprn, provider_name, itt_start_date, itt_end_date, course_subjects, course_min_age, course_max_age,
         document_hash, submitted_for_trn_at, created_at, updated_at)
       SELECT gen_random_uuid(), 'history-' || n,
         CASE WHEN n % 30 = 0 THEN NULL ELSE lpad((3000000 + n)::text, 7, '0') END,
         (CASE WHEN n % 30 = 0 THEN 'submitted_for_trn' WHEN n % 10 = 1 THEN 'awarded' WHEN n % 20 = 2 THEN 'withdrawn'
               WHEN n % 50 = 3 THEN 'recommended_for_award' ELSE 'trn_received' END)::"TraineeState",
         'First' || n, 'Last' || n, date '1990-01-01' + (n % 3000), 'female', 'trainee' || n || '@example.com',
         'provider_led_postgrad', '10000001', 'Example Teacher Training', date '2025-09-01', date '2026-07-31',
         ARRAY['100425'], 11, 16, md5(n::text), now() - interval '365 days', now() - interval '365 days', now()
       FROM generate_series($1::int, $2::int) AS n`,
      [from, to],
    );
    // tasks: register, poll, five updates, and a withdrawal or an award where the state says so
    await client.query(
      `WITH t AS (SELECT id, state, (substring(slug from 9))::int AS n FROM trainees WHERE slug LIKE 'history-%'
                    AND (substring(slug from 9))::int BETWEEN $1 AND $2),
            work AS (
              SELECT t.id, 'register_for_trn'::"SyncTaskKind" AS kind, 0 AS phase, 'succeeded'::"SyncTaskState" AS state, 365 AS days_ago FROM t
              UNION ALL SELECT t.id, 'poll_trn', 0, CASE WHEN t.n % 30 = 0 THEN 'queued' ELSE 'succeeded' END::"SyncTaskState", 364 FROM t
              UNION ALL SELECT t.id, 'update_trainee', 1,
                CASE WHEN t.n % 100 = 7 AND u = 5 THEN 'failed' ELSE 'succeeded' END::"SyncTaskState", 360 - u * 60
                FROM t CROSS JOIN generate_series(1, 5) AS u WHERE t.n % 30 <> 0
              UNION ALL SELECT t.id, 'withdraw_trainee', 1, 'succeeded', 20 FROM t WHERE t.state = 'withdrawn'
              UNION ALL SELECT t.id, 'award_trainee', 2, CASE WHEN t.state = 'awarded' THEN 'succeeded' ELSE 'pending' END::"SyncTaskState", 10
                FROM t WHERE t.state IN ('awarded', 'recommended_for_award'))
       INSERT INTO sync_tasks (trainee_id, kind, phase, state, attempts, error_class, http_status, failed_at, finished_at,
                               available_at, created_at, updated_at)
       SELECT id, kind, phase, state, CASE WHEN state = 'failed' THEN 10 ELSE 1 END,
              CASE WHEN state = 'failed' THEN 'validation_failed' END, CASE WHEN state = 'failed' THEN 400 END,
              CASE WHEN state = 'failed' THEN now() - days_ago * interval '1 day' END,
              CASE WHEN state IN ('succeeded') THEN now() - days_ago * interval '1 day' END,
              now() - days_ago * interval '1 day', now() - days_ago * interval '1 day', now() - days_ago * interval '1 day'
       FROM work ORDER BY days_ago DESC`,
      [from, to],
    );
    // events: two per task (started, outcome) and twenty documents accepted over the year
    await client.query(
      `WITH t AS (SELECT id FROM trainees WHERE slug LIKE 'history-%' AND (substring(slug from 9))::int BETWEEN $1 AND $2),
            e AS (
              SELECT s.trainee_id, s.kind::text || '_started' AS kind, 'info' AS outcome, s.id AS task_id, s.created_at AS at
                FROM sync_tasks s JOIN t ON t.id = s.trainee_id
              UNION ALL SELECT s.trainee_id, s.kind::text || CASE WHEN s.state = 'failed' THEN '_failed' ELSE '_succeeded' END,
                CASE WHEN s.state = 'failed' THEN 'failure' ELSE 'success' END, s.id, s.created_at + interval '2 seconds'
                FROM sync_tasks s JOIN t ON t.id = s.trainee_id WHERE s.state IN ('succeeded', 'failed')
              UNION ALL SELECT t.id, 'document_accepted', 'info', NULL, now() - (365 - d * 18) * interval '1 day' - interval '1 hour'
                FROM t CROSS JOIN generate_series(1, 20) AS d)
       INSERT INTO sync_events (trainee_id, kind, outcome, task_id, message, created_at)
       SELECT trainee_id, kind, outcome, task_id, kind, at FROM e ORDER BY at`,
      [from, to],
    );
    await client.query("ANALYZE");
  } finally {
    await client.end();
  }
}

async function counts(databaseUrl: string): Promise<{ trainees: number; tasks: number; events: number }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ trainees: string; tasks: string; events: string }>(
      `SELECT (SELECT count(*) FROM trainees) AS trainees, (SELECT count(*) FROM sync_tasks) AS tasks, (SELECT count(*) FROM sync_events) AS events`,
    );
    return { trainees: Number(rows[0]!.trainees), tasks: Number(rows[0]!.tasks), events: Number(rows[0]!.events) };
  } finally {
    await client.end();
  }
}

export async function historyScenario(options: { quick: boolean } = { quick: false }): Promise<Record<string, number>> {
  const TRAINEES = Number(process.env.BENCH_HISTORY_TRAINEES ?? (options.quick ? 10_000 : 100_000));
  const database = await benchDatabase("history");
  const web = await startWeb(database.url);
  const { prisma, pool } = createPrisma(loadConfig({ DATABASE_URL: database.url, TRS_API_BASE_URL: "http://127.0.0.1:1", TRS_API_KEY: "k" }), 4);
  try {
    const measure = async (upTo: number) => {
      const ids = await prisma.trainee.findMany({ select: { id: true }, take: 200, skip: Math.floor(upTo / 3) });
      const slug = `history-${Math.floor(upTo / 2) + 7}`; // one with a failed update
      let next = 0;
      const head = await timed(200, async () => {
        const started = performance.now();
        await headTask(prisma, ids[next++ % ids.length]!.id);
        return performance.now() - started;
      });
      return {
        head_task_ms: head.median,
        overview_ms: (await timed(5, () => web.time("admin"))).median,
        failed_jobs_ms: (await timed(5, () => web.time("admin/dead-jobs"))).median,
        pending_trns_ms: (await timed(5, () => web.time("admin/pending-trns"))).median,
        pending_awards_ms: (await timed(5, () => web.time("admin/pending-awards"))).median,
        trainee_page_ms: (await timed(5, () => web.time(`admin/trainees/${slug}`))).median,
        api_get_ms: (await timed(5, () => web.time(`api/v1/trainees/${slug}`, web.api))).median,
        api_timeline_ms: (await timed(5, () => web.time(`api/v1/trainees/${slug}/timeline`, web.api))).median,
        metrics_scrape_ms: (await timed(5, () => web.time("metrics", web.api))).median,
      };
    };
    await seedHistory(database.url, 1, BASELINE);
    const baseline = await measure(BASELINE);
    const seeded = performance.now();
    await seedHistory(database.url, BASELINE + 1, TRAINEES);
    const seedSeconds = (performance.now() - seeded) / 1000;
    const size = await counts(database.url);
    const full = await measure(TRAINEES);
    // retention over the same data with a half-year period: about half of the finished history goes
    const started = performance.now();
    const report = await runRetention({ db: prisma, now: new Date(), periodMs: 182 * day });
    const retentionSeconds = (performance.now() - started) / 1000;
    const after = await measure(TRAINEES);

    const figures: Record<string, number> = { ...size, seed_seconds: Number(seedSeconds.toFixed(1)) };
    for (const [name, ms] of Object.entries(full)) {
      const key = name.replace(/_ms$/, "");
      figures[`${key}_ms`] = Number(ms.toFixed(1));
      figures[`${key}_ms_at_${BASELINE}`] = Number(baseline[name as keyof typeof baseline].toFixed(1));
      figures[`${key}_ratio`] = Number((ms / baseline[name as keyof typeof baseline]).toFixed(2));
      figures[`${key}_ms_after_retention`] = Number(after[name as keyof typeof after].toFixed(1));
    }
    figures.retention_seconds = Number(retentionSeconds.toFixed(1));
    figures.retention_tasks_deleted = report.tasks;
    figures.retention_events_deleted = report.events;
    return figures;
  } finally {
    await prisma.$disconnect();
    await pool.end();
    await web.stop();
    await database.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const figures = await historyScenario({ quick: process.argv.includes("--quick") });
    console.table(figures);
    console.log(JSON.stringify({ history: figures }));
  } finally {
    await dropBenchTemplate();
  }
}
