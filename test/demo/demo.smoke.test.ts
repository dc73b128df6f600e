/**
 * `npm run demo` end to end: the script as a child process against the local Postgres (a database
 * of its own, dropped afterwards) and Redis (a prefix of its own, deleted afterwards), with
 * DEMO_EXIT_AFTER_SEED so that it exits once every seeded trainee reached its state.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { request as httpRequest } from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import got from "got";
import { Redis } from "ioredis";
import { afterAll, expect, it } from "vitest";
import { databaseUrl, testRedisUrl, withAdminClient } from "../support/services.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const id = randomUUID().replaceAll("-", "").slice(0, 10);
const database = `trs_sync_demo_test_${id}`;
const redisPrefix = `trs-sync-demo-test-${id}`;
const slugs = [
  "demo-ada-lovelace",
  "demo-alan-turing",
  "demo-grace-hopper",
  "demo-katherine-johnson",
  "demo-mary-somerville",
  "demo-charles-babbage",
];
let running: { pid: number; exited: boolean } | null = null;

afterAll(async () => {
  if (running && !running.exited) process.kill(-running.pid, "SIGKILL");
  await withAdminClient((client) => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
  const redis = new Redis(testRedisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${redisPrefix}:*`, "COUNT", 500);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    await redis.quit();
  }
});

/**
 * POSTs a form and answers the status, without following redirects. node:http rather than fetch:
 * nock's fetch interceptor (test/support/per-file.ts) consumes a request body it lets through.
 */
function postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<number> {
  const body = new URLSearchParams(fields).toString();
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers } },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    request.once("error", reject);
    request.end(body);
  });
}

/** What the running demo serves, checked once it printed DEMO_READY. */
async function checkWhileRunning(webUrl: string) {
  const health = await fetch(`${webUrl}/healthz`);
  const trainee = await fetch(`${webUrl}/api/v1/trainees/demo-ada-lovelace`, { headers: { authorization: "Bearer demo-token" } });
  const withoutToken = await fetch(`${webUrl}/api/v1/trainees/demo-ada-lovelace`);
  // The printed dashboard accounts sign in (303 to the dashboard); a wrong password does not (401).
  const signIn = async (name: string, password: string) => {
    const form = await got(`${webUrl}/admin/login`, { retry: { limit: 0 } });
    const cookie = (form.headers["set-cookie"] ?? []).map((c) => c.split(";")[0]).join("; ");
    const _csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? "";
    return postForm(`${webUrl}/admin/login`, { _csrf, name, password }, { cookie });
  };
  return {
    health: health.status,
    trainee: trainee.status,
    traineeBody: (await trainee.json()) as { slug?: string },
    withoutToken: withoutToken.status,
    signIns: [await signIn("support", "support-demo"), await signIn("viewer", "viewer-demo"), await signIn("support", "viewer-demo")],
  };
}

it("seeds trainees that reach their states, serves them while running, and exits 0", async () => {
  const child = spawn("npx", ["tsx", "scripts/demo.ts"], {
    cwd: root,
    // its own process group, so that a hung demo can be killed with everything under npx
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      DEMO_EXIT_AFTER_SEED: "1",
      DATABASE_URL: databaseUrl(database),
      REDIS_URL: testRedisUrl,
      REDIS_PREFIX: redisPrefix,
      PORT: "0",
      SANDBOX_PORT: "0",
      LOG_LEVEL: "warn",
    },
  });
  running = { pid: child.pid!, exited: false };
  let stdout = "";
  let stderr = "";
  let checks: Promise<Awaited<ReturnType<typeof checkWhileRunning>>> | null = null;
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    const ready = /^DEMO_READY (\S+)$/m.exec(stdout);
    if (ready && !checks) {
      checks = checkWhileRunning(ready[1]!);
      checks.catch(() => {}); // awaited below, after the demo exited
    }
  });
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", (exitCode) => resolve(exitCode)));
  running.exited = true;

  const output = `--- stdout\n${stdout}\n--- stderr\n${stderr}`;
  expect(code, output).toBe(0);
  expect(stdout).toContain("/healthz");
  expect(stdout).toContain("/admin");
  expect(stdout).toContain("support / support-demo");
  expect(stdout).toContain("/__sandbox/requests");
  for (const slug of slugs) expect(stdout).toContain(`/api/v1/trainees/${slug}`);
  expect(stdout).toContain("Every trainee is where its story ends");
  // the local receiver verified and printed events for the upstream application
  expect(stdout).toMatch(/upstream event trn\.received\s+demo-/);
  expect(stdout).not.toContain("bad signature");

  expect(checks, `no DEMO_READY line\n${output}`).not.toBeNull();
  const seen = await checks!;
  expect(seen.health).toBe(200);
  expect(seen.trainee).toBe(200);
  expect(seen.traineeBody.slug).toBe("demo-ada-lovelace");
  expect(seen.withoutToken).toBe(401);
  expect(seen.signIns).toEqual([303, 303, 401]);
}, 120_000);
