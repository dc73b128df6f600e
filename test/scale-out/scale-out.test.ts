/**
 * Scale-out, proven (issue 11 item 5): two web processes and three worker processes against a Redis
 * Cluster of three masters and one Postgres. Trainees are submitted, edited and recommended through
 * both web processes while the workers share the work; one worker is killed with SIGKILL mid-run.
 * Every ordering rule holds (a TRN before any update, the last update before the award), the rate
 * limit holds across processes, there is exactly one TRN request per trainee, and nothing is lost.
 *
 * Run by `npm run test:scale-out` (CI runs it); not part of `npm test`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stopChildren } from "../support/children.js";
import { client } from "../support/http.js";
import { startHarness, type Harness } from "../support/harness.js";
import { startRedisCluster, type RedisCluster } from "../support/redis-cluster.js";
import { spawnWorker } from "../support/worker-process.js";
import { traineeDoc } from "../support/documents.js";

const limit = 40;
const windowMs = 2_000;
let cluster: RedisCluster;
let harness: Harness;
const children: ChildProcess[] = [];
const unavailable: string[] = [];

async function spawnWeb(h: Harness, env: Record<string, string>): Promise<string> {
  const config = h.world.config;
  const child = spawn(process.execPath, ["--import", "tsx", "src/main-web.ts"], {
    env: {
      ...process.env,
      DATABASE_URL: config.databaseUrl,
      TRS_API_BASE_URL: config.api.baseUrl,
      TRS_API_KEY: "sandbox-key",
      API_TOKENS: "test-token",
      PORT: "0",
      WORKER_CONCURRENCY: "4",
      DATABASE_POOL_SIZE: "8",
      LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      const line = chunk
        .toString()
        .split("\n")
        .find((l) => l.includes("web listening"));
      if (line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once("exit", (code) => reject(new Error(`web exited with ${code}`)));
  });
  return `http://127.0.0.1:${port}`;
}

function mostInWindow(sorted: number[], window: number): number {
  let most = 0;
  let first = 0;
  for (let last = 0; last < sorted.length; last++) {
    while (sorted[last]! - sorted[first]! >= window) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  const env = {
    REDIS_CLUSTER_NODES: cluster.nodes.join(","),
    REDIS_PREFIX: "{trs-sync-scale}",
    API_RATE_LIMIT_PER_MINUTE: String(limit),
    API_RATE_LIMIT_WINDOW: `${windowMs}ms`,
    API_RATE_LIMIT_MAX_WAIT: "1s",
  };
  // the harness's own web process and its in-process worker share the cluster too
  harness = await startHarness({ env, sandbox: { pendingCompletesAfterMs: 300 } });
  const workerEnv = { ...env, JOB_LOCK_DURATION: "2s" };
  for (let i = 0; i < 3; i++) children.push(await spawnWorker(harness, workerEnv));
}, 120_000);

afterAll(async () => {
  await stopChildren(children);
  await harness?.stop();
  await cluster?.stop();
});

describe("several web and worker processes on a Redis Cluster", () => {
  it("keep every ordering rule, the rate limit and every change, with a worker killed mid-run", async () => {
    const h = harness;
    const secondWeb = client(
      await spawnWeb(h, {
        REDIS_CLUSTER_NODES: cluster.nodes.join(","),
        REDIS_PREFIX: "{trs-sync-scale}",
        API_RATE_LIMIT_PER_MINUTE: String(limit),
        API_RATE_LIMIT_WINDOW: `${windowMs}ms`,
      }),
    );
    const webs = [h.api, secondWeb];
    const count = 30;
    // some trainees' TRN requests stay pending a little, as at TRS; +legacy: TRS lets us change their personal details
    const docs = Array.from({ length: count }, (_, i) =>
      traineeDoc({ lastName: i % 3 === 0 ? "Lovelace +pending +legacy" : "Lovelace +legacy" }),
    );
    // the upstream application's rule: a 503 (busy) is sent again
    const put = async (web: (typeof webs)[number], slug: string, doc: unknown, status: number) => {
      for (let tries = 0; ; tries++) {
        const response = await web.put(slug, doc);
        if (response.status === 503 && tries < 20) {
          unavailable.push(JSON.stringify(response.body));
          await new Promise((resolve) => setTimeout(resolve, 200));
          continue;
        }
        expect(response.status, JSON.stringify(response.body)).toBe(status);
        return;
      }
    };
    await Promise.all(docs.map((doc, i) => put(webs[i % 2]!, doc.slug, doc, 201)));

    // while that runs, kill one worker outright
    await h.waitFor("some TRNs", async () => h.sandbox.requestLog().filter((r) => r.path === "/v3/trn-requests").length >= 5, 60_000);
    children[0]!.kill("SIGKILL");

    const withTrn = await Promise.all(
      docs.map(async (doc) => ({
        ...doc,
        trn: await h.waitFor(`${doc.slug} TRN`, async () => (await h.trainee(doc.slug)).trn as string | null, 120_000),
      })),
    );
    // an edit and at once the recommendation, through the other web process
    await Promise.all(
      withTrn.map(async (doc, i) => {
        const web = webs[(i + 1) % 2]!;
        await put(web, doc.slug, { ...doc, state: "trn_received", firstNames: "Augusta" }, 200);
        await put(web, doc.slug, { ...doc, state: "recommended_for_award", firstNames: "Augusta", outcomeDate: "2026-07-01" }, 200);
      }),
    );
    for (const doc of withTrn) {
      await h.waitFor(`${doc.slug} awarded`, async () => (await h.trainee(doc.slug)).state === "awarded", 180_000);
    }

    const log = h.sandbox.requestLog();
    const { prisma } = h.world.deps;
    for (const doc of withTrn) {
      const mine = log.filter((r) => r.path.startsWith(`/v3/persons/${doc.trn}`));
      // a person TRS created for us answers 10041 to personal-detail changes (counted as accepted): any answer
      const personPuts = mine.filter((r) => r.method === "PUT" && r.path === `/v3/persons/${doc.trn}` && r.status > 0);
      const holds = mine.filter(
        (r) =>
          r.method === "PUT" &&
          r.path.endsWith(`/routes-to-professional-statuses/${doc.slug}`) &&
          (r.body as { status?: string }).status === "Holds",
      );
      expect(holds.length, doc.slug).toBeGreaterThanOrEqual(1);
      // the update carrying the edit reached TRS before the award
      const edited = personPuts.findIndex((r) => (r.body as { firstName?: string }).firstName === "Augusta");
      expect(edited, `${doc.slug}: edit sent`).toBeGreaterThanOrEqual(0);
      expect(mine.indexOf(personPuts[edited]!)).toBeLessThan(mine.indexOf(holds[0]!));
      // exactly one TRN request
      expect(await prisma.trnRequest.count({ where: { trainee: { slug: doc.slug } } })).toBe(1);
    }
    const requestIds = log
      .filter((r) => r.method === "POST" && r.path === "/v3/trn-requests")
      .map((r) => (r.body as { requestId: string }).requestId);
    expect(new Set(requestIds).size).toBe(count);
    expect(await prisma.syncTask.count({ where: { state: "failed" } })).toBe(0);
    // the limit held across the five processes that sent requests
    const arrivals = log.map((r) => Date.parse(r.at)).sort((a, b) => a - b);
    expect(mostInWindow(arrivals, windowMs)).toBeLessThanOrEqual(limit);
    console.log(
      `scale-out: ${log.length} requests to the sandbox, ${unavailable.length} PUTs answered 503 and sent again${unavailable.length ? `: ${[...new Set(unavailable)].join("; ")}` : ""}`,
    );
  }, 600_000);
});
