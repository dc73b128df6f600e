/**
 * `npm run demo`: the zero-config main job (CONTRACT.md §2). Uses Postgres and Redis where they
 * answer, else starts its own (scripts/demo/services.ts); migrates; runs the sandbox TRS/DQT API,
 * the web app and a worker in this one process; seeds a handful of trainees through the upstream
 * API that between them run every job type; prints where to look. Ctrl-C stops everything it
 * started, within 30 s.
 *
 * Environment (all optional):
 * - DATABASE_URL: default postgresql://postgres@127.0.0.1:5432/trs_sync_demo (created if missing)
 * - REDIS_URL: default redis://127.0.0.1:6379
 * - PORT: web, default 3000 (another free port when taken; 0 = any); SANDBOX_PORT: default 3100 (likewise)
 * - LOG_LEVEL: default warn, so the summary stays readable (info shows every job)
 * - UPSTREAM_WEBHOOK_URL (+ _SECRET): where events for the upstream application go; default a local
 *   receiver that verifies and prints them (scripts/demo/upstream-receiver.ts)
 * - REDIS_PREFIX (default trs-sync-demo), TEACHER_RECORDS_API (trs or dqt), SLACK_WEBHOOK_URL,
 *   TRN_POLL_*, UPDATE_DEBOUNCE: as for the service (scripts/demo/environment.ts has the demo's values)
 * - TRS_WEBHOOKS: on by default in the demo: the sandbox sends signed trn_request.completed webhooks
 *   to the web app's /webhooks/trs, and polling becomes the fallback (TRN_POLL_WEBHOOK_*, a minute in
 *   the demo); TRS_WEBHOOKS=off polls only, as without webhooks
 * - DEMO_EXIT_AFTER_SEED=1: once the trainees are where their stories end (at most 60 s), stop
 *   everything and exit 0, or 1 when one is not (for tests and CI)
 *
 * Prints `DEMO_READY <web url>` once the web app answers and the trainees exist.
 */
import { createServer, type Server } from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, loadConfig, type Config } from "../src/config.js";
import { applyMigrations } from "../src/db/migrations.js";
import { createDeps } from "../src/deps.js";
import { createQueues } from "../src/jobs/queues.js";
import { createLogger } from "../src/logger.js";
import { trnDeadline } from "../src/trainees/trn-schedule.js";
import { createSandbox, type Sandbox, type SandboxOptions } from "../src/sandbox/server.js";
import { createApp } from "../src/web/app.js";
import { startWorkerProcess } from "../src/worker-process.js";
import { demoAccounts, demoEnvironment, demoToken, sandboxKey } from "./demo/environment.js";
import { startDemoReceiver } from "./demo/upstream-receiver.js";
import { Lifecycle } from "./demo/lifecycle.js";
import { runFollowUps, seedTrainees, upstreamClient, waitForStories, type Say } from "./demo/seed.js";
import { DemoError, ensurePostgres, ensureRedis } from "./demo/services.js";
import { demoTrainees } from "./demo/trainees.js";

const defaultDatabaseUrl = "postgresql://postgres@127.0.0.1:5432/trs_sync_demo";
const defaultRedisUrl = "redis://127.0.0.1:6379";
/** How long DEMO_EXIT_AFTER_SEED waits for the trainees' stories to end. */
const storiesTimeoutMs = 60_000;
/** How long a follow-up waits for the trainee's TRN. */
const trnTimeoutMs = 90_000;
const shutdownDeadlineMs = 28_000;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const env = process.env;
const exitAfterSeed = ["1", "true"].includes(env.DEMO_EXIT_AFTER_SEED ?? "");
const lifecycle = new Lifecycle();
const startedAt = Date.now();
const say: Say = (line) => console.log(line);
const progress: Say = (line) => console.log(`  [+${Math.round((Date.now() - startedAt) / 1000)}s] ${line.trimStart()}`);

// ---------------------------------------------------------------------------------------------
// Stopping

let stopping = false;

async function stopAll(code: number, reason: string): Promise<never> {
  if (!stopping) {
    stopping = true;
    const quiet = lifecycle.isEmpty;
    if (!quiet) say(`\nStopping (${reason}) ...`);
    const deadline = setTimeout(() => {
      say("shutdown took longer than 30 s; exiting now");
      lifecycle.killAll();
      process.exit(1);
    }, shutdownDeadlineMs);
    deadline.unref();
    const clean = await lifecycle.stop((line) => say(line));
    if (!quiet) say(clean ? "Stopped." : "Stopped, with errors.");
    process.exit(clean ? code : Math.max(code, 1));
  }
  return new Promise<never>(() => {}); // the first caller exits
}

function onSignal(signal: NodeJS.Signals) {
  if (stopping) {
    say(`${signal} again: exiting now`);
    lifecycle.killAll();
    process.exit(130);
  }
  void stopAll(exitAfterSeed ? 130 : 0, signal);
}
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);
// Whatever happens, do not leave the Postgres or Redis we started behind.
process.on("exit", () => lifecycle.killAll());

// ---------------------------------------------------------------------------------------------
// Starting

/** Reads a port variable: `fallback` when unset, an error naming the variable when malformed. */
function portFrom(name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === "") return fallback;
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new DemoError(`${name} must be a port number (got "${text}")`);
  return Number(text);
}

const isAddressInUse = (error: unknown) => (error as { code?: string }).code === "EADDRINUSE";

/** The sandbox on `preferred`, or on a free port when that is taken. */
async function listenSandbox(options: SandboxOptions, preferred: number): Promise<{ sandbox: Sandbox; url: string }> {
  const sandbox = createSandbox(options);
  try {
    return { sandbox, url: await sandbox.listen(preferred) };
  } catch (error) {
    if (!isAddressInUse(error) || preferred === 0) throw error;
    const other = createSandbox(options); // a sandbox whose listen failed cannot listen again
    return { sandbox: other, url: await other.listen(0) };
  }
}

/**
 * The web server's socket, on `preferred` or a free port, before the app exists: the app's
 * configuration needs the URL. On 127.0.0.1 only: the demo accounts' passwords are public.
 */
async function listenWeb(preferred: number): Promise<{ server: Server; port: number }> {
  for (const port of preferred === 0 ? [0] : [preferred, 0]) {
    const server = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => resolve());
      });
      const address = server.address();
      if (address && typeof address === "object") return { server, port: address.port };
    } catch (error) {
      if (!isAddressInUse(error)) throw error;
    }
  }
  throw new DemoError("could not listen on any port for the web app");
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive connections would hold close() open until they time out.
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 5_000).unref();
  });
}

const withoutPassword = (url: string) => {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
};

async function start(): Promise<void> {
  say("trs-sync demo: starting (Ctrl-C stops everything it started)");
  const demoDir = path.join(root, ".demo");

  const postgres = await ensurePostgres({ databaseUrl: env.DATABASE_URL || defaultDatabaseUrl, explicit: !!env.DATABASE_URL, demoDir });
  if (postgres.started) lifecycle.add("postgres", { label: "Postgres", stop: postgres.started.stop, kill: postgres.started.kill });
  say(`  Postgres: ${postgres.started?.description ?? "already running"}, database ${withoutPassword(postgres.databaseUrl)}`);

  const redisUrl = env.REDIS_URL || defaultRedisUrl;
  const redis = await ensureRedis({ redisUrl, demoDir });
  if (redis.started) lifecycle.add("redis", { label: "Redis", stop: redis.started.stop, kill: redis.started.kill });
  say(`  Redis: ${redis.started?.description ?? "already running"}, ${withoutPassword(redisUrl)}`);

  const applied = await applyMigrations({ databaseUrl: postgres.databaseUrl });
  say(`  migrations: ${applied.length ? `applied ${applied.join(", ")}` : "up to date"}`);

  const logLevel = env.LOG_LEVEL || "warn";
  const { sandbox, url: sandboxUrl } = await listenSandbox(
    { apiKey: sandboxKey, pendingCompletesAfterMs: 20_000, logger: createLogger({ level: logLevel, name: "sandbox" }) },
    portFrom("SANDBOX_PORT", 3100),
  );
  lifecycle.add("sandbox", { label: "sandbox API", stop: () => sandbox.close() });

  const { server, port } = await listenWeb(portFrom("PORT", 3000));
  const webUrl = `http://127.0.0.1:${port}`;
  lifecycle.add("web", { label: "web", stop: () => closeServer(server) });

  // events for the upstream application go to a local receiver that prints them, unless a URL is given
  const receiver = env.UPSTREAM_WEBHOOK_URL ? null : await startDemoReceiver({ say: progress });
  if (receiver) lifecycle.add("receiver", { label: "upstream event receiver", stop: receiver.close });

  let config: Config;
  try {
    config = loadConfig({
      ...demoEnvironment({ env, databaseUrl: postgres.databaseUrl, redisUrl, sandboxUrl, webUrl, port }),
      ...(receiver ? { UPSTREAM_WEBHOOK_URL: receiver.url, UPSTREAM_WEBHOOK_SECRET: receiver.secret } : {}),
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const line of error.problems) console.error(`configuration: ${line}`);
    return void (await stopAll(78, "configuration error"));
  }
  if (config.trsWebhooks && config.api.kind === "trs") {
    // as TRS would be told by its support team: our endpoint, which verifies against the sandbox's JWKS
    sandbox.setWebhookUrl(`${webUrl}/webhooks/trs`);
    say(`  TRS webhooks on: the sandbox posts to ${webUrl}/webhooks/trs (keys at ${sandboxUrl}/webhook-jwks)`);
  }
  const deps = createDeps(config);
  const queues = createQueues(deps.redis, config.redisPrefix);
  lifecycle.add("queues", {
    label: "queues and connections",
    stop: async () => {
      await queues.close();
      await deps.close();
    },
  });
  server.on("request", createApp(deps, queues));
  const worker = await startWorkerProcess(deps, queues);
  lifecycle.add("worker", { label: "worker", stop: () => worker.stop() });
  say(`  web, worker and sandbox running (${config.api.kind.toUpperCase()} API, Redis prefix ${config.redisPrefix})`);

  const client = upstreamClient({ apiBase: `${webUrl}/api/v1`, token: demoToken });
  const trainees = demoTrainees(new Date());
  say("\nSeeding trainees through the upstream API:");
  const seedingAt = Date.now();
  const seeded = await seedTrainees({ client, trainees, sandboxUrl, sandboxKey, say });
  printSummary({ webUrl, sandboxUrl, config, trainees: seeded.map((s) => s.trainee) });
  say(`DEMO_READY ${webUrl}`);

  say("\nWhat the upstream application does next (a few seconds apart, after each TRN arrives):");
  await Promise.all(seeded.map((s) => runFollowUps({ client, seeded: s, say: progress, trnTimeoutMs })));
  const unmet = await waitForStories({ client, trainees, timeoutMs: exitAfterSeed ? storiesTimeoutMs : 120_000 });
  await printStates(client, trainees, unmet);

  if (exitAfterSeed) {
    await stopAll(
      unmet.size ? 1 : 0,
      unmet.size ? "DEMO_EXIT_AFTER_SEED: a trainee did not reach its state" : "DEMO_EXIT_AFTER_SEED: done",
    );
    return;
  }
  const stuck = seeded.find((s) => s.trainee.slug === "demo-grace-hopper" && !s.alreadyDone);
  if (stuck) {
    const at = trnDeadline(new Date(seedingAt), config.trnPoll).toTimeString().slice(0, 8);
    say(
      `\ndemo-grace-hopper's TRN request times out at about ${at}: the alert appears below as a warn log line ("alert (SLACK_WEBHOOK_URL is not set)")${config.slackWebhookUrl ? " and in Slack" : ""}.`,
    );
  }
  say("The demo keeps running; Ctrl-C stops it.");
}

function printSummary(options: { webUrl: string; sandboxUrl: string; config: Config; trainees: ReturnType<typeof demoTrainees> }) {
  const { webUrl, sandboxUrl, config } = options;
  const width = Math.max(...options.trainees.map((t) => t.slug.length));
  say(
    [
      "",
      "trs-sync demo is running:",
      `  web app          ${webUrl}`,
      `  health           ${webUrl}/healthz   (also ${webUrl}/readyz and ${webUrl}/metrics)`,
      `  upstream API     ${webUrl}/api/v1   with header "Authorization: Bearer ${demoToken}"`,
      `  dashboard        ${webUrl}/admin`,
      ...demoAccounts.map(
        (a) => `                   ${a.name} / ${a.password}   (${a.role === "support" ? "can retry and delete jobs" : "read only"})`,
      ),
      `  ${`sandbox ${config.api.kind.toUpperCase()} API`.padEnd(16)} ${sandboxUrl}   (key "${sandboxKey}")`,
      `  request log      ${sandboxUrl}/__sandbox/requests`,
      `  upstream events  ${config.upstreamWebhooks?.url ?? "off"}   (printed below as "upstream event ...")`,
      `  logs             pino JSON on stdout at level ${config.logLevel}${config.logLevel === "warn" ? " (LOG_LEVEL=info shows every job)" : ""}`,
      "",
      "Seeded trainees:",
      ...options.trainees.flatMap((t) => [
        `  ${t.slug.padEnd(width)}  curl -H "Authorization: Bearer ${demoToken}" ${webUrl}/api/v1/trainees/${t.slug}`,
        `  ${" ".repeat(width)}  ${t.story}`,
      ]),
    ].join("\n"),
  );
}

async function printStates(
  client: ReturnType<typeof upstreamClient>,
  trainees: ReturnType<typeof demoTrainees>,
  unmet: Map<string, string>,
) {
  say(unmet.size ? "\nNot every trainee got where its story ends:" : "\nEvery trainee is where its story ends (so far):");
  for (const trainee of trainees) {
    const view = await client.get(trainee.slug);
    const failed = view?.sync.failed.map((t) => `${t.jobType} failed: ${t.errorClass}`) ?? [];
    const pending = view?.sync.pending.map((t) => t.jobType) ?? [];
    const facts = [
      view?.state ?? "missing",
      view?.trn ? `TRN ${view.trn}` : "no TRN",
      ...failed,
      ...(pending.length ? [`waiting: ${pending.join(", ")}`] : []),
    ];
    say(`  ${trainee.slug.padEnd(24)} ${facts.join("; ")}${unmet.has(trainee.slug) ? `   <-- ${unmet.get(trainee.slug)}` : ""}`);
  }
}

start().catch(async (error: unknown) => {
  if (error instanceof DemoError) console.error(`demo: ${error.message}`);
  else console.error("demo: failed:", error);
  await stopAll(1, "start-up failed");
});
