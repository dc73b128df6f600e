/**
 * Bench scenario "failed jobs at scale": 100,000 failed jobs in Postgres, a real `web` process
 * (src/main-web.ts), and the time of the first failed-jobs page and of the whole CSV export, with
 * the web process's peak resident memory during the export. The baseline, measured in the same
 * run: the same first page with 1,000 failed jobs, and the web process's memory before the export. `npx tsx bench/failed-jobs.ts` alone,
 * or as part of `npm run bench`.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { performance } from "node:perf_hooks";
import got from "got";
import pg from "pg";
import { applyMigrations } from "../src/db/migrations.js";
import { hashPassword } from "../src/dashboard/auth.js";

const FAILED = Number(process.env.BENCH_FAILED_JOBS ?? 100_000);
const BASELINE = 1_000;
const admin = process.env.BENCH_ADMIN_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** Peak and current resident memory of a process, in MiB (Linux /proc). */
function memory(pid: number): { peakMiB: number; rssMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { peakMiB: kib("VmHWM") / 1024, rssMiB: kib("VmRSS") / 1024 };
}

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

export async function failedJobsScenario(): Promise<Record<string, number>> {
  const name = `trs_sync_bench_${process.pid}_${randomUUID().slice(0, 6)}`;
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  const port = await freePort();
  const password = "bench-password";
  const web = spawn(process.execPath, ["--import", "tsx", "src/main-web.ts"], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      TRS_API_BASE_URL: "http://127.0.0.1:1",
      TRS_API_KEY: "k",
      DASHBOARD_USERS: `bench:viewer:${hashPassword(password)}`,
      SESSION_SECRET: "bench-session-secret-0123456789",
      REDIS_PREFIX: `bench-${process.pid}`,
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  try {
    await applyMigrations({ databaseUrl });
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try {
        await got(`${base}/healthz`, { retry: { limit: 0 } });
        break;
      } catch (error) {
        if (i > 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const cookies = new Map<string, string>();
    const jar = {
      getCookieString: async () => [...cookies].map(([k, v]) => `${k}=${v}`).join("; "),
      setCookie: async (raw: string) => {
        const [pair = ""] = raw.split(";");
        const at = pair.indexOf("=");
        cookies.set(pair.slice(0, at), pair.slice(at + 1));
      },
    };
    const http = got.extend({ prefixUrl: base, cookieJar: jar, followRedirect: false, throwHttpErrors: false, retry: { limit: 0 } });
    const form = await http.get("admin/login");
    const token = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? "";
    await http.post("admin/login", { form: { _csrf: token, name: "bench", password } });

    /** Times of the first failed-jobs page (the first load warms the templates and is not counted). */
    const firstPage = async () => {
      const times: number[] = [];
      for (let i = 0; i < 6; i++) {
        const started = performance.now();
        const page = await http.get("admin/dead-jobs");
        if (page.statusCode !== 200) throw new Error(`failed-jobs page answered ${page.statusCode}`);
        times.push(performance.now() - started);
      }
      return times.slice(1).sort((a, b) => a - b);
    };
    // the baseline, in the same run: the same page with 1,000 failed jobs
    await seed(databaseUrl, 1, BASELINE);
    const baseline = await firstPage();
    const seeded = performance.now();
    await seed(databaseUrl, BASELINE + 1, FAILED);
    const seedSeconds = (performance.now() - seeded) / 1000;
    const pageTimes = await firstPage();
    const median = (times: number[]) => times[Math.floor(times.length / 2)]!;
    const before = memory(web.pid!);
    const started = performance.now();
    let rows = -1;
    let peak = before.rssMiB;
    const sampler = setInterval(() => (peak = Math.max(peak, memory(web.pid!).rssMiB)), 20);
    await new Promise<void>((resolve, reject) => {
      const stream = http.stream("admin/dead-jobs.csv");
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
      first_page_ms_median: Math.round(median(pageTimes)),
      first_page_ms_max: Math.round(pageTimes[pageTimes.length - 1]!),
      first_page_ms_median_at_1000: Math.round(median(baseline)),
      first_page_ratio_to_1000: Number((median(pageTimes) / median(baseline)).toFixed(2)),
      csv_seconds: Number(csvSeconds.toFixed(2)),
      csv_rows_per_second: Math.round(FAILED / csvSeconds),
      web_rss_before_mib: Math.round(before.rssMiB),
      web_rss_peak_during_csv_mib: Math.round(peak),
      web_rss_peak_ratio_to_before: Number((peak / before.rssMiB).toFixed(2)),
    };
  } finally {
    web.kill("SIGTERM");
    await new Promise((resolve) => web.once("exit", resolve));
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.end();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await failedJobsScenario();
  console.table(figures);
  console.log(JSON.stringify({ failedJobs: figures }));
}
