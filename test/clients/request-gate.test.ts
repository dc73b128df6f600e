/**
 * The request limit shared by every process (clients/request-gate.ts), against real Redis: requests
 * from several gates (as from several processes) racing for slots, counted where TRS counts them,
 * at a fake API that notes when each request arrives.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpClient } from "../../src/clients/http.js";
import { ApiError } from "../../src/clients/api-error.js";
import { createRequestGate, RequestSlotWait, type RequestGateSettings } from "../../src/clients/request-gate.js";
import { deleteRedisPrefix, testConfig } from "../support/context.js";

const redisUrl = testConfig({}).redisUrl;
const prefix = `test-gate-${randomUUID().slice(0, 8)}`;
const connections: Redis[] = [];
const connect = () => {
  const redis = new Redis(redisUrl);
  connections.push(redis);
  return redis;
};

/** A fake API: notes each arrival, answers after `delayMs` (0–`jitterMs`), 429 while `limited` is set. */
let server: Server;
let baseUrl: string;
let arrivals: number[] = [];
let limited: { retryAfter: string } | null = null;
beforeAll(async () => {
  server = createServer((req, res) => {
    arrivals.push(Date.now());
    if (limited) {
      res.writeHead(429, { "retry-after": limited.retryAfter, "content-type": "application/json" });
      res.end(JSON.stringify({ title: "API calls quota exceeded", status: 429 }));
      return;
    }
    setTimeout(() => {
      res.writeHead(204);
      res.end();
    }, Math.random() * 20);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await deleteRedisPrefix(redisUrl, prefix);
  await Promise.all(connections.map((c) => c.quit()));
});

/** The most timestamps (sorted) in any half-open window of `windowMs`. */
function mostInWindow(sorted: number[], windowMs: number): number {
  let most = 0;
  let first = 0;
  for (let last = 0; last < sorted.length; last++) {
    while (sorted[last]! - sorted[first]! >= windowMs) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

const gateSettings = (overrides: Partial<RequestGateSettings> = {}): RequestGateSettings => ({
  limit: 10,
  windowMs: 400,
  requestTimeoutMs: 5_000,
  maxWaitMs: 60_000,
  ...overrides,
});

describe("the request gate", () => {
  it("never lets a window hold more requests than the limit, across processes racing for slots", async () => {
    const gatePrefix = `${prefix}:race`;
    const settings = gateSettings();
    // three "processes", each its own Redis connection and its own gate and HTTP client
    const clients = [0, 1, 2].map(() =>
      createHttpClient({
        baseUrl,
        apiKey: "k",
        timeoutMs: 5_000,
        endpointOf: () => "/test",
        gate: createRequestGate({ redis: connect(), prefix: gatePrefix, settings }),
      }),
    );
    arrivals = [];
    const requests = 300;
    const results = await Promise.allSettled(
      Array.from({ length: requests }, (_, i) => clients[i % clients.length]!.request({ method: "GET", path: `/r/${i}` })),
    );
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    expect(arrivals).toHaveLength(requests);
    expect(
      mostInWindow(
        [...arrivals].sort((a, b) => a - b),
        settings.windowMs,
      ),
    ).toBeLessThanOrEqual(settings.limit);
  }, 120_000);

  it("refuses a request that would wait longer than its allowance, saying how long, and sends nothing", async () => {
    const gate = createRequestGate({
      redis: connect(),
      prefix: `${prefix}:wait`,
      settings: gateSettings({ limit: 2, windowMs: 5_000, maxWaitMs: 200 }),
    });
    const first = await gate.acquire();
    const second = await gate.acquire();
    first.answered();
    second.answered();
    const refused = await gate.acquire().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RequestSlotWait);
    expect((refused as RequestSlotWait).reason).toBe("limit");
    expect((refused as RequestSlotWait).waitMs).toBeGreaterThan(200);
    expect((await gate.state()).inWindow).toBe(2);
  });

  it("frees the slot of a request that never reported its answer once its timeout has passed", async () => {
    const settings = gateSettings({ limit: 1, windowMs: 100, requestTimeoutMs: 300, maxWaitMs: 10_000 });
    const gate = createRequestGate({ redis: connect(), prefix: `${prefix}:lost`, settings });
    await gate.acquire(); // a process killed mid-request: answered() never comes
    const next = await gate.acquire(); // waits for the provisional end (timeout) plus the window
    next.answered();
    expect((await gate.state()).inWindow).toBe(1);
  });

  it("pauses every process after a 429 for Retry-After", async () => {
    const gatePrefix = `${prefix}:paused`;
    const settings = gateSettings({ limit: 100, maxWaitMs: 300 });
    const one = createHttpClient({
      baseUrl,
      apiKey: "k",
      timeoutMs: 5_000,
      endpointOf: () => "/test",
      gate: createRequestGate({ redis: connect(), prefix: gatePrefix, settings }),
    });
    const other = createRequestGate({ redis: connect(), prefix: gatePrefix, settings });
    limited = { retryAfter: "30" };
    arrivals = [];
    try {
      const error = await one.request({ method: "GET", path: "/limited" }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).status).toBe(429);
    } finally {
      limited = null;
    }
    // another process sends nothing either: it is told to wait about 30 s
    const refused = await other.acquire().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RequestSlotWait);
    expect((refused as RequestSlotWait).reason).toBe("paused");
    expect((refused as RequestSlotWait).waitMs).toBeGreaterThan(25_000);
    expect((await other.state()).pausedForMs).toBeGreaterThan(25_000);
    expect(arrivals).toHaveLength(1);
  });
});
