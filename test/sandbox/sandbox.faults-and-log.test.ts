import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { clientFor, routeBody, trnRequestBody } from "./sandbox-client.js";

describe("sandbox: injected faults, failure markers and the request log", () => {
  const now = new Date("2026-03-01T10:00:00Z");
  let sandbox: Sandbox;
  let call: ReturnType<typeof clientFor>;

  beforeAll(async () => {
    sandbox = createSandbox({ now: () => now, slowMs: 300 });
    call = clientFor(await sandbox.listen(0));
  });
  afterAll(() => sandbox.close());
  beforeEach(() => sandbox.reset());

  it("answers an injected 429 exactly, with Retry-After, once", async () => {
    const quota = { title: "API calls quota exceeded", detail: "A maximum of 1000 calls per 60 seconds are permitted.", status: 429 };
    sandbox.injectFault({ path: "^/v3/trn-requests$", status: 429, body: quota, headers: { "Retry-After": "2" } });
    const limited = await call("POST", "/v3/trn-requests", { body: trnRequestBody("req-429", "Smith") });
    expect(limited.status).toBe(429);
    expect(limited.headers["retry-after"]).toBe("2");
    expect(limited.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(limited.json).toEqual(quota);
    expect(sandbox.persons()).toEqual([]);

    const next = await call("POST", "/v3/trn-requests", { body: trnRequestBody("req-429", "Smith") });
    expect(next.status).toBe(200);
  });

  it("matches faults by method and path, counts `times`, and fires before the key check", async () => {
    sandbox.injectFault({ method: "put", path: "/routes-to-professional-statuses/", status: 503, times: 2 });
    sandbox.injectFault({ path: "^/v2/", status: 401 });
    const path = "/v3/persons/3000001/routes-to-professional-statuses/slug";
    expect((await call("GET", "/v3/persons/3000001")).status).toBe(404);
    expect((await call("PUT", path, { body: routeBody() })).status).toBe(503);
    expect((await call("PUT", path, { key: null, body: routeBody() })).status).toBe(503);
    expect((await call("PUT", path, { body: routeBody() })).status).toBe(404);
    const unauthorised = await call("GET", "/v2/teachers/3000001", { version: null });
    expect(unauthorised.status).toBe(401);
    expect(unauthorised.text).toBe("");
    expect(() => sandbox.injectFault({ path: "(", status: 500 })).toThrow();
    expect(() => sandbox.injectFault({ path: ".*", status: 99 })).toThrow();
  });

  it("answers every call for +err500 / +err503 people with an empty 500 / 503", async () => {
    const failing = await call("POST", "/v3/trn-requests", { body: trnRequestBody("req-500", "Smith +err500") });
    expect(failing.status).toBe(500);
    expect(failing.text).toBe("");
    const down = await call("PUT", "/v2/trn-requests/req-503", { version: null, body: { lastName: "Smith +err503" } });
    expect(down.status).toBe(503);
  });

  it("delays +slow people by slowMs before answering", async () => {
    const started = Date.now();
    const answer = await call("POST", "/v3/trn-requests", { body: trnRequestBody("req-slow", "Smith +slow") });
    expect(answer.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    const trn = (answer.json as { trn: string }).trn;
    const again = Date.now();
    expect((await call("GET", `/v3/persons/${trn}`)).status).toBe(200);
    expect(Date.now() - again).toBeGreaterThanOrEqual(290);
  });

  it("logs every TRS/DQT request in order with its status, but not control requests", async () => {
    await call("POST", "/v3/trn-requests", { body: trnRequestBody("req-log", "Smith") });
    await call("GET", "/v3/trn-requests?requestId=req-log");
    await call("GET", "/v2/trn-requests/unknown", { version: null });
    await call("GET", "/__sandbox/persons", { key: null, version: null });
    await call("GET", "/v3/trn-requests?requestId=x", { key: null });

    const log = sandbox.requestLog();
    expect(log.map(({ method, path, status, api }) => [method, path, status, api])).toEqual([
      ["POST", "/v3/trn-requests", 200, "trs"],
      ["GET", "/v3/trn-requests", 200, "trs"],
      ["GET", "/v2/trn-requests/unknown", 404, "dqt"],
      ["GET", "/v3/trn-requests", 401, "trs"],
    ]);
    expect(log[0]).toMatchObject({ at: "2026-03-01T10:00:00.000Z", query: {}, body: trnRequestBody("req-log", "Smith") });
    expect(log[1]!.query).toEqual({ requestId: "req-log" });

    const overHttp = await call("GET", "/__sandbox/requests", { key: null, version: null });
    expect(overHttp.json).toEqual(log);
    sandbox.reset();
    expect(sandbox.requestLog()).toEqual([]);
  });

  it("offers the control endpoints over HTTP without a key", async () => {
    const control = (method: string, path: string, body?: unknown) => call(method, `/__sandbox${path}`, { key: null, version: null, body });
    await call("POST", "/v3/trn-requests", { body: trnRequestBody("req-ctl", "Smith +stuck") });
    expect((await control("POST", "/trn-requests/req-ctl/complete")).status).toBe(204);
    expect((await control("POST", "/trn-requests/nope/complete")).status).toBe(404);
    expect((await control("GET", "/persons")).json).toEqual([expect.objectContaining({ trn: "3000001", lastName: "Smith +stuck" })]);

    expect((await control("POST", "/faults", { path: "^/v3/persons/", status: 403 })).status).toBe(204);
    expect((await control("POST", "/faults", { path: "^/v3/persons/" })).status).toBe(400);
    expect((await call("GET", "/v3/persons/3000001")).status).toBe(403);

    expect((await control("POST", "/reset")).status).toBe(204);
    expect((await control("GET", "/persons")).json).toEqual([]);
    expect((await control("GET", "/requests")).json).toEqual([]);
  });
});
