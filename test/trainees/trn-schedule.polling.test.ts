import { describe, expect, it } from "vitest";
import { monthInEngland, nextPollAt, pollDelay, trnDeadline } from "../../src/trainees/trn-schedule.js";

const config = { firstDelayMs: 60_000, maxIntervalMs: 3_600_000, timeoutMs: 4 * 86_400_000, octoberTimeoutMs: 10 * 86_400_000 };

describe("TRN polling schedule", () => {
  it("starts at the first delay and doubles up to the maximum interval", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map((n) => pollDelay(n, config) / 60_000)).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60]);
  });

  it("gives 4 days, and 10 days for trainees submitted in October (England's calendar)", () => {
    expect(trnDeadline(new Date("2026-09-30T12:00:00Z"), config).toISOString()).toBe("2026-10-04T12:00:00.000Z");
    expect(trnDeadline(new Date("2026-10-15T12:00:00Z"), config).toISOString()).toBe("2026-10-25T12:00:00.000Z");
    // 23:30 UTC on 30 September is already 1 October in London (BST)
    expect(monthInEngland(new Date("2026-09-30T23:30:00Z"))).toBe(10);
    expect(monthInEngland(new Date("2026-10-31T23:30:00Z"))).toBe(10); // GMT again: still 31 October
  });

  it("never schedules a poll past the deadline", () => {
    const now = new Date("2026-01-01T00:00:00Z");
    const deadlineAt = new Date("2026-01-01T00:10:00Z");
    expect(nextPollAt({ pollsDone: 6, now, deadlineAt, config }).toISOString()).toBe("2026-01-01T00:10:00.000Z");
    expect(nextPollAt({ pollsDone: 0, now, deadlineAt, config }).toISOString()).toBe("2026-01-01T00:01:00.000Z");
  });
});

describe("what the default schedule spends", () => {
  /** Polls made until `completesAfterMs` (or the deadline), as poll-trn runs them. */
  function pollsUntil(completesAfterMs: number): { polls: number; gotTrn: boolean } {
    const start = new Date("2026-03-02T09:00:00Z");
    const deadlineAt = trnDeadline(start, config);
    let now = nextPollAt({ pollsDone: 0, now: start, deadlineAt, config });
    for (let polls = 1; ; polls++) {
      if (now.getTime() - start.getTime() >= completesAfterMs) return { polls, gotTrn: true };
      if (now.getTime() >= deadlineAt.getTime()) return { polls, gotTrn: false };
      now = nextPollAt({ pollsDone: polls, now, deadlineAt, config });
    }
  }

  it("spends 4 polls on a TRN after 10 minutes, 29 after a day, and 101 until the 4-day timeout", () => {
    expect(pollsUntil(10 * 60_000)).toEqual({ polls: 4, gotTrn: true });
    expect(pollsUntil(86_400_000)).toEqual({ polls: 29, gotTrn: true });
    expect(pollsUntil(Infinity)).toEqual({ polls: 101, gotTrn: false });
  });

  it("with webhooks on, polls only as a fallback: 6 h after the request and every 6 h, same deadline", () => {
    const webhooks = { ...config, webhooks: { firstDelayMs: 6 * 3_600_000, maxIntervalMs: 6 * 3_600_000 } };
    expect([0, 1, 2].map((n) => pollDelay(n, webhooks) / 3_600_000)).toEqual([6, 6, 6]);
    const now = new Date("2026-01-01T00:00:00Z");
    const deadlineAt = trnDeadline(now, webhooks);
    expect(deadlineAt).toEqual(trnDeadline(now, config));
    expect(nextPollAt({ pollsDone: 0, now, deadlineAt, config: webhooks }).toISOString()).toBe("2026-01-01T06:00:00.000Z");
    // the last poll still happens at the deadline
    const late = new Date(deadlineAt.getTime() - 3_600_000);
    expect(nextPollAt({ pollsDone: 15, now: late, deadlineAt, config: webhooks })).toEqual(deadlineAt);
  });
});
