import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDeps, type Deps } from "../../src/deps.js";
import { sendUpstreamWebhooksOnce, upstreamWebhookRetryDelay } from "../../src/jobs/upstream-webhooks.js";
import { createTestWorld, type TestWorld } from "../support/context.js";
import { startUpstreamReceiver, receiverSecret, type UpstreamReceiver } from "../support/upstream-receiver.js";

let receiver: UpstreamReceiver;
let world: TestWorld;
let second: Deps;

beforeAll(async () => {
  receiver = await startUpstreamReceiver();
  world = await createTestWorld({
    env: { UPSTREAM_WEBHOOK_URL: receiver.url, UPSTREAM_WEBHOOK_SECRET: receiverSecret, UPSTREAM_WEBHOOK_TIMEOUT: "2s" },
  });
  // a second sender with its own connections, as another worker process would have
  second = createDeps(world.config);
});

afterAll(async () => {
  await second?.close();
  await world?.cleanup();
  await receiver?.close();
});

describe("upstream webhook sender", () => {
  it("backs off exponentially up to the cap", () => {
    const settings = { retryBaseMs: 1_000, retryMaxMs: 60_000 };
    expect([1, 2, 3, 4, 7, 8, 100].map((attempts) => upstreamWebhookRetryDelay(settings, attempts))).toEqual([
      1_000, 2_000, 4_000, 8_000, 60_000, 60_000, 60_000,
    ]);
  });

  it("two senders racing send each event once, each trainee's in order (200 rounds)", async () => {
    const senders = [world.deps, second];
    for (let round = 0; round < 200; round++) {
      receiver.accepted.length = 0;
      const trainees = Array.from({ length: 5 }, () => randomUUID());
      const expected = new Map<string, string[]>();
      const rows = Array.from({ length: 20 }, (_, n) => {
        const traineeId = trainees[n % trainees.length]!;
        const eventId = randomUUID();
        expected.set(traineeId, [...(expected.get(traineeId) ?? []), eventId]);
        return { eventId, type: "trn.received", traineeId, traineeSlug: traineeId, payload: { slug: traineeId, trn: "1234567" } };
      });
      await world.deps.prisma.upstreamWebhook.createMany({ data: rows });
      // both senders pass until a pass of each finds nothing due
      for (;;) {
        const counts = await Promise.all(senders.map((deps) => sendUpstreamWebhooksOnce(deps)));
        if (counts.every((count) => count === 0)) break;
      }
      const ids = receiver.accepted.map((delivery) => delivery.id);
      expect(new Set(ids).size, `round ${round}: a duplicate`).toBe(ids.length);
      expect(ids.length, `round ${round}`).toBe(rows.length);
      for (const [traineeId, eventIds] of expected) {
        expect(receiver.accepted.filter((delivery) => delivery.slug === traineeId).map((delivery) => delivery.id)).toEqual(eventIds);
      }
      expect(await world.deps.prisma.upstreamWebhook.count({ where: { state: { not: "sent" } } })).toBe(0);
    }
    expect(receiver.rejected).toBe(0);
  }, 120_000);
});
