/**
 * Issue 12, outbound: events for the upstream application through real flows (sandbox TRS, web,
 * worker, Postgres). A receiver that is down for a while gets every event once it is back, each
 * trainee's in order; every delivery verifies with the documented recipe, and a tampered one does not.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { retryTask } from "../../src/trainees/support-actions.js";
import { upstreamWebhookEventSchemas, verifyUpstreamWebhook, type UpstreamWebhookType } from "../../src/clients/upstream-webhooks.js";
import { startHarness, type Harness } from "../support/harness.js";
import { traineeDoc } from "../support/documents.js";
import { receiverSecret, startUpstreamReceiver, type UpstreamReceiver } from "../support/upstream-receiver.js";

let h: Harness;
let receiver: UpstreamReceiver;

beforeAll(async () => {
  receiver = await startUpstreamReceiver();
  h = await startHarness({
    env: {
      UPSTREAM_WEBHOOK_URL: receiver.url,
      UPSTREAM_WEBHOOK_SECRET: receiverSecret,
      UPSTREAM_WEBHOOK_RETRY_BASE: "50ms",
      UPSTREAM_WEBHOOK_RETRY_MAX: "200ms",
      UPSTREAM_WEBHOOK_INTERVAL: "50ms",
    },
  });
});

afterAll(async () => {
  await h?.stop();
  await receiver?.close();
});

const stored = (slug: string) =>
  h.world.deps.prisma.upstreamWebhook
    .findMany({ where: { traineeSlug: slug }, orderBy: { id: "asc" } })
    .then((rows) => rows.map((r) => r.type));

describe("events for the upstream application", () => {
  it("reach a receiver that was down, each once and each trainee's in order", async () => {
    receiver.setDown(true);
    // a record whose personal details TRS lets us change (see ordering.award.test.ts)
    const awarded = traineeDoc({ lastName: "Lovelace +legacy" });
    const failing = traineeDoc({ lastName: "Lovelace +legacy" });
    await h.api.put(awarded.slug, awarded);
    await h.api.put(failing.slug, failing);
    const trn = await h.waitFor("TRN", async () => (await h.trainee(awarded.slug)).trn);
    const failingTrn = await h.waitFor("TRN", async () => (await h.trainee(failing.slug)).trn);

    await h.api.put(awarded.slug, { ...awarded, trn, state: "recommended_for_award", outcomeDate: "2026-07-01" });
    await h.waitFor("awarded", async () => (await h.trainee(awarded.slug)).state === "awarded");

    const invalid = { title: "One or more validation errors occurred.", status: 400, errors: { firstName: ["The field is invalid."] } };
    h.sandbox.injectFault({ path: `/v3/persons/${failingTrn}$`, status: 400, body: invalid, times: 1 });
    await h.api.put(failing.slug, { ...failing, trn: failingTrn, state: "trn_received", firstNames: "Augusta" });
    const failed = await h.waitFor("update dead", async () => (await h.trainee(failing.slug)).sync.failed[0]);
    await retryTask({ db: h.world.deps.prisma, taskId: BigInt(failed.taskId), now: new Date(), actor: "test" });
    await h.waitFor("recovered", async () => (await stored(failing.slug)).includes("sync.recovered"));

    // all recorded while the receiver refused them
    expect(await stored(awarded.slug)).toEqual(["trn.received", "trainee.awarded"]);
    expect(await stored(failing.slug)).toEqual(["trn.received", "sync.failed", "sync.recovered"]);
    await h.waitFor("a refused attempt", async () => receiver.refused > 0);
    expect(receiver.accepted).toEqual([]);

    receiver.setDown(false);
    await h.waitFor("every event", async () => receiver.accepted.length >= 5);
    await h.waitFor("all sent", async () => (await h.world.deps.prisma.upstreamWebhook.count({ where: { state: { not: "sent" } } })) === 0);
    const ids = receiver.accepted.map((d) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
    const typesOf = (slug: string) => receiver.accepted.filter((d) => d.slug === slug).map((d) => d.type);
    expect(typesOf(awarded.slug)).toEqual(["trn.received", "trainee.awarded"]);
    expect(typesOf(failing.slug)).toEqual(["trn.received", "sync.failed", "sync.recovered"]);
    expect(receiver.rejected).toBe(0);
    // each body is what the OpenAPI document's webhooks section describes
    for (const delivery of receiver.accepted) {
      expect(() => upstreamWebhookEventSchemas[delivery.type as UpstreamWebhookType].parse(JSON.parse(delivery.body))).not.toThrow();
    }

    const byType = (slug: string, type: string) => receiver.accepted.find((d) => d.slug === slug && d.type === type)!.data;
    expect(byType(awarded.slug, "trn.received")).toEqual({ slug: awarded.slug, trn });
    expect(byType(awarded.slug, "trainee.awarded")).toEqual({ slug: awarded.slug, trn, awardedAt: "2026-07-01" });
    expect(byType(failing.slug, "sync.failed")).toMatchObject({
      slug: failing.slug,
      taskId: failed.taskId,
      jobType: "update-trainee",
      errorClass: "validation_failed",
      title: expect.any(String),
      remediation: expect.any(String),
      httpStatus: 400,
    });
    expect(byType(failing.slug, "sync.recovered")).toEqual({
      slug: failing.slug,
      taskId: failed.taskId,
      jobType: "update-trainee",
      resolution: "succeeded",
    });
  });

  it("a tampered body, another secret or a stale timestamp fails verification", () => {
    const delivery = receiver.accepted[0]!;
    const check = (overrides: Partial<Parameters<typeof verifyUpstreamWebhook>[0]>) =>
      verifyUpstreamWebhook({ secret: receiverSecret, headers: delivery.headers, body: delivery.body, ...overrides });
    expect(check({})).toBe(true);
    expect(check({ body: delivery.body.replace(/"slug":"/, '"slug":"x') })).toBe(false);
    expect(check({ secret: "whsec_c29tZSBvdGhlciBzZWNyZXQgYXQgYWxs" })).toBe(false);
    expect(check({ now: new Date(Date.now() + 10 * 60_000) })).toBe(false);
    expect(check({ headers: { ...delivery.headers, "webhook-id": "another" } })).toBe(false);
  });
});
