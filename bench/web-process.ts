/**
 * For the bench scenarios that measure the web process: a database of their own, a real `web`
 * process (src/main-web.ts) on a free port, a signed-in dashboard client, and the process's memory.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { performance } from "node:perf_hooks";
import got, { type Got } from "got";
import pg from "pg";
import { applyMigrations } from "../src/db/migrations.js";
import { hashPassword } from "../src/dashboard/auth.js";
import { askChild } from "./ipc.js";

const admin = process.env.BENCH_ADMIN_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** Peak and current resident memory of a process, in MiB (Linux /proc). */
export function memory(pid: number): { peakMiB: number; rssMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { peakMiB: kib("VmHWM") / 1024, rssMiB: kib("VmRSS") / 1024 };
}

export interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * The migrated template every bench database is copied from: migrated once per process (the
 * schema engine's WebAssembly cannot be loaded twice in one process), dropped by dropBenchTemplate().
 */
let template: Promise<string> | undefined;
const templateName = `trs_sync_bench_template_${process.pid}`;

function migratedTemplate(): Promise<string> {
  template ??= (async () => {
    const url = new URL(admin);
    url.pathname = `/${templateName}`;
    await applyMigrations({ databaseUrl: url.toString() });
    return templateName;
  })();
  return template;
}

export async function dropBenchTemplate(): Promise<void> {
  if (!template) return;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${templateName} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** A new, migrated database. */
export async function benchDatabase(label: string): Promise<BenchDatabase> {
  const name = `trs_sync_bench_${label.replace(/\W/g, "_")}_${process.pid}_${randomUUID().slice(0, 6)}`;
  const source = await migratedTemplate();
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name} TEMPLATE ${source}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

export interface WebProcess {
  child: ChildProcess;
  /** a dashboard client signed in as a viewer (cookies kept), answers never thrown */
  http: Got;
  /** the upstream API with its token */
  api: Got;
  /** Postgres statements and Redis commands the process sent (bench/round-trips.ts) */
  roundTrips(): Promise<{ pg: number; redis: number; redisCommands: number }>;
  resetRoundTrips(): Promise<void>;
  /** ms of one GET, checked for 200 */
  time(path: string, client?: Got): Promise<number>;
  stop(): Promise<void>;
}

export async function startWeb(databaseUrl: string, options: { profile?: string; env?: Record<string, string> } = {}): Promise<WebProcess> {
  const port = await freePort();
  const password = "bench-password";
  const profile = process.env.BENCH_PROFILE;
  const flags =
    profile && options.profile
      ? ["--cpu-prof", `--cpu-prof-dir=${profile}`, `--cpu-prof-name=${options.profile}-${Date.now()}.cpuprofile`]
      : [];
  // round-trips.ts counts Postgres statements and Redis commands (read with roundTrips())
  const child = spawn(process.execPath, [...flags, "--import", "tsx", "--import", "./bench/round-trips.ts", "src/main-web.ts"], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      TRS_API_BASE_URL: "http://127.0.0.1:1",
      TRS_API_KEY: "k",
      API_TOKENS: "bench-token",
      DASHBOARD_USERS: `bench:viewer:${hashPassword(password)}`,
      SESSION_SECRET: "bench-session-secret-0123456789",
      REDIS_PREFIX: `bench-${process.pid}`,
      LOG_LEVEL: "warn",
      ...options.env,
    },
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      await got(`${base}/healthz`, { retry: { limit: 0 } });
      break;
    } catch (error) {
      // a busy machine may take a minute to start it (tsx compiles as it loads)
      if (i > 1_200 || child.exitCode !== null) throw error;
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
  const api = got.extend({
    prefixUrl: base,
    headers: { authorization: "Bearer bench-token" },
    throwHttpErrors: false,
    retry: { limit: 0 },
  });
  return {
    child,
    http,
    api,
    roundTrips: () => askChild(child, "round-trips"),
    resetRoundTrips: () => askChild<unknown>(child, "reset-round-trips").then(() => undefined),
    async time(path, client = http) {
      const started = performance.now();
      const answer = await client.get(path);
      if (answer.statusCode !== 200) throw new Error(`${path} answered ${answer.statusCode}`);
      return performance.now() - started;
    },
    async stop() {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    },
  };
}

/** The median of `runs` timings after one warm-up, and the largest. */
export async function timed(runs: number, once: () => Promise<number>): Promise<{ median: number; max: number }> {
  await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, max: times[times.length - 1]! };
}
