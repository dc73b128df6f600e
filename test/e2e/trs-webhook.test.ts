/**
 * TRS webhooks end to end: the sandbox signs and sends trn_request.completed to the web app's
 * POST /webhooks/trs; polling is the fallback. Also the handler against hostile messages (signed
 * here with a key of the test's own), and a webhook racing a poll's answer.
 */
import { randomUUID } from "node:crypto";
import express from "express";
import got from "got";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { KeyObject } from "node:crypto";
import { importJWK } from "jose";
import { settleTrnAnswer } from "../../src/trainees/receive-trn.js";
import { createWebhookKey, signedWebhookRequest, type WebhookKey } from "../../src/sandbox/webhooks.js";
import { queueControl } from "../../src/jobs/enqueue.js";
import { receiveWebhookMessage, trsWebhookRoutes } from "../../src/web/trs-webhook.js";
import { startHarness, type Harness } from "../support/harness.js";
import { traineeDoc } from "../support/documents.js";
import { serve } from "../support/http.js";

let harness: Harness | undefined;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  await harness?.stop();
  harness = undefined;
});

const trnRequests = (h: Harness) => h.sandbox.requestLog().filter((r) => r.path.startsWith("/v3/trn-requests"));
const polls = (h: Harness) => trnRequests(h).filter((r) => r.method === "GET");

async function withTrn(h: Harness, slug: string) {
  return h.waitFor(`TRN for ${slug}`, async () => {
    const t = await h.trainee(slug);
    return t.trn ? t : null;
  });
}

async function trnEvents(h: Harness, slug: string) {
  const events = (await h.api.timeline(slug)).body.events as { kind: string; message: string }[];
  return events.filter((e) => e.kind === "trn_received");
}

describe("TRS webhooks through the sandbox", () => {
  it("settles a TRN request by webhook, with no poll sent", async () => {
    harness = await startHarness({ webhooks: true, sandbox: { pendingCompletesAfterMs: 300 } });
    const h = harness;
    const doc = traineeDoc({ lastName: "Hook +pending" });
    expect((await h.api.put(doc.slug, doc)).status).toBe(201);
    const trainee = await withTrn(h, doc.slug);
    expect(trainee.state).toBe("trn_received");
    // the poll task finishes (it finds the TRN stored) and the training details go out
    await h.waitFor("sync done", async () => (await h.trainee(doc.slug)).sync.pending.length === 0);
    expect(trnRequests(h).map((r) => r.method)).toEqual(["POST"]);
    const events = await trnEvents(h, doc.slug);
    expect(events.map((e) => e.message)).toEqual(["TRN received by webhook"]);
    const messages = await h.world.deps.prisma.trsWebhookMessage.findMany();
    expect(messages.map((m) => [m.type, m.outcome])).toEqual([["trn_request.completed", "settled"]]);
  });

  it("a lost webhook is made good by the fallback poll", async () => {
    harness = await startHarness({
      webhooks: true,
      sandbox: { pendingCompletesAfterMs: 200 },
      env: { TRN_POLL_WEBHOOK_FIRST_DELAY: "600ms", TRN_POLL_WEBHOOK_MAX_INTERVAL: "600ms" },
    });
    const h = harness;
    const doc = traineeDoc({ lastName: "Lost +pending +hooklost" });
    await h.api.put(doc.slug, doc);
    await withTrn(h, doc.slug);
    expect(polls(h).length).toBeGreaterThanOrEqual(1);
    expect(h.sandbox.webhookDeliveries()).toEqual([]);
    expect((await trnEvents(h, doc.slug)).map((e) => e.message)).not.toContain("TRN received by webhook");
  });

  it("a duplicated delivery is answered 200 and does nothing the second time", async () => {
    harness = await startHarness({ webhooks: true, sandbox: { pendingCompletesAfterMs: 200 } });
    const h = harness;
    const doc = traineeDoc({ lastName: "Twice +pending +hookdup" });
    await h.api.put(doc.slug, doc);
    await withTrn(h, doc.slug);
    const deliveries = await h.waitFor("two deliveries", async () => {
      const all = h.sandbox.webhookDeliveries();
      return all.length >= 2 ? all : null;
    });
    expect(deliveries.map((d) => d.status)).toEqual([200, 200]);
    expect(new Set(deliveries.map((d) => d.ceId)).size).toBe(1);
    expect(await h.world.deps.prisma.trsWebhookMessage.count()).toBe(1);
    expect(await trnEvents(h, doc.slug)).toHaveLength(1);
    expect(polls(h)).toEqual([]);
  });

  it("follows TRS's key rotation: a new kid is fetched from the JWKS", async () => {
    harness = await startHarness({ webhooks: true, sandbox: { pendingCompletesAfterMs: 200 } });
    const h = harness;
    const first = traineeDoc({ lastName: "First +pending" });
    await h.api.put(first.slug, first);
    await withTrn(h, first.slug);
    const firstKid = await h.sandbox.rotateWebhookKey(); // a kid we have not seen either
    const second = traineeDoc({ lastName: "Rotated +pending +hookrotate" });
    await h.api.put(second.slug, second);
    await withTrn(h, second.slug);
    expect((await trnEvents(h, second.slug)).map((e) => e.message)).toEqual(["TRN received by webhook"]);
    expect(polls(h)).toEqual([]);
    const jwks = (await (await fetch(`${h.world.deps.config.api.baseUrl}/webhook-jwks`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid)).toContain(firstKid);
    expect(jwks.keys).toHaveLength(3);
  });

  it("a late webhook still settles the request, with no poll sent", async () => {
    harness = await startHarness({ webhooks: true, sandbox: { pendingCompletesAfterMs: 100, webhookDelayMs: 400 } });
    const h = harness;
    const doc = traineeDoc({ lastName: "Late +pending +hookdelay" });
    await h.api.put(doc.slug, doc);
    await withTrn(h, doc.slug);
    expect((await trnEvents(h, doc.slug)).map((e) => e.message)).toEqual(["TRN received by webhook"]);
    expect(polls(h)).toEqual([]);
  });

  it("a badly signed webhook is refused, and polling finds the TRN", async () => {
    harness = await startHarness({
      webhooks: true,
      sandbox: { pendingCompletesAfterMs: 200, webhookRetryDelaysMs: [50] },
      env: { TRN_POLL_WEBHOOK_FIRST_DELAY: "600ms", TRN_POLL_WEBHOOK_MAX_INTERVAL: "600ms" },
    });
    const h = harness;
    const doc = traineeDoc({ lastName: "Forged +pending +hookbadsig" });
    await h.api.put(doc.slug, doc);
    await withTrn(h, doc.slug);
    await h.waitFor("both attempts refused", async () => h.sandbox.webhookDeliveries().length === 2);
    expect(h.sandbox.webhookDeliveries().map((d) => d.status)).toEqual([401, 401]);
    expect(await h.world.deps.prisma.trsWebhookMessage.count()).toBe(0);
    expect(polls(h).length).toBeGreaterThanOrEqual(1);
  });
});

/** got, not fetch: nock's fetch interceptor cannot send a request with a body */
async function send(url: string, headers: Record<string, string>, body: string) {
  const response = await got.post(url, { headers, body, throwHttpErrors: false, retry: { limit: 0 } });
  return { status: response.statusCode, json: async () => JSON.parse(response.body) as unknown };
}

describe("POST /webhooks/trs against hostile messages", () => {
  async function setUp(options: { publicBaseUrl?: string } = {}) {
    harness = await startHarness({ webhooks: true, startWorker: false });
    const h = harness;
    const key = await createWebhookKey();
    const published = KeyObject.from((await importJWK(key.publicJwk, "ES384")) as Parameters<typeof KeyObject.from>[0]);
    const app = express();
    const logged: string[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void logged.push(line) });
    const config = { ...h.world.deps.config, publicBaseUrlGiven: options.publicBaseUrl ?? null };
    app.use(
      trsWebhookRoutes({ ...h.world.deps, config, logger }, h.world.queues, { keys: async (kid) => (kid === key.kid ? published : null) }),
    );
    const server = await serve(app);
    closers.push(server.close);
    const doc = traineeDoc();
    await h.api.put(doc.slug, doc);
    const request = await h.world.deps.prisma.trnRequest.findFirstOrThrow({ where: { trainee: { slug: doc.slug } } });
    const url = `${server.url}/webhooks/trs`;
    const body = JSON.stringify({
      trnRequest: { requestId: request.requestId, trn: "2000001", status: "Completed", potentialDuplicate: false },
    });
    const post = async (
      options: {
        key?: WebhookKey;
        body?: string;
        sentBody?: string;
        ceId?: string;
        created?: Date;
        expires?: Date;
        signedUrl?: string;
      } = {},
    ) => {
      const headers = await signedWebhookRequest({
        url: options.signedUrl ?? url,
        key: options.key ?? key,
        ceId: options.ceId ?? randomUUID(),
        type: "trn_request.completed",
        body: options.body ?? body,
        ...(options.created ? { created: options.created } : {}),
        ...(options.expires ? { expires: options.expires } : {}),
      });
      const response = await send(url, headers, options.sentBody ?? options.body ?? body);
      return { status: response.status, body: (await response.json()) as { outcome?: string }, headers };
    };
    return { h, key, doc, request, url, body, post, logged };
  }

  it("refuses a tampered body, another key and an expired signature with 401, storing nothing", async () => {
    const { h, doc, body, post, logged } = await setUp();
    const tampered = body.replace("2000001", "2000002");
    expect((await post({ sentBody: tampered })).status).toBe(401);
    expect((await post({ key: await createWebhookKey() })).status).toBe(401);
    const past = Date.now() - 10 * 60_000;
    expect((await post({ created: new Date(past), expires: new Date(past + 60_000) })).status).toBe(401);
    expect(await h.world.deps.prisma.trsWebhookMessage.count()).toBe(0);
    expect((await h.trainee(doc.slug)).trn).toBeNull();
    // logged at warn, without the body (it names a TRN)
    const refusals = logged
      .map((line) => JSON.parse(line) as { level: number; msg: string })
      .filter((l) => l.msg === "TRS webhook refused");
    expect(refusals.map((l) => l.level)).toEqual([40, 40, 40]);
    expect(logged.join("\n")).not.toContain("2000001");
    expect(logged.join("\n")).not.toContain("2000002");
  });

  it("checks the signature against PUBLIC_BASE_URL when set, whatever Host the request carries", async () => {
    const { h, doc, url, post } = await setUp({ publicBaseUrl: "https://trs-sync.example.gov.uk" });
    // signed for the address behind the proxy the request reached: not the one registered with TRS
    expect((await post({ signedUrl: url })).status).toBe(401);
    const registered = await post({ signedUrl: "https://trs-sync.example.gov.uk/webhooks/trs" });
    expect(registered).toMatchObject({ status: 200, body: { outcome: "settled" } });
    expect((await h.trainee(doc.slug)).trn).toBe("2000001");
  });

  it("settles once; a replay of the same signed message and an unknown request are answered 200 and change nothing", async () => {
    const { h, doc, url, body, post } = await setUp();
    const first = await post({ ceId: "ce-replayed" });
    expect(first).toMatchObject({ status: 200, body: { outcome: "settled" } });
    expect((await h.trainee(doc.slug)).trn).toBe("2000001");
    const replay = await send(url, first.headers, body);
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ outcome: "duplicate" });
    const unknown = JSON.stringify({ trnRequest: { requestId: "not-ours", trn: "2000009", status: "Completed" } });
    expect(await post({ body: unknown })).toMatchObject({ status: 200, body: { outcome: "unknown_request" } });
    const rows = await h.world.deps.prisma.trsWebhookMessage.findMany({ orderBy: { id: "asc" } });
    expect(rows.map((r) => r.outcome)).toEqual(["settled", "unknown_request"]);
    expect(await trnEvents(h, doc.slug)).toHaveLength(1);
  });
});

describe("a webhook and a poll's answer together", () => {
  const ROUNDS = 100;
  it(`settle the TRN request exactly once, ${ROUNDS} times`, async () => {
    harness = await startHarness({ webhooks: true, startWorker: false, env: { DATABASE_POOL_SIZE: "12" } });
    const h = harness;
    const deps = h.world.deps;
    for (let round = 0; round < ROUNDS; round++) {
      const doc = traineeDoc();
      await h.api.put(doc.slug, doc);
      const request = await deps.prisma.trnRequest.findFirstOrThrow({ where: { trainee: { slug: doc.slug } } });
      const trn = String(3_000_000 + round);
      const info = { requestId: request.requestId, trn, status: "Completed", potentialDuplicate: false };
      const outcomes = await Promise.all([
        receiveWebhookMessage({
          deps,
          ceId: randomUUID(),
          type: "trn_request.completed",
          body: Buffer.from(JSON.stringify({ trnRequest: info })),
        }),
        settleTrnAnswer({
          deps,
          traineeId: request.traineeId,
          request,
          result: { requestId: request.requestId, status: "completed", trn, potentialDuplicate: false, raw: info },
          jobName: "poll-trn",
          jobId: `poll-${round}`,
        }),
      ]);
      expect(["settled", "already_settled"]).toContain(outcomes[0]);
      expect(outcomes[1]).toBe(true);
      const events = await deps.prisma.syncEvent.findMany({ where: { traineeId: request.traineeId, kind: "trn_received" } });
      expect(events, `round ${round}`).toHaveLength(1);
      const row = await deps.prisma.trnRequest.findUniqueOrThrow({ where: { id: request.id } });
      expect(row).toMatchObject({ state: "received", trn, activeTraineeId: null });
      expect((await deps.prisma.trainee.findUniqueOrThrow({ where: { id: request.traineeId } })).trn).toBe(trn);
      const updates = await deps.prisma.syncTask.count({ where: { traineeId: request.traineeId, kind: "update_trainee" } });
      expect(updates, `round ${round}`).toBe(1);
    }
  });
});

describe("a webhook the poll path would not take as it is", () => {
  const pendingRequest = async (h: Harness, slug: string) =>
    h.waitFor("the request pending, its fallback poll an hour away", async () =>
      h.world.deps.prisma.trnRequest.findFirst({ where: { trainee: { slug }, state: "pending" } }),
    );
  const message = (info: Record<string, unknown>) => Buffer.from(JSON.stringify({ trnRequest: info }));

  it("a status other than Completed settles nothing and asks TRS now, through the poll", async () => {
    harness = await startHarness({
      webhooks: true,
      sandbox: { pendingCompletesAfterMs: 3_600_000 },
      env: { TRN_POLL_WEBHOOK_FIRST_DELAY: "1h", TRN_POLL_WEBHOOK_MAX_INTERVAL: "1h" },
    });
    const h = harness;
    const doc = traineeDoc({ lastName: "Refused +pending" });
    await h.api.put(doc.slug, doc);
    const request = await pendingRequest(h, doc.slug);
    expect(polls(h)).toEqual([]);
    const outcome = await receiveWebhookMessage({
      deps: h.world.deps,
      queue: queueControl(h.world.queues),
      ceId: randomUUID(),
      type: "trn_request.completed",
      body: message({ requestId: request.requestId, trn: null, status: "Rejected" }),
    });
    expect(outcome).toBe("polled");
    // the poll asks TRS at once (not in an hour), and TRS's own answer decides
    await h.waitFor("a poll sent", async () => polls(h).length >= 1);
    expect((await h.trainee(doc.slug)).trn).toBeNull();
    expect((await h.world.deps.prisma.trnRequest.findUniqueOrThrow({ where: { id: request.id } })).state).toBe("pending");
  });

  it("a discarded trainee's request is left closed: no TRN stored", async () => {
    harness = await startHarness({
      webhooks: true,
      sandbox: { pendingCompletesAfterMs: 3_600_000 },
      env: { TRN_POLL_WEBHOOK_FIRST_DELAY: "1h", TRN_POLL_WEBHOOK_MAX_INTERVAL: "1h" },
    });
    const h = harness;
    const doc = traineeDoc({ lastName: "Gone +pending" });
    await h.api.put(doc.slug, doc);
    const request = await pendingRequest(h, doc.slug);
    expect((await h.api.call("DELETE", `/api/v1/trainees/${doc.slug}`, { by: "Provider X", reason: "duplicate" })).status).toBe(200);
    const outcome = await receiveWebhookMessage({
      deps: h.world.deps,
      ceId: randomUUID(),
      type: "trn_request.completed",
      body: message({ requestId: request.requestId, trn: "3999999", status: "Completed" }),
    });
    expect(outcome).toBe("closed");
    expect((await h.world.deps.prisma.trainee.findUniqueOrThrow({ where: { slug: doc.slug } })).trn).toBeNull();
    expect((await h.world.deps.prisma.trnRequest.findUniqueOrThrow({ where: { id: request.id } })).state).toBe("cancelled");
  });

  it("a message recorded but not acted on (the process died between) is acted on when TRS sends it again", async () => {
    harness = await startHarness({ webhooks: true, startWorker: false });
    const h = harness;
    const deps = h.world.deps;
    const doc = traineeDoc();
    await h.api.put(doc.slug, doc);
    const request = await deps.prisma.trnRequest.findFirstOrThrow({ where: { trainee: { slug: doc.slug } } });
    const ceId = randomUUID();
    await deps.prisma.trsWebhookMessage.create({
      data: { ceId, type: "trn_request.completed", requestId: request.requestId, outcome: "received" },
    });
    const body = message({ requestId: request.requestId, trn: "3111111", status: "Completed" });
    expect(await receiveWebhookMessage({ deps, ceId, type: "trn_request.completed", body })).toBe("settled");
    expect((await deps.prisma.trainee.findUniqueOrThrow({ where: { slug: doc.slug } })).trn).toBe("3111111");
    // once acted on, the same message is a duplicate
    expect(await receiveWebhookMessage({ deps, ceId, type: "trn_request.completed", body })).toBe("duplicate");
  });
});
