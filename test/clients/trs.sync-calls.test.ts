import nock from "nock";
import { afterEach, describe, expect, it } from "vitest";
import { InvalidTraineeError } from "../../src/clients/teacher-records.js";
import { createTrsClient } from "../../src/clients/trs.js";
import { classify } from "../../src/jobs/classify.js";
import { trsPersonCall, trsRouteBody } from "../../src/trainees/payloads.js";
import { day, traineeFixture } from "../support/trainee-fixture.js";
import { apiError, trsScenario } from "../support/trs-scenarios.js";

const baseUrl = "https://trs.test";
const samples: { endpoint: string; method: string; status: number }[] = [];
const client = createTrsClient({ baseUrl, apiKey: "test-key", version: "20250627", timeoutMs: 2000, observe: (s) => samples.push(s) });
const trainee = traineeFixture();
const routePath = "/v3/persons/1234567/routes-to-professional-statuses/AbCdEf123456GhJkLmNoPqRs";

afterEach(() => {
  nock.cleanAll();
  samples.length = 0;
});

describe("planSync", () => {
  it("plans an update as the person PUT, then the route PUT", () => {
    expect(client.planSync("update", trainee)).toEqual([
      { endpoint: "trs:person", method: "PUT", path: "/v3/persons/1234567", ...trsPersonCall(trainee) },
      { endpoint: "trs:route", method: "PUT", path: routePath, body: trsRouteBody(trainee, "InTraining") },
    ]);
  });

  it("plans a withdrawal as the route PUT with Withdrawn", () => {
    const calls = client.planSync("withdraw", traineeFixture({ state: "withdrawn" }));
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ endpoint: "trs:route", method: "PUT", path: routePath, body: { status: "Withdrawn" } });
    expect(calls[0]!.body).not.toHaveProperty("holdsFrom");
  });

  it("plans an award as the route PUT with Holds from the outcome date", () => {
    const calls = client.planSync("award", traineeFixture({ state: "recommended_for_award", outcomeDate: day("2026-07-10") }));
    expect(calls).toEqual([
      expect.objectContaining({ endpoint: "trs:route", body: expect.objectContaining({ status: "Holds", holdsFrom: "2026-07-10" }) }),
    ]);
  });

  it("refuses a trainee without a TRN", () => {
    expect(() => client.planSync("update", traineeFixture({ trn: null }))).toThrow(InvalidTraineeError);
  });

  it("is pure: the same trainee plans the same calls", () => {
    expect(client.planSync("update", trainee)).toEqual(client.planSync("update", trainee));
  });
});

describe("send", () => {
  it("PUTs the route with our headers and reads the 204", async () => {
    const [, route] = client.planSync("update", trainee);
    const scope = nock(baseUrl)
      .matchHeader("authorization", "Bearer test-key")
      .matchHeader("x-api-version", "20250627")
      .put(routePath, route!.body as nock.DataMatcherMap)
      .reply(204);
    expect(await client.send(route!)).toEqual({ status: 204, body: null });
    expect(scope.isDone()).toBe(true);
    expect(samples).toEqual([
      expect.objectContaining({ endpoint: "/v3/persons/{trn}/routes-to-professional-statuses/{reference}", method: "PUT", status: 204 }),
    ]);
  });

  it("PUTs the person with a single emailAddress", async () => {
    const [person] = client.planSync("update", trainee);
    const scope = nock(baseUrl)
      .put("/v3/persons/1234567", {
        firstName: "Ada Mary",
        middleName: "Grace",
        lastName: "Lovelace",
        dateOfBirth: "1990-05-17",
        emailAddress: "ada.lovelace@example.com",
        nationalInsuranceNumber: "QQ123456C",
        gender: "Female",
      })
      .reply(204);
    expect(await client.send(person!)).toEqual({ status: 204, body: null });
    expect(scope.isDone()).toBe(true);
  });

  it("reads the person first when trs-sync holds no email or NINO, and sends TRS's own back", async () => {
    const [person] = client.planSync("update", traineeFixture({ email: null, nationalInsuranceNumber: null }));
    const scope = nock(baseUrl)
      .get("/v3/persons/1234567")
      .reply(200, { trn: "1234567", firstName: "Ada", emailAddress: "held@example.com", nationalInsuranceNumber: "AB123456C" })
      .put("/v3/persons/1234567", (body: Record<string, unknown>) => {
        return body.emailAddress === "held@example.com" && body.nationalInsuranceNumber === "AB123456C" && body.gender === "Female";
      })
      .reply(204);
    expect(await client.send(person!)).toEqual({ status: 204, body: null });
    expect(scope.isDone()).toBe(true);
    // the plan itself (what its hash covers) still says trs-sync holds none
    expect(person!.body).toMatchObject({ emailAddress: null, nationalInsuranceNumber: null });
  });

  it.each([
    ["alreadyAwarded10052", 400, 10052, "already_awarded"],
    ["notFound10001", 404, 10001, "person_not_found"],
    ["invalidRouteType10043", 400, 10043, "invalid_route_type"],
    ["invalidSubject10045", 400, 10045, "invalid_subject"],
    ["invalidCountry10047", 400, 10047, "invalid_country"],
    ["invalidUkprn10048", 400, 10048, "invalid_provider_ukprn"],
    ["invalidDegreeType10049", 400, 10049, "invalid_degree_type"],
    ["routeNotUpdatable10051", 400, 10051, "route_not_updatable"],
    ["routeTypeChange10054", 400, 10054, "route_type_change"],
    ["failedLocked10055", 400, 10055, "failed_status_locked"],
    ["withdrawnLocked10056", 400, 10056, "withdrawn_status_locked"],
  ] as const)("turns the route answer %s into an ApiError classed %s", async (name, status, errorCode, errorClass) => {
    trsScenario(baseUrl, name, { trn: "1234567", slug: trainee.slug });
    const error = await apiError(client.send(client.planSync("award", traineeFixture({ outcomeDate: day("2026-07-10") }))[0]!));
    expect(error).toMatchObject({
      status,
      errorCode,
      method: "PUT",
      endpoint: "/v3/persons/{trn}/routes-to-professional-statuses/{reference}",
    });
    expect(classify(error, { operation: "award" }).errorClass.name).toBe(errorClass);
  });

  it("classes 10052 as success for an award only: any other status sent to an awarded route was refused", async () => {
    trsScenario(baseUrl, "alreadyAwarded10052", { trn: "1234567", slug: trainee.slug });
    const error = await apiError(client.send(client.planSync("withdraw", traineeFixture({ state: "withdrawn" }))[0]!));
    expect(classify(error, { operation: "withdraw" }).errorClass).toMatchObject({ name: "route_already_awarded", kind: "permanent" });
    expect(classify(error, { operation: "update" }).errorClass.name).toBe("route_already_awarded");
    expect(classify(error, { operation: "award" }).errorClass).toMatchObject({ name: "already_awarded", kind: "ignorable" });
  });

  it("names holdsFrom when TRS says it is missing", async () => {
    trsScenario(baseUrl, "holdsFromMissing");
    const error = await apiError(client.send(client.planSync("withdraw", trainee)[0]!));
    expect(error.fieldErrors).toEqual({ holdsFrom: ["Holds from date must be specified when status is 'Holds'."] });
    expect(classify(error).errorClass.name).toBe("validation_failed");
  });

  it.each([
    ["piiNotPermitted10041", 10041],
    ["hasQts10042", 10042],
    ["hasEyts10057", 10057],
  ] as const)("turns the person answer %s into an ignorable ApiError", async (name, errorCode) => {
    trsScenario(baseUrl, name, { trn: "1234567" });
    const error = await apiError(client.send(client.planSync("update", trainee)[0]!));
    expect(error).toMatchObject({ status: 400, errorCode, endpoint: "/v3/persons/{trn}" });
    expect(classify(error).errorClass).toMatchObject({ name: "pii_update_not_permitted", kind: "ignorable" });
  });

  it("does not follow a redirect to a merged record", async () => {
    nock(baseUrl).put("/v3/persons/1234567").reply(308, "", { location: "/v3/persons/7654321" });
    const error = await apiError(client.send(client.planSync("update", trainee)[0]!));
    expect(error).toMatchObject({ status: 308, detail: "redirected to /v3/persons/7654321" });
    expect(classify(error).errorClass.name).toBe("record_merged");
  });

  it("keeps the date of birth out of the message even when TRS puts it in the detail", async () => {
    nock(baseUrl)
      .get("/v3/persons/1234567")
      .reply(404, { title: "Person not found.", status: 404, detail: "TRN: '1234567'\nDate of birth: '1990-05-17'", errorCode: 10001 });
    const error = await apiError(client.getPerson("1234567"));
    expect(error.detail).toContain("1990-05-17");
    expect(error.message).not.toContain("1990-05-17");
  });
});

describe("awardDateFrom", () => {
  it("is null: TRS answers the award with 204 and no date", () => {
    expect(client.awardDateFrom([{ status: 204, body: null }])).toBeNull();
  });
});

describe("getPerson: GET /v3/persons/{trn}", () => {
  it("returns the record as TRS holds it", async () => {
    const scope = trsScenario(baseUrl, "person", { trn: "1234567" });
    expect(await client.getPerson("1234567")).toMatchObject({ trn: "1234567", lastName: "Lovelace", qtlsStatus: "None" });
    expect(scope.isDone()).toBe(true);
    expect(samples[0]).toMatchObject({ endpoint: "/v3/persons/{trn}", method: "GET", status: 200 });
  });

  it.each([
    ["recordInactive10058", 10058, "record_inactive"],
    ["recordMerged10059", 10059, "record_merged"],
  ] as const)("throws %s", async (name, errorCode, errorClass) => {
    trsScenario(baseUrl, name);
    const error = await apiError(client.getPerson("1234567"));
    expect(error).toMatchObject({ status: 404, errorCode });
    expect(classify(error).errorClass.name).toBe(errorClass);
  });

  it("refuses a 200 that is not a person", async () => {
    nock(baseUrl).get("/v3/persons/1234567").reply(200, { message: "ok" });
    expect(classify(await apiError(client.getPerson("1234567"))).errorClass.name).toBe("unexpected_response");
  });
});
