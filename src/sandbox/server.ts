/**
 * The sandbox TRS/DQT API: an Express app that imitates the TRS v3 endpoints this service uses and
 * the legacy DQT v2 ones, with their exact request and error shapes (trs-api.md §8), plus markers
 * (markers.ts) and injected faults (faults.ts) to provoke every error on purpose. Used by
 * `npm run demo`, `npm run sandbox` and the tests; each createSandbox() has its own state.
 */
import { type Server, STATUS_CODES } from "node:http";
import express, { type ErrorRequestHandler, type Express } from "express";
import type { Logger } from "pino";
import { createControlRouter } from "./control-routes.js";
import type { SandboxContext } from "./context.js";
import { createDqtRouter } from "./dqt-routes.js";
import { type Fault, FaultQueue } from "./faults.js";
import { sendEmpty, sendProblem, sendValidationProblem } from "./problems.js";
import { recordRequests, type SandboxRequestLogEntry } from "./request-log.js";
import { type PersonRecord, SandboxStore } from "./state.js";
import { createTrsRouter } from "./trs-routes.js";
import { SandboxWebhooks, type WebhookDelivery } from "./webhooks.js";

export type { SandboxRequestLogEntry } from "./request-log.js";

export interface SandboxOptions {
  /** the one API key accepted as `Authorization: Bearer <key>`; default "sandbox-key" */
  apiKey?: string;
  /** how long a `+pending` TRN request stays Pending before a read completes it, in ms; default 30 000 */
  pendingCompletesAfterMs?: number;
  /** the sandbox clock (today's date, pending delays, log times); default () => new Date() */
  now?: () => Date;
  /** how long `+slow` calls wait before answering, in ms; default 2000 */
  slowMs?: number;
  /** where to POST signed trn_request.completed webhooks; none are sent when absent */
  webhookUrl?: string;
  /** how late `+hookdelay` webhooks are sent, in ms; default 1000 */
  webhookDelayMs?: number;
  /** waits before each retry of a refused webhook, in ms; default 100, 300, 1000, 3000 */
  webhookRetryDelaysMs?: number[];
  /** when given, one line per TRS/DQT request (method, path, status; never bodies) and unexpected errors */
  logger?: Logger;
}

export type SeedPerson = Parameters<SandboxStore["seedPerson"]>[0];
export interface SeedTrnRequest {
  requestId: string;
  person: Parameters<SandboxStore["seedTrnRequest"]>[0]["person"];
  slugId?: string | null;
}

/** A person as the sandbox holds it, for tests and the demo. */
export interface SandboxPerson {
  trn: string;
  firstName: string;
  middleName: string | null;
  lastName: string;
  dateOfBirth: string;
  emailAddress: string | null;
  nationalInsuranceNumber: string | null;
  gender: string | null;
  /** TRS's "allow updates from the source application": PUT persons answers 10041 without it */
  allowPiiUpdates: boolean;
  slugId: string | null;
  qtsDate: string | null;
  eytsDate: string | null;
  /** TRS routes by reference */
  routes: Record<string, unknown>;
  /** DQT ITT records */
  itt: unknown[];
}

export interface Sandbox {
  app: Express;
  /** start listening (port 0 = random) on 127.0.0.1; resolves to base URL like http://127.0.0.1:PORT */
  listen(port?: number): Promise<string>;
  close(): Promise<void>;
  /** every TRS/DQT request, in order (not the control ones) */
  requestLog(): SandboxRequestLogEntry[];
  /** forget all state, queued faults and the log */
  reset(): void;
  /** queue a fault: the next `times` requests matching method+path regex get this status/body */
  injectFault(fault: Fault): void;
  /** direct state access for tests/demo */
  persons(): SandboxPerson[];
  /** force a pending request to Completed now; throws for an unknown id */
  completeTrnRequest(requestId: string): void;
  /** a person TRS holds already (created before a cutover), PII updates allowed unless said */
  seedPerson(seed: SeedPerson): SandboxPerson;
  /** a TRN request TRS holds already, pending until completed by hand */
  seedTrnRequest(seed: SeedTrnRequest): void;
  /** where webhooks go from now on (undefined: none are sent) */
  setWebhookUrl(url: string | undefined, options?: { signedFor?: string }): void;
  /** every webhook delivery attempt, in order */
  webhookDeliveries(): WebhookDelivery[];
  /** a new webhook signing key, used from now on; returns its kid */
  rotateWebhookKey(): Promise<string>;
}

function personView(person: PersonRecord): SandboxPerson {
  return {
    trn: person.trn,
    firstName: person.firstName,
    middleName: person.middleName,
    lastName: person.lastName,
    dateOfBirth: person.dateOfBirth,
    emailAddress: person.emailAddress,
    nationalInsuranceNumber: person.nationalInsuranceNumber,
    gender: person.gender,
    allowPiiUpdates: person.allowPiiUpdates,
    slugId: person.slugId,
    qtsDate: person.qtsDate,
    eytsDate: person.eytsDate,
    routes: Object.fromEntries([...person.routes].map(([reference, route]) => [reference, structuredClone(route)])),
    itt: structuredClone(person.itt),
  };
}

/** Malformed JSON and oversized bodies are answered as TRS would; anything else is a 500 without a stack. */
function errorHandler(logger: Logger | undefined): ErrorRequestHandler {
  return (error: unknown, _req, res, _next) => {
    const details = (typeof error === "object" && error !== null ? error : {}) as { type?: unknown; status?: unknown };
    if (res.headersSent) return void res.destroy();
    if (details.type === "entity.parse.failed") return sendValidationProblem(res, { $: ["The JSON value could not be parsed."] });
    const status = typeof details.status === "number" ? details.status : 500;
    if (status >= 400 && status < 500) return sendProblem(res, status, { title: STATUS_CODES[status] ?? "Bad Request", status });
    logger?.error({ err: error }, "sandbox error");
    sendProblem(res, 500, { title: "An error occurred while processing your request.", status: 500 });
  };
}

export function createSandbox(options: SandboxOptions = {}): Sandbox {
  const ctx: SandboxContext = {
    store: new SandboxStore(),
    apiKey: options.apiKey ?? "sandbox-key",
    pendingCompletesAfterMs: options.pendingCompletesAfterMs ?? 30_000,
    slowMs: options.slowMs ?? 2000,
    now: options.now ?? (() => new Date()),
  };
  const log: SandboxRequestLogEntry[] = [];
  const faults = new FaultQueue();
  const webhooks = new SandboxWebhooks({
    ...(options.webhookUrl ? { url: options.webhookUrl } : {}),
    ...(options.webhookDelayMs !== undefined ? { delayMs: options.webhookDelayMs } : {}),
    ...(options.webhookRetryDelaysMs ? { retryDelaysMs: options.webhookRetryDelaysMs } : {}),
    pendingCompletesAfterMs: ctx.pendingCompletesAfterMs,
    now: ctx.now,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  ctx.store.onTrnRequestCompleted = (record) => webhooks.requestCompleted(record);
  ctx.store.onTrnRequestAdded = (record) => webhooks.requestAdded(record, () => ctx.store.completeTrnRequest(record, ctx.now()));
  const app = express();
  let server: Server | undefined;

  const sandbox: Sandbox = {
    app,
    async listen(port = 0) {
      if (server) throw new Error("the sandbox is already listening");
      const listening = app.listen(port, "127.0.0.1");
      server = listening;
      await new Promise<void>((resolve, reject) => {
        listening.once("listening", resolve);
        listening.once("error", reject);
      });
      const address = listening.address();
      if (address === null || typeof address === "string") throw new Error("the sandbox has no TCP address");
      return `http://127.0.0.1:${address.port}`;
    },
    async close() {
      await webhooks.close();
      const closing = server;
      server = undefined;
      if (!closing) return;
      await new Promise<void>((resolve, reject) => {
        closing.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive connections would hold close() open until they time out.
        closing.closeAllConnections();
      });
    },
    requestLog: () => log.map((entry) => ({ ...entry })),
    reset() {
      ctx.store.reset();
      faults.clear();
      log.length = 0;
    },
    injectFault: (fault) => faults.add(fault),
    persons: () => [...ctx.store.persons.values()].map(personView),
    seedPerson: (seed) => personView(ctx.store.seedPerson(seed)),
    seedTrnRequest(seed) {
      ctx.store.seedTrnRequest(
        { requestId: seed.requestId, person: seed.person, slugId: seed.slugId ?? null, itt: null, qtsDate: null },
        ctx.now(),
      );
    },
    completeTrnRequest(requestId) {
      const record = ctx.store.trnRequests.get(requestId);
      if (!record) throw new Error(`no TRN request '${requestId}'`);
      ctx.store.completeTrnRequest(record, ctx.now());
    },
    setWebhookUrl: (url, options) => {
      webhooks.url = url;
      webhooks.signedUrl = options?.signedFor;
    },
    webhookDeliveries: () => webhooks.deliveries.map((delivery) => ({ ...delivery })),
    rotateWebhookKey: () => webhooks.rotate(),
  };

  app.disable("x-powered-by");
  app.set("etag", false);
  app.use("/__sandbox", createControlRouter(sandbox));
  // TRS's webhook signing keys: not an API call, so not in the request log
  app.get("/webhook-jwks", webhooks.jwksRoute());
  app.use(recordRequests({ log, now: ctx.now, logger: options.logger }));
  app.use(faults.middleware());
  app.use("/v3", createTrsRouter(ctx));
  app.use("/v2", createDqtRouter(ctx));
  // Unknown routes and methods: TRS writes no body (trs-api.md §5.4).
  app.use((_req, res) => sendEmpty(res, 404));
  app.use(errorHandler(options.logger));
  return sandbox;
}
