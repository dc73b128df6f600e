/**
 * End-to-end harness: the sandbox TRS/DQT API, a Slack webhook stand-in, the web app and a worker
 * process (workers, dispatcher, reconciler), all on this machine with a test file's own database
 * and Redis prefix.
 */
import express from "express";
import { createSandbox, type Sandbox, type SandboxOptions } from "../../src/sandbox/server.js";
import { createApp } from "../../src/web/app.js";
import { startWorkerProcess } from "../../src/worker-process.js";
import type { TeacherRecordsClient } from "../../src/clients/teacher-records.js";
import { createTeacherRecordsClient } from "../../src/clients/create-client.js";
import { createTestWorld, eventually, type TestWorld } from "./context.js";
import { client, serve } from "./http.js";

export interface SlackStandIn {
  url: string;
  /** messages Slack accepted (200) */
  accepted: { text: string; blocks: unknown[] }[];
  /** answer this many requests with 500 before accepting */
  failNext(count: number): void;
  requests(): number;
  close(): Promise<void>;
}

export async function startSlackStandIn(): Promise<SlackStandIn> {
  const accepted: SlackStandIn["accepted"] = [];
  let failures = 0;
  let requests = 0;
  const app = express();
  app.use(express.json());
  app.post("/hook", (req, res) => {
    requests++;
    if (failures > 0) {
      failures--;
      res.status(500).send("internal_error");
      return;
    }
    accepted.push(req.body);
    res.status(200).send("ok");
  });
  const server = await serve(app);
  return {
    url: `${server.url}/hook`,
    accepted,
    failNext: (count) => (failures = count),
    requests: () => requests,
    close: server.close,
  };
}

export interface Harness {
  sandbox: Sandbox;
  slack: SlackStandIn;
  world: TestWorld;
  api: ReturnType<typeof client>;
  /** the web app's base URL (upstream API and dashboard) */
  webUrl: string;
  /** starts (another) worker process on the same database and Redis */
  startWorker(): Promise<Awaited<ReturnType<typeof startWorkerProcess>>>;
  /** stops every worker started so far */
  stopWorkers(): Promise<void>;
  trainee(slug: string): Promise<{
    state: string;
    trn: string | null;
    awardedAt: string | null;
    sync: { pending: { jobType: string; state: string }[]; failed: { taskId: string; jobType: string; errorClass: string }[] };
  }>;
  waitFor<T>(what: string, check: () => Promise<T | undefined | null | false>, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

export async function startHarness(
  options: {
    api?: "trs" | "dqt";
    env?: Record<string, string>;
    sandbox?: SandboxOptions;
    startWorker?: boolean;
    /** a migrated database of the test's own (a private Postgres) */
    database?: { url: string; drop(): Promise<void> };
    /** TRS_WEBHOOKS=on, and the sandbox sends its webhooks to the web app's /webhooks/trs */
    webhooks?: boolean;
    /** wraps the real client, to simulate lost answers */
    wrapApi?: (api: TeacherRecordsClient) => TeacherRecordsClient;
  } = {},
): Promise<Harness> {
  const sandbox = createSandbox({ pendingCompletesAfterMs: 300, ...options.sandbox });
  const sandboxUrl = await sandbox.listen(0);
  const slack = await startSlackStandIn();
  const env = {
    TEACHER_RECORDS_API: options.api ?? "trs",
    TRS_API_BASE_URL: sandboxUrl,
    TRS_API_KEY: "sandbox-key",
    DQT_API_BASE_URL: sandboxUrl,
    DQT_API_KEY: "sandbox-key",
    TRN_POLL_FIRST_DELAY: "100ms",
    TRN_POLL_MAX_INTERVAL: "400ms",
    JOB_RETRY_BASE_DELAY: "50ms",
    API_TIMEOUT: "5s",
    SLACK_WEBHOOK_URL: slack.url,
    RECONCILE_INTERVAL: "1h",
    WORKER_CONCURRENCY: "4",
    DATABASE_POOL_SIZE: "8",
    ...(options.webhooks ? { TRS_WEBHOOKS: "on" } : {}),
    ...options.env,
  };
  const wrapped = options.wrapApi?.(
    createTeacherRecordsClient({
      kind: env.TEACHER_RECORDS_API as "trs" | "dqt",
      baseUrl: sandboxUrl,
      apiKey: "sandbox-key",
      version: "20250627",
      timeoutMs: 5_000,
    }),
  );
  const world = await createTestWorld({
    env,
    ...(wrapped ? { api: wrapped } : {}),
    ...(options.database ? { database: options.database } : {}),
  });
  const web = await serve(createApp(world.deps, world.queues));
  const api = client(web.url);
  // the sandbox signs for the address registered with TRS (PUBLIC_BASE_URL), and delivers to the
  // web app's own, as a proxy in front of it would
  const registered = world.deps.config.publicBaseUrlGiven;
  if (options.webhooks) sandbox.setWebhookUrl(`${web.url}/webhooks/trs`, registered ? { signedFor: `${registered}/webhooks/trs` } : {});
  const workers: Awaited<ReturnType<typeof startWorkerProcess>>[] = [];
  const startWorker = async () => {
    const worker = await startWorkerProcess(world.deps, world.queues);
    workers.push(worker);
    return worker;
  };
  if (options.startWorker !== false) await startWorker();

  return {
    sandbox,
    slack,
    world,
    api,
    webUrl: web.url,
    startWorker,
    async stopWorkers() {
      for (const worker of workers.splice(0)) await worker.stop();
    },
    async trainee(slug) {
      const response = await api.get(slug);
      if (response.status !== 200) throw new Error(`GET ${slug}: ${response.status}`);
      return response.body;
    },
    waitFor: (what, check, timeoutMs = 20_000) => eventually(check, { what, timeoutMs }),
    async stop() {
      for (const worker of workers) await worker.stop();
      await web.close();
      await world.cleanup();
      await slack.close();
      await sandbox.close();
    },
  };
}
