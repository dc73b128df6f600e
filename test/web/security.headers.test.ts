/**
 * Security headers on every answer (helmet): the dashboard, Bull Board, the API, 404s and errors;
 * HSTS only in production. A client's mistake (an oversized form, a malformed address) is a 4xx,
 * never a 500, and never an error in the log.
 */
import { Writable } from "node:stream";
import got from "got";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { createDeps } from "../../src/deps.js";
import { createQueues } from "../../src/jobs/queues.js";
import { createApp } from "../../src/web/app.js";
import { createTestWorld, type TestWorld } from "../support/context.js";
import { serve } from "../support/http.js";
import { accounts, dashboardEnv, signedIn } from "../dashboard/helpers.js";

let world: TestWorld;
let server: Awaited<ReturnType<typeof serve>>;
let app: { close(): Promise<void> } | undefined;
const logged: { level: number; msg: string }[] = [];

beforeAll(async () => {
  world = await createTestWorld({ env: dashboardEnv() });
  // the app's own deps, logging into memory so that the test can read the levels
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) logged.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  const deps = createDeps(world.config, { logger: pino({ level: "info" }, sink) });
  const queues = createQueues(deps.redis, world.config.redisPrefix);
  server = await serve(createApp(deps, queues));
  app = {
    async close() {
      await queues.close();
      await deps.close();
    },
  };
});
afterAll(async () => {
  await server.close();
  await app?.close();
  await world.cleanup();
});

const get = (path: string, headers: Record<string, string> = {}) =>
  got(`${server.url}${path}`, { headers, throwHttpErrors: false, followRedirect: false, retry: { limit: 0 } });

describe("security headers", () => {
  it.each([
    ["the sign-in page", "/admin/login"],
    ["an asset", "/admin/assets/govuk-frontend.min.css"],
    ["Bull Board", "/admin/queues"],
    ["the API", "/api/v1/trainees/t-1"],
    ["a 404", "/no-such-page"],
    ["health", "/healthz"],
  ])("are on %s", async (_what, path) => {
    const answer = await get(path);
    expect(answer.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(answer.headers["x-content-type-options"]).toBe("nosniff");
    expect(answer.headers["x-frame-options"]).toBe("SAMEORIGIN");
    expect(answer.headers["referrer-policy"]).toBe("same-origin");
    expect(answer.headers["strict-transport-security"]).toBeUndefined(); // production only
    expect(answer.headers["x-powered-by"]).toBeUndefined();
  });
});

describe("a client's mistake", () => {
  it("an oversized form is a 413, a malformed address a 400, and neither is an error in the log", async () => {
    const support = await signedIn(server.url, accounts.support);
    const huge = await support.post("/admin/dead-jobs/retry", { _csrf: await support.csrf(), task: "1".repeat(60_000) });
    expect(huge.status).toBe(413);
    expect(huge.body).toContain("too large");
    const malformed = await support.get("/admin/trainees/%E0%A4%A");
    expect(malformed.status).toBe(400);
    const api = await get("/api/v1/trainees/%E0%A4%A", { authorization: "Bearer test-token" });
    expect(api.statusCode).toBe(400);
    expect(logged.filter((line) => line.level >= 50)).toEqual([]);
  });
});
