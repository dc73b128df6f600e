import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { clientFor, dqtTrnRequestBody } from "./sandbox-client.js";

describe("sandbox: DQT v2", () => {
  const now = new Date("2026-03-01T10:00:00Z");
  let sandbox: Sandbox;
  let dqt: (method: string, path: string, body?: unknown) => ReturnType<ReturnType<typeof clientFor>>;

  /** Registers a trainee through PUT /v2/trn-requests and returns its TRN. */
  async function register(lastName: string, overrides: Record<string, unknown> = {}): Promise<string> {
    const answer = await dqt("PUT", `/v2/trn-requests/req-${sandbox.persons().length}`, dqtTrnRequestBody(lastName, overrides));
    return (answer.json as { trn: string }).trn;
  }

  beforeAll(async () => {
    sandbox = createSandbox({ now: () => now });
    const call = clientFor(await sandbox.listen(0));
    dqt = (method, path, body) => call(method, path, { version: null, body });
  });
  afterAll(() => sandbox.close());
  beforeEach(() => sandbox.reset());

  it("PUT trn-requests is idempotent: 201 on creation, 200 with the same body after", async () => {
    const body = dqtTrnRequestBody("Smith");
    const created = await dqt("PUT", "/v2/trn-requests/dqt-1", body);
    expect(created.status).toBe(201);
    const expected = {
      requestId: "dqt-1",
      status: "Completed",
      trn: "3000001",
      potentialDuplicate: false,
      qtsDate: null,
      slugId: "slug-Smith",
    };
    expect(created.json).toEqual(expected);
    const again = await dqt("PUT", "/v2/trn-requests/dqt-1", body);
    expect(again.status).toBe(200);
    expect(again.json).toEqual(expected);
    expect((await dqt("GET", "/v2/trn-requests/dqt-1")).json).toEqual(expected);
    expect(sandbox.persons()).toHaveLength(1);
  });

  it("answers a +pending request Pending with potentialDuplicate true, and GET of an unknown id 404 without errorCode", async () => {
    const pending = await dqt("PUT", "/v2/trn-requests/dqt-p", dqtTrnRequestBody("Smith +pending"));
    expect(pending.json).toEqual({
      requestId: "dqt-p",
      status: "Pending",
      trn: null,
      potentialDuplicate: true,
      qtsDate: null,
      slugId: "slug-Smithpending",
    });
    const unknown = await dqt("GET", "/v2/trn-requests/nope");
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ type: "https://tools.ietf.org/html/rfc9110#section-15.5.5", title: "Not Found", status: 404 });
  });

  it("reports an unknown provider UKPRN as 'Organisation not found' (also for +badukprn)", async () => {
    const body = dqtTrnRequestBody("Smith");
    const unknown = await dqt("PUT", "/v2/trn-requests/dqt-org", {
      ...body,
      initialTeacherTraining: { ...body.initialTeacherTraining, providerUkprn: "99999999" },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json).toEqual({
      type: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
      title: "One or more validation errors occurred.",
      status: 400,
      errors: { "initialTeacherTraining.providerUkprn": ["Organisation not found"] },
    });
    const marked = await dqt("PUT", "/v2/trn-requests/dqt-org2", dqtTrnRequestBody("Smith +badukprn"));
    expect(marked.json).toMatchObject({ errors: { "initialTeacherTraining.providerUkprn": ["Organisation not found"] } });
    expect(sandbox.persons()).toEqual([]);
  });

  it("itt-outcome Pass returns the QTS date and records it", async () => {
    const trn = await register("Smith");
    const answer = await dqt("PUT", `/v2/teachers/${trn}/itt-outcome?birthdate=1992-02-03`, {
      ittProviderUkprn: "10007140",
      outcome: "Pass",
      assessmentDate: "2026-02-15",
    });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ trn, qtsDate: "2026-02-15" });
    expect(sandbox.persons()[0]!.qtsDate).toBe("2026-02-15");
    expect((await dqt("GET", `/v2/teachers/${trn}`)).json).toMatchObject({
      trn,
      qtsDate: "2026-02-15",
      initialTeacherTraining: [{ result: "Pass", provider: { ukprn: "10007140" } }],
    });

    const different = await dqt("PUT", `/v2/teachers/${trn}/itt-outcome?birthdate=1992-02-03`, {
      ittProviderUkprn: "10007140",
      outcome: "Pass",
      assessmentDate: "2026-02-16",
    });
    expect(different.json).toEqual({ title: "Teacher already has QTS/EYTS date", status: 400, errorCode: 10003 });
  });

  it("itt-outcome answers 10005 for +noitt and for a provider without an ITT record", async () => {
    const marked = await register("Smith +noitt");
    const viaMarker = await dqt("PUT", `/v2/teachers/${marked}/itt-outcome?birthdate=1992-02-03`, {
      ittProviderUkprn: "10007140",
      outcome: "Withdrawn",
    });
    expect(viaMarker.status).toBe(400);
    expect(viaMarker.json).toEqual({ title: "Teacher has no incomplete ITT record", status: 400, errorCode: 10005 });

    const trn = await register("Jones");
    const otherProvider = await dqt("PUT", `/v2/teachers/${trn}/itt-outcome?birthdate=1992-02-03`, {
      ittProviderUkprn: "10000001",
      outcome: "Withdrawn",
    });
    expect(otherProvider.json).toEqual({ title: "Teacher has no incomplete ITT record", status: 400, errorCode: 10005 });
  });

  it("itt-outcome: Withdrawn twice succeeds, +noqts gives 10006, a wrong birth date 404 10001, query names in any case", async () => {
    const trn = await register("Smith");
    const path = `/v2/teachers/${trn}/itt-outcome?slugId=slug-Smith&birthDate=1992-02-03`;
    expect((await dqt("PUT", path, { ittProviderUkprn: "10007140", outcome: "Withdrawn" })).json).toEqual({ trn, qtsDate: null });
    expect((await dqt("PUT", path, { ittProviderUkprn: "10007140", outcome: "Withdrawn" })).status).toBe(200);

    const noQts = await register("Jones +noqts");
    const pass = await dqt("PUT", `/v2/teachers/${noQts}/itt-outcome?birthdate=1992-02-03`, {
      ittProviderUkprn: "10007140",
      outcome: "Pass",
      assessmentDate: "2026-02-15",
    });
    expect(pass.json).toEqual({ title: "Teacher has no QTS record", status: 400, errorCode: 10006 });

    const wrongDob = await dqt("PUT", `/v2/teachers/${trn}/itt-outcome?birthdate=1992-02-04`, {
      ittProviderUkprn: "10007140",
      outcome: "Withdrawn",
    });
    expect(wrongDob.status).toBe(404);
    expect(wrongDob.json).toEqual({ title: "Teacher with specified TRN not found", status: 404, errorCode: 10001 });
  });

  it("itt-outcome validates assessmentDate and birthdate", async () => {
    const trn = await register("Smith");
    const noDate = await dqt("PUT", `/v2/teachers/${trn}/itt-outcome?birthdate=1992-02-03`, {
      ittProviderUkprn: "10007140",
      outcome: "Pass",
    });
    expect(noDate.json).toMatchObject({
      status: 400,
      errors: { assessmentDate: ["Assessment date must be specified when outcome is Pass."] },
    });
    const future = await dqt("PUT", `/v2/teachers/${trn}/itt-outcome?birthdate=1992-02-03`, {
      ittProviderUkprn: "10007140",
      outcome: "Pass",
      assessmentDate: "2026-03-02",
    });
    expect(future.json).toMatchObject({ errors: { assessmentDate: ["QTS date cannot be in the future."] } });
    const noBirthDate = await dqt("PUT", `/v2/teachers/${trn}/itt-outcome`, { ittProviderUkprn: "10007140", outcome: "Withdrawn" });
    expect(noBirthDate.json).toMatchObject({ errors: { birthDate: ["Birthdate is required."] } });
  });

  it("PATCH update: 204, then 'Teacher already has QTS/EYTS date' once awarded (and for +awarded)", async () => {
    const trn = await register("Smith");
    const update = { initialTeacherTraining: { ...dqtTrnRequestBody("Smith").initialTeacherTraining, outcome: "Deferred" } };
    const deferred = await dqt("PATCH", `/v2/teachers/update/${trn}?birthdate=1992-02-03`, update);
    expect(deferred.status).toBe(204);
    expect((await dqt("GET", `/v2/teachers/${trn}`)).json).toMatchObject({ initialTeacherTraining: [{ result: "Deferred" }] });

    await dqt("PUT", `/v2/teachers/${trn}/itt-outcome?birthdate=1992-02-03`, {
      ittProviderUkprn: "10007140",
      outcome: "Pass",
      assessmentDate: "2026-02-15",
    });
    const afterAward = await dqt("PATCH", `/v2/teachers/update/${trn}?birthdate=1992-02-03`, update);
    const alreadyAwarded = {
      type: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
      title: "One or more validation errors occurred.",
      status: 400,
      errors: { "initialTeacherTraining.programmeType": ["Teacher already has QTS/EYTS date"] },
    };
    expect(afterAward.status).toBe(400);
    expect(afterAward.json).toEqual(alreadyAwarded);

    const marked = await register("Jones +awarded");
    expect((await dqt("PATCH", `/v2/teachers/update/${marked}?birthdate=1992-02-03`, update)).json).toEqual(alreadyAwarded);
  });

  it("PATCH update: 404 10001 for an unknown teacher, 400 for a missing birthdate or ITT", async () => {
    const unknown = await dqt("PATCH", "/v2/teachers/update/9999999?birthdate=1992-02-03", {
      initialTeacherTraining: dqtTrnRequestBody("X").initialTeacherTraining,
    });
    expect(unknown.json).toEqual({ title: "Teacher with specified TRN not found", status: 404, errorCode: 10001 });
    const trn = await register("Smith");
    const noItt = await dqt("PATCH", `/v2/teachers/update/${trn}`, {});
    expect(noItt.status).toBe(400);
    expect((noItt.json as { errors: Record<string, string[]> }).errors).toEqual({
      birthDate: ["Birthdate is required."],
      initialTeacherTraining: ["'Initial Teacher Training' must not be empty."],
    });
  });
});
