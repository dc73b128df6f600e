import nock from "nock";
import { afterEach, describe, expect, it } from "vitest";
import { createTrsClient } from "../../src/clients/trs.js";
import { classify } from "../../src/jobs/classify.js";
import { trsTrnRequestBody } from "../../src/trainees/payloads.js";
import { traineeFixture } from "../support/trainee-fixture.js";
import { apiError, trsScenario } from "../support/trs-scenarios.js";

const baseUrl = "https://trs.test";
const samples: { endpoint: string; method: string; status: number; durationMs: number }[] = [];
const client = (timeoutMs = 2000) =>
  createTrsClient({ baseUrl, apiKey: "test-key", version: "20250627", timeoutMs, observe: (sample) => samples.push(sample) });
const trainee = traineeFixture({ trn: null, state: "submitted_for_trn" });

afterEach(() => {
  nock.cleanAll();
  samples.length = 0;
});

describe("requestTrn: POST /v3/trn-requests", () => {
  it("posts the TRN request with our headers, without a trailing slash, and reads Completed", async () => {
    let seen: { url: string; headers: Headers; body: unknown } | undefined;
    const scope = trsScenario(baseUrl, "completed").on("request", (request: Request, _: unknown, body: string) => {
      seen = { url: request.url, headers: request.headers, body: JSON.parse(body) };
    });

    const result = await client().requestTrn("req-1", trainee);

    expect(scope.isDone()).toBe(true);
    expect(seen!.url).toBe("https://trs.test/v3/trn-requests");
    expect(seen!.headers.get("authorization")).toBe("Bearer test-key");
    expect(seen!.headers.get("x-api-version")).toBe("20250627");
    expect(seen!.headers.get("accept")).toBe("application/json");
    expect(seen!.headers.get("content-type")).toContain("application/json");
    expect(seen!.body).toEqual(trsTrnRequestBody("req-1", trainee));
    expect(result).toMatchObject({ requestId: "req-1", status: "completed", trn: "1234567", potentialDuplicate: false });
    expect(result.raw).toMatchObject({ status: "Completed", trn: "1234567" });
  });

  it("reads Pending with a potential duplicate", async () => {
    trsScenario(baseUrl, "pending");
    expect(await client().requestTrn("req-1", trainee)).toMatchObject({ status: "pending", trn: null, potentialDuplicate: true });
  });

  it("throws 409 errorCode 10029 for a request id TRS already has", async () => {
    trsScenario(baseUrl, "duplicateRequest10029");
    const error = await apiError(client().requestTrn("req-1", trainee));
    expect(error).toMatchObject({ status: 409, errorCode: 10029, method: "POST", endpoint: "/v3/trn-requests" });
    expect(error.title).toBe("TRN request has already been created.");
    expect(error.detail).toBe("TRN request ID: 'req-1'");
  });

  it("turns a validation problem into field errors", async () => {
    trsScenario(baseUrl, "validationError");
    const error = await apiError(client().requestTrn("req-1", trainee));
    expect(error.status).toBe(400);
    expect(error.errorCode).toBeUndefined();
    expect(error.fieldErrors).toEqual({ "person.dateOfBirth": ["Birth date is out of expected range."] });
    expect(error.message).toContain("person.dateOfBirth");
  });

  it("reads Retry-After seconds on 429", async () => {
    trsScenario(baseUrl, "rateLimited", { retryAfter: "30" });
    const error = await apiError(client().requestTrn("req-1", trainee));
    expect(error).toMatchObject({ status: 429, retryAfterMs: 30_000, title: "API calls quota exceeded" });
  });

  it("reads a Retry-After HTTP date on 429", async () => {
    const at = new Date(Date.now() + 90_000).toUTCString();
    trsScenario(baseUrl, "rateLimited", { retryAfter: at });
    const error = await apiError(client().requestTrn("req-1", trainee));
    expect(error.retryAfterMs).toBeGreaterThan(80_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(90_000);
  });

  it("throws for a 500 with an empty body", async () => {
    trsScenario(baseUrl, "serverError");
    const error = await apiError(client().requestTrn("req-1", trainee));
    expect(error).toMatchObject({ status: 500, errorCode: undefined, title: undefined, bodyExcerpt: undefined });
  });

  it.each([
    ["unauthorized", 401],
    ["forbidden", 403],
    ["endpointNotFound", 404],
    ["serviceUnavailable", 503],
  ] as const)("throws for %s (%i)", async (name, status) => {
    trsScenario(baseUrl, name);
    expect((await apiError(client().requestTrn("req-1", trainee))).status).toBe(status);
  });

  it("gives status 0 ETIMEDOUT when no answer comes within timeoutMs", async () => {
    trsScenario(baseUrl, "timeout", { delayMs: 500 });
    const error = await apiError(client(100).requestTrn("req-1", trainee));
    expect(error).toMatchObject({ status: 0, networkCode: "ETIMEDOUT", endpoint: "/v3/trn-requests" });
    expect(samples).toEqual([expect.objectContaining({ endpoint: "/v3/trn-requests", method: "POST", status: 0 })]);
  });

  it.each([
    ["connectionRefused", "ECONNREFUSED"],
    ["connectionReset", "ECONNRESET"],
  ] as const)("gives status 0 %s with the network code", async (name, code) => {
    trsScenario(baseUrl, name);
    expect(await apiError(client().requestTrn("req-1", trainee))).toMatchObject({ status: 0, networkCode: code });
  });

  it.each([
    ["malformed", "status"],
    ["notJson", "not JSON"],
  ] as const)("turns a 200 with a %s body into an unexpected response", async (name, why) => {
    trsScenario(baseUrl, name);
    const error = await apiError(client().requestTrn("req-1", trainee));
    expect(error).toMatchObject({ status: 200, title: "unexpected response body" });
    expect(error.detail).toContain(why);
    expect(classify(error).errorClass.name).toBe("unexpected_response");
  });

  it("refuses Completed without a TRN, and an answer about another request id", async () => {
    nock(baseUrl).post("/v3/trn-requests").reply(200, { requestId: "req-1", status: "Completed", trn: null, potentialDuplicate: false });
    expect((await apiError(client().requestTrn("req-1", trainee))).detail).toContain("trn");
    nock(baseUrl).post("/v3/trn-requests").reply(200, { requestId: "req-2", status: "Pending", trn: null, potentialDuplicate: true });
    expect((await apiError(client().requestTrn("req-1", trainee))).detail).toContain("requestId");
  });

  it("reports each request once to the observer", async () => {
    trsScenario(baseUrl, "pending");
    trsScenario(baseUrl, "duplicateRequest10029");
    await client().requestTrn("req-1", trainee);
    await client()
      .requestTrn("req-1", trainee)
      .catch(() => undefined);
    expect(samples).toEqual([
      { endpoint: "/v3/trn-requests", method: "POST", status: 200, durationMs: expect.any(Number) },
      { endpoint: "/v3/trn-requests", method: "POST", status: 409, durationMs: expect.any(Number) },
    ]);
  });

  it("puts no personal data in error messages", async () => {
    trsScenario(baseUrl, "validationError");
    const error = await apiError(client().requestTrn("req-1", trainee));
    for (const personal of [trainee.firstNames, trainee.lastName, "1990-05-17", trainee.email!])
      expect(error.message).not.toContain(personal);
  });
});

describe("getTrnRequest: GET /v3/trn-requests?requestId=", () => {
  it("asks with the request id in the query and reads Completed", async () => {
    const scope = trsScenario(baseUrl, "completed", { on: "getTrnRequest", requestId: "req-1" });
    expect(await client().getTrnRequest("req-1")).toMatchObject({ requestId: "req-1", status: "completed", trn: "1234567" });
    expect(scope.isDone()).toBe(true);
    expect(samples[0]).toMatchObject({ endpoint: "/v3/trn-requests", method: "GET", status: 200 });
  });

  it("reads Pending", async () => {
    trsScenario(baseUrl, "pending", { on: "getTrnRequest", requestId: "req-1" });
    expect(await client().getTrnRequest("req-1")).toMatchObject({ status: "pending", trn: null, potentialDuplicate: true });
  });

  it("throws 404 errorCode 10031 for a request TRS does not know", async () => {
    trsScenario(baseUrl, "unknownRequest10031", { requestId: "req-9" });
    expect(await apiError(client().getTrnRequest("req-9"))).toMatchObject({
      status: 404,
      errorCode: 10031,
      method: "GET",
      endpoint: "/v3/trn-requests",
    });
  });

  it("throws 400 errorCode 10062 for a rejected or dormant request (20250425-20260224)", async () => {
    trsScenario(baseUrl, "unsupportedStatus10062");
    expect(await apiError(client().getTrnRequest("req-1"))).toMatchObject({ status: 400, errorCode: 10062 });
  });

  it("reads Rejected (20260416 and later) as rejected", async () => {
    trsScenario(baseUrl, "rejected");
    expect(await client().getTrnRequest("req-1")).toMatchObject({ status: "rejected", trn: null });
  });
});
