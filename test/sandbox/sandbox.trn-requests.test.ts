import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { clientFor, trnRequestBody } from "./sandbox-client.js";

describe("sandbox: TRS v3 TRN requests", () => {
  let now = new Date("2026-03-01T10:00:00Z");
  let sandbox: Sandbox;
  let call: ReturnType<typeof clientFor>;

  beforeAll(async () => {
    sandbox = createSandbox({ now: () => now, pendingCompletesAfterMs: 60_000 });
    call = clientFor(await sandbox.listen(0));
  });
  afterAll(() => sandbox.close());
  beforeEach(() => {
    sandbox.reset();
    now = new Date("2026-03-01T10:00:00Z");
  });

  it("completes a TRN request at once with sequential TRNs and creates the person", async () => {
    const first = await call("POST", "/v3/trn-requests", { body: trnRequestBody("req-1", "Smith") });
    expect(first.status).toBe(200);
    expect(first.headers["content-type"]).toMatch(/^application\/json/);
    expect(first.json).toEqual({
      requestId: "req-1",
      status: "Completed",
      trn: "3000001",
      potentialDuplicate: false,
      accessYourTeachingQualificationsLink: null,
    });
    const second = await call("POST", "/v3/trn-requests", { body: trnRequestBody("req-2", "Jones") });
    expect(second.json).toMatchObject({ trn: "3000002" });
    expect(sandbox.persons().map((person) => [person.trn, person.lastName])).toEqual([
      ["3000001", "Smith"],
      ["3000002", "Jones"],
    ]);

    const read = await call("GET", "/v3/trn-requests?requestId=req-1");
    expect(read.status).toBe(200);
    expect(read.json).toEqual(first.json);
  });

  it("keeps a +pending request Pending until the delay has passed, then completes it on the next GET", async () => {
    const created = await call("POST", "/v3/trn-requests", { body: trnRequestBody("req-pending", "Smith +pending") });
    const pending = {
      requestId: "req-pending",
      status: "Pending",
      trn: null,
      potentialDuplicate: true,
      accessYourTeachingQualificationsLink: null,
    };
    expect(created.status).toBe(200);
    expect(created.json).toEqual(pending);
    expect(sandbox.persons()).toEqual([]);

    now = new Date(now.getTime() + 59_999);
    expect((await call("GET", "/v3/trn-requests?requestId=req-pending")).json).toEqual(pending);

    now = new Date(now.getTime() + 1);
    const completed = await call("GET", "/v3/trn-requests?requestId=req-pending");
    expect(completed.json).toEqual({ ...pending, status: "Completed", trn: "3000001" });
    expect(sandbox.persons()).toHaveLength(1);
  });

  it("keeps a +stuck request Pending until completeTrnRequest", async () => {
    await call("POST", "/v3/trn-requests", { body: trnRequestBody("req-stuck", "Smith +stuck") });
    now = new Date(now.getTime() + 365 * 86_400_000);
    expect((await call("GET", "/v3/trn-requests?requestId=req-stuck")).json).toMatchObject({ status: "Pending", trn: null });
    sandbox.completeTrnRequest("req-stuck");
    expect((await call("GET", "/v3/trn-requests?requestId=req-stuck")).json).toMatchObject({ status: "Completed", trn: "3000001" });
    expect(() => sandbox.completeTrnRequest("no-such-request")).toThrow(/no-such-request/);
  });

  it("answers 409 10029 when a request id is used again", async () => {
    await call("POST", "/v3/trn-requests", { body: trnRequestBody("req-dup", "Smith") });
    const again = await call("POST", "/v3/trn-requests", { body: trnRequestBody("req-dup", "Other") });
    expect(again.status).toBe(409);
    expect(again.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(again.json).toEqual({
      title: "TRN request has already been created.",
      status: 409,
      detail: "TRN request ID: 'req-dup'",
      errorCode: 10029,
    });
    expect(sandbox.persons()).toHaveLength(1);
  });

  it("answers 404 10031 for an unknown request id", async () => {
    const answer = await call("GET", "/v3/trn-requests?requestId=never-made");
    expect(answer.status).toBe(404);
    expect(answer.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(answer.json).toEqual({
      title: "TRN request does not exist.",
      status: 404,
      detail: "TRN request ID: 'never-made'",
      errorCode: 10031,
    });
  });

  it("rejects a +reject person with the date-of-birth validation error", async () => {
    const answer = await call("POST", "/v3/trn-requests", { body: trnRequestBody("req-reject", "Smith +reject") });
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({
      type: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
      title: "One or more validation errors occurred.",
      status: 400,
      errors: { "person.dateOfBirth": ["Birth date is out of expected range."] },
    });
    expect(sandbox.persons()).toEqual([]);
  });

  it("validates the body like TRS: dates of birth, request ids, names and emails", async () => {
    const today = await call("POST", "/v3/trn-requests", { body: trnRequestBody("req-today", "Smith", "2026-03-01") });
    expect(today.json).toMatchObject({ errors: { "person.dateOfBirth": ["Birth date is out of expected range."] } });
    const before1940 = await call("POST", "/v3/trn-requests", { body: trnRequestBody("req-old", "Smith", "1939-12-31") });
    expect(before1940.status).toBe(400);

    const body = trnRequestBody("bad id!", "");
    body.person.emailAddresses = ["not-an-email"];
    const invalid = await call("POST", "/v3/trn-requests", { body });
    expect(invalid.status).toBe(400);
    expect((invalid.json as { errors: unknown }).errors).toEqual({
      requestId: ["Request ID can only contain characters, digits, underscores and dashes."],
      "person.lastName": ["'Person Last Name' must not be empty."],
      "person.emailAddresses[0]": ["'Person Email Addresses' is not a valid email address."],
    });
  });

  it("accepts property names in any case and ignores unknown ones", async () => {
    const answer = await call("POST", "/v3/trn-requests", {
      body: { RequestId: "req-case", Person: { FIRSTNAME: "Alex", lastname: "Smith", dateOfBirth: "1990-01-01" }, somethingNew: 1 },
    });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ requestId: "req-case", status: "Completed" });
  });

  it("answers malformed JSON with a 400 problem, a missing content type with 415, and never crashes", async () => {
    const malformed = await call("POST", "/v3/trn-requests", { body: '{"requestId": "x", "person": ' });
    expect(malformed.status).toBe(400);
    expect(malformed.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(malformed.json).toMatchObject({ status: 400, errors: { $: expect.any(Array) } });

    const noType = await call("POST", "/v3/trn-requests", { body: "{}", headers: { "Content-Type": "text/plain" } });
    expect(noType.status).toBe(415);

    for (const hostile of ["[]", "null", '"text"', '{"requestId":{"$gt":""},"person":[1,2]}', '{"__proto__":{"x":1}}']) {
      const answer = await call("POST", "/v3/trn-requests", { body: hostile });
      expect(answer.status, hostile).toBe(400);
    }
    expect((await call("GET", "/v3/trn-requests?requestId=still-up")).status).toBe(404);
  });
});
