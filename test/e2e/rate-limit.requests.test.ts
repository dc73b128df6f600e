/**
 * The rate limit counts requests, across every process (issue 10 item 1): two worker processes'
 * worth of jobs against a limit scaled down to 2 requests in any 1.5 s, each trainee making several
 * requests. No window at the sandbox ever holds more than the limit; jobs that could not get a slot
 * in time went back to waiting without spending an attempt; every trainee is synced.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../support/harness.js";
import { traineeDoc } from "../support/documents.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

function mostInWindow(sorted: number[], windowMs: number): number {
  let most = 0;
  let first = 0;
  for (let last = 0; last < sorted.length; last++) {
    while (sorted[last]! - sorted[first]! >= windowMs) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

describe("the request limit", () => {
  it("holds across workers, and jobs held back by it spend no attempt", async () => {
    const limit = 2;
    const windowMs = 1_500;
    harness = await startHarness({
      env: { API_RATE_LIMIT_PER_MINUTE: String(limit), API_RATE_LIMIT_WINDOW: `${windowMs}ms`, API_RATE_LIMIT_MAX_WAIT: "500ms" },
    });
    const h = harness;
    await h.startWorker(); // a second worker, sharing the limit through Redis
    const docs = Array.from({ length: 4 }, () => traineeDoc());
    await Promise.all(docs.map((doc) => h.api.put(doc.slug, doc)));
    for (const doc of docs) {
      await h.waitFor(
        `${doc.slug} synced`,
        async () => {
          const t = await h.trainee(doc.slug);
          return t.trn && t.sync.pending.length === 0 && t.sync.failed.length === 0;
        },
        90_000,
      );
    }
    const arrivals = h.sandbox
      .requestLog()
      .map((r) => Date.parse(r.at))
      .sort((a, b) => a - b);
    expect(arrivals.length).toBeGreaterThan(docs.length * 2);
    expect(mostInWindow(arrivals, windowMs)).toBeLessThanOrEqual(limit);

    const { prisma } = h.world.deps;
    const tasks = await prisma.syncTask.findMany({ where: { trainee: { slug: { in: docs.map((d) => d.slug) } } } });
    expect(tasks.filter((t) => t.state !== "succeeded")).toEqual([]);
    // held back many times, never charged for it: every task succeeded on its first attempt
    expect(tasks.map((t) => t.attempts).every((n) => n <= 1)).toBe(true);
    const held = await prisma.syncEvent.count({ where: { kind: { endsWith: "_rate_limited" }, errorClass: "rate_limited" } });
    expect(held).toBeGreaterThan(0);
  }, 150_000);
});
