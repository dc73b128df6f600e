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

/** A new, migrated database. */
export async function benchDatabase(label: string): Promise<BenchDatabase> {
  const name = `trs_sync_bench_${label}_${process.pid}_${randomUUID().slice(0, 6)}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  await applyMigrations({ databaseUrl: url.toString() });
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
  /** ms of one GET, checked for 200 */
  time(path: string, client?: Got): Promise<number>;
  stop(): Promise<void>;
}

export async function startWeb(databaseUrl: string): Promise<WebProcess> {
  const port = await freePort();
  const password = "bench-password";
  const child = spawn(process.execPath, ["--import", "tsx", "src/main-web.ts"], {
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
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      await got(`${base}/healthz`, { retry: { limit: 0 } });
      break;
    } catch (error) {
      if (i > 200) throw error;
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
