import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { clientFor, trnRequestBody } from "./sandbox-client.js";

describe("sandbox: API key and X-Api-Version", () => {
  let sandbox: Sandbox;
  let call: ReturnType<typeof clientFor>;

  beforeAll(async () => {
    sandbox = createSandbox({ apiKey: "test-key" });
    call = clientFor(await sandbox.listen(0));
  });
  afterAll(() => sandbox.close());

  it("answers 401 with an empty body without a valid Bearer key", async () => {
    const attempts: Array<Record<string, string>> = [
      {},
      { Authorization: "Bearer wrong" },
      { Authorization: "Basic test-key" },
      { Authorization: "test-key" },
    ];
    for (const headers of attempts) {
      const answer = await call("GET", "/v3/trn-requests?requestId=x", { key: null, headers });
      expect(answer.status).toBe(401);
      expect(answer.text).toBe("");
    }
  });

  it("accepts the Bearer prefix in any case", async () => {
    const answer = await call("GET", "/v3/trn-requests?requestId=nope", { key: null, headers: { Authorization: "bEaReR test-key" } });
    expect(answer.status).toBe(404);
    expect(answer.json).toMatchObject({ errorCode: 10031 });
  });

  it("answers 404 with an empty body when X-Api-Version is missing, unknown or too old", async () => {
    const body = trnRequestBody("version-check", "Smith");
    for (const version of [null, "20990101", "Next", "2025-06-27", "20240101"]) {
      const answer = await call("POST", "/v3/trn-requests", { key: "test-key", version, body });
      expect(answer.status, `version ${version}`).toBe(404);
      expect(answer.text).toBe("");
    }
    expect(sandbox.persons()).toEqual([]);
  });

  it("checks the version before the key, as TRS routes before it authenticates", async () => {
    const answer = await call("GET", "/v3/trn-requests?requestId=x", { key: null, version: null });
    expect(answer.status).toBe(404);
  });

  it("serves routes-to-professional-statuses from 20250627 only", async () => {
    const path = "/v3/persons/3000001/routes-to-professional-statuses/slug-1";
    const old = await call("PUT", path, { key: "test-key", version: "20250425", body: {} });
    expect(old.status).toBe(404);
    expect(old.text).toBe("");
    const current = await call("PUT", path, { key: "test-key", version: "20250627", body: {} });
    expect(current.status).toBe(400);
  });

  it("serves trn-requests from 20240307 with the older response shape before 20250425", async () => {
    const answer = await call("POST", "/v3/trn-requests", {
      key: "test-key",
      version: "20240307",
      body: trnRequestBody("old-shape", "Jones"),
    });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ requestId: "old-shape", status: "Completed", trn: expect.stringMatching(/^\d{7}$/) });
  });

  it("needs no version header for DQT v2 but still needs the key", async () => {
    const unauthorised = await call("GET", "/v2/trn-requests/anything", { key: null, version: null });
    expect(unauthorised.status).toBe(401);
    const authorised = await call("GET", "/v2/trn-requests/anything", { key: "test-key", version: null });
    expect(authorised.status).toBe(404);
    expect(authorised.json).toEqual({ type: "https://tools.ietf.org/html/rfc9110#section-15.5.5", title: "Not Found", status: 404 });
  });

  it("answers unknown paths with 404 and an empty body", async () => {
    const answer = await call("GET", "/v3/nothing-here", { key: "test-key" });
    expect(answer.status).toBe(404);
    expect(answer.text).toBe("");
  });
});
