import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { assessmentOnly, clientFor, hei, routeBody, trnRequestBody } from "./sandbox-client.js";

const validation = (errors: Record<string, string[]>) => ({
  type: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
  title: "One or more validation errors occurred.",
  status: 400,
  errors,
});

describe("sandbox: TRS v3 routes to professional statuses and persons", () => {
  const now = new Date("2026-03-01T10:00:00Z");
  let sandbox: Sandbox;
  let call: ReturnType<typeof clientFor>;

  async function createPerson(lastName: string): Promise<string> {
    const answer = await call("POST", "/v3/trn-requests", { body: trnRequestBody(`req-${sandbox.persons().length}`, lastName) });
    return (answer.json as { trn: string }).trn;
  }
  const routePath = (trn: string, reference = "slug-1") => `/v3/persons/${trn}/routes-to-professional-statuses/${reference}`;

  beforeAll(async () => {
    sandbox = createSandbox({ now: () => now });
    call = clientFor(await sandbox.listen(0));
  });
  afterAll(() => sandbox.close());
  beforeEach(() => sandbox.reset());

  it("creates and updates a route with 204 and no body", async () => {
    const trn = await createPerson("Smith");
    const created = await call("PUT", routePath(trn), { body: routeBody() });
    expect(created.status).toBe(204);
    expect(created.text).toBe("");
    const updated = await call("PUT", routePath(trn), { body: routeBody({ status: "Deferred" }) });
    expect(updated.status).toBe(204);
    expect(sandbox.persons()[0]!.routes).toEqual({
      "slug-1": expect.objectContaining({ status: "Deferred", routeToProfessionalStatusTypeId: hei }),
    });
  });

  it("requires holdsFrom with Holds, with TRS's exact validation body", async () => {
    const trn = await createPerson("Smith");
    const answer = await call("PUT", routePath(trn), { body: routeBody({ status: "Holds" }) });
    expect(answer.status).toBe(400);
    expect(answer.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(answer.json).toEqual(validation({ holdsFrom: ["Holds from date must be specified when status is 'Holds'."] }));

    const future = await call("PUT", routePath(trn), { body: routeBody({ status: "Holds", holdsFrom: "2026-03-02" }) });
    expect(future.json).toEqual(validation({ holdsFrom: ["Holds from date cannot be in the future."] }));
  });

  it("awards with Holds, then answers 10052 to any further change; GET shows the QTS date", async () => {
    const trn = await createPerson("Smith");
    expect((await call("PUT", routePath(trn), { body: routeBody({ status: "Holds", holdsFrom: "2026-02-20" }) })).status).toBe(204);
    const again = await call("PUT", routePath(trn), { body: routeBody({ status: "Withdrawn" }) });
    expect(again.status).toBe(400);
    expect(again.json).toEqual({ title: "Route to professional status already awarded.", status: 400, detail: "", errorCode: 10052 });

    const person = await call("GET", `/v3/persons/${trn}`);
    expect(person.status).toBe(200);
    expect(person.json).toEqual({
      trn,
      firstName: "Alex",
      middleName: "",
      lastName: "Smith",
      dateOfBirth: "1990-04-01",
      nationalInsuranceNumber: null,
      emailAddress: "alex@example.com",
      qts: {
        holdsFrom: "2026-02-20",
        routes: [
          {
            routeToProfessionalStatusType: {
              routeToProfessionalStatusTypeId: hei,
              name: "HEI",
              professionalStatusType: "QualifiedTeacherStatus",
            },
          },
        ],
      },
      eyts: null,
      qtlsStatus: "None",
    });
  });

  it("refuses Withdrawn → Deferred (10056) and Failed → InTraining (10055)", async () => {
    const trn = await createPerson("Smith");
    await call("PUT", routePath(trn, "withdrawn"), { body: routeBody({ status: "Withdrawn" }) });
    const deferred = await call("PUT", routePath(trn, "withdrawn"), { body: routeBody({ status: "Deferred" }) });
    expect(deferred.status).toBe(400);
    expect(deferred.json).toEqual({
      title: "Unable to change withdrawn professional status status.",
      status: 400,
      detail: "",
      errorCode: 10056,
    });
    expect((await call("PUT", routePath(trn, "withdrawn"), { body: routeBody({ status: "InTraining" }) })).status).toBe(204);

    await call("PUT", routePath(trn, "failed"), { body: routeBody({ status: "Failed" }) });
    const retrain = await call("PUT", routePath(trn, "failed"), { body: routeBody({ status: "InTraining" }) });
    expect(retrain.json).toMatchObject({ errorCode: 10055 });
  });

  it("allows UnderAssessment only on Assessment Only, and InTraining never on it", async () => {
    const trn = await createPerson("Smith");
    const heiUnderAssessment = await call("PUT", routePath(trn), { body: routeBody({ status: "UnderAssessment" }) });
    expect(heiUnderAssessment.json).toEqual(validation({ status: [`Status cannot be 'UnderAssessment' when route type is '${hei}'.`] }));
    const aoInTraining = await call("PUT", routePath(trn), {
      body: routeBody({ routeToProfessionalStatusTypeId: assessmentOnly.toUpperCase() }),
    });
    expect(aoInTraining.json).toEqual(validation({ status: [`Status cannot be 'InTraining' when route type is '${assessmentOnly}'.`] }));
    expect(
      (
        await call("PUT", routePath(trn), {
          body: routeBody({ routeToProfessionalStatusTypeId: assessmentOnly, status: "UnderAssessment" }),
        })
      ).status,
    ).toBe(204);
  });

  it("answers the lookup error codes: route type, subject, country, UKPRN, degree type, unknown TRN", async () => {
    const trn = await createPerson("Smith");
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [
        { routeToProfessionalStatusTypeId: "00000000-0000-0000-0000-000000000000" },
        10043,
        "Route type: '00000000-0000-0000-0000-000000000000'",
      ],
      [{ trainingSubjectReferences: ["100343", "999999"] }, 10045, "Training subject reference: '999999'"],
      [
        { routeToProfessionalStatusTypeId: "d0b60864-ab1c-4d49-a5c2-ff4bd9872ee1", trainingCountryReference: "XX" },
        10047,
        "Training country reference: 'XX'",
      ],
      [{ trainingProviderUkprn: "99999999" }, 10048, "Training provider UKPRN: '99999999'"],
      [{ trainingProviderUkprn: "1234" }, 10048, "Training provider UKPRN: '1234'"],
      [{ degreeTypeId: "11111111-2222-3333-4444-555555555555" }, 10049, "Degree type: '11111111-2222-3333-4444-555555555555'"],
    ];
    for (const [overrides, errorCode, detail] of cases) {
      const answer = await call("PUT", routePath(trn), { body: routeBody(overrides) });
      expect(answer.status, String(errorCode)).toBe(400);
      expect(answer.json).toMatchObject({ status: 400, errorCode, detail });
    }
    const unknown = await call("PUT", routePath("9999999"), { body: routeBody() });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ title: "Person not found.", status: 404, detail: "TRN: '9999999'", errorCode: 10001 });
  });

  it("validates the rest of the body with TRS's messages", async () => {
    const trn = await createPerson("Smith");
    const answer = await call("PUT", routePath(trn), {
      body: routeBody({
        trainingEndDate: "2025-09-01",
        trainingCountryReference: "FR",
        trainingSubjectReferences: ["1", "2", "3", "4"],
        trainingAgeSpecialism: { type: "Range", from: 11 },
      }),
    });
    expect(answer.json).toEqual(
      validation({
        trainingEndDate: ["Training end date cannot be before training start date."],
        trainingSubjectReferences: ["A maximum of 3 training subject references are allowed."],
        "trainingAgeSpecialism.to": ["To age must be specified for specialism type 'Range'."],
        trainingCountryReference: [`Training country reference must be 'GB' when route type is '${hei}'.`],
      }),
    );
  });

  it("follows the markers: +badukprn → 10048, +awarded → 10052, +notfound → 10001", async () => {
    const bad = await createPerson("Smith +badukprn");
    expect((await call("PUT", routePath(bad), { body: routeBody() })).json).toMatchObject({
      errorCode: 10048,
      title: "Invalid training provider UKPRN.",
    });
    const awarded = await createPerson("Smith +awarded");
    expect((await call("PUT", routePath(awarded), { body: routeBody() })).json).toMatchObject({ errorCode: 10052 });
    const missing = await createPerson("Smith +notfound");
    expect((await call("PUT", routePath(missing), { body: routeBody() })).status).toBe(404);
    expect((await call("GET", `/v3/persons/${missing}`)).json).toMatchObject({ errorCode: 10001 });
  });

  it("PUT persons: 10041 for a person TRS created now; for a record that allows it, 204, then 10042 once it holds QTS", async () => {
    const created = await createPerson("Smith");
    const pii = { firstName: "Alexandra", middleName: null, lastName: "Smith", dateOfBirth: "1990-04-01", emailAddress: "new@example.com" };
    // TRS sets "allow updates from the source application" for no person it creates now (SetPii.cs)
    const refusedNew = await call("PUT", `/v3/persons/${created}`, { body: pii });
    expect(refusedNew.json).toEqual({ title: "Updates to PII data is not permitted.", status: 400, detail: "", errorCode: 10041 });

    const trn = await createPerson("Smith +legacy");
    const updated = await call("PUT", `/v3/persons/${trn}`, { body: pii });
    expect(updated.status).toBe(204);
    expect((await call("GET", `/v3/persons/${trn}`)).json).toMatchObject({
      firstName: "Alexandra",
      middleName: "",
      emailAddress: "new@example.com",
    });

    await call("PUT", routePath(trn), { body: routeBody({ status: "Holds", holdsFrom: "2026-02-20" }) });
    const afterQts = await call("PUT", `/v3/persons/${trn}`, { body: pii });
    expect(afterQts.status).toBe(400);
    expect(afterQts.json).toEqual({
      title: "Updates to PII data is not permitted. Person has QTS.",
      status: 400,
      detail: "",
      errorCode: 10042,
    });

    const locked = await createPerson("Jones +legacy +pii");
    const refused = await call("PUT", `/v3/persons/${locked}`, { body: { ...pii, lastName: "Jones" } });
    expect(refused.json).toEqual({ title: "Updates to PII data is not permitted.", status: 400, detail: "", errorCode: 10041 });
    const unknown = await call("PUT", "/v3/persons/9999999", { body: pii });
    expect(unknown.json).toEqual({ title: "Person not found.", status: 404, detail: "TRN: '9999999'", errorCode: 10001 });
  });

  it("PUT persons replaces every member, as SetPii does: what is left out or null is cleared", async () => {
    const trn = await createPerson("Smith +legacy");
    const full = {
      firstName: "Ann",
      middleName: "Beth",
      lastName: "Smith",
      dateOfBirth: "1990-04-01",
      emailAddress: "ann@example.com",
      nationalInsuranceNumber: "qq 12 34 56 c",
      gender: "Female",
    };
    expect((await call("PUT", `/v3/persons/${trn}`, { body: full })).status).toBe(204);
    expect((await call("GET", `/v3/persons/${trn}`)).json).toMatchObject({
      nationalInsuranceNumber: "QQ123456C",
      emailAddress: "ann@example.com",
    });
    const { emailAddress: _e, nationalInsuranceNumber: _n, gender: _g, ...without } = full;
    expect((await call("PUT", `/v3/persons/${trn}`, { body: { ...without, middleName: null } })).status).toBe(204);
    expect((await call("GET", `/v3/persons/${trn}`)).json).toMatchObject({
      middleName: "",
      nationalInsuranceNumber: null,
      emailAddress: null,
    });
    // a NINO TRS cannot parse throws in its handler: a 500, not a validation problem
    expect((await call("PUT", `/v3/persons/${trn}`, { body: { ...full, nationalInsuranceNumber: "NOT A NINO" } })).status).toBe(500);
  });

  it("keeps the first training country of a route: a later PUT cannot change it, though it is still checked", async () => {
    const trn = await createPerson("Smith");
    const iqts = { routeToProfessionalStatusTypeId: "d0b60864-ab1c-4d49-a5c2-ff4bd9872ee1", trainingCountryReference: "FR" };
    expect((await call("PUT", routePath(trn), { body: routeBody(iqts) })).status).toBe(204);
    expect((await call("PUT", routePath(trn), { body: routeBody({ ...iqts, trainingCountryReference: "ES" }) })).status).toBe(204);
    expect((await call("PUT", routePath(trn), { body: routeBody({ ...iqts, trainingCountryReference: "XX" }) })).json).toMatchObject({
      errorCode: 10047,
    });
    const person = (await call("GET", `/v3/persons/${trn}?include=RoutesToProfessionalStatuses`)).json as {
      routesToProfessionalStatuses: { trainingCountry: { reference: string } }[];
    };
    expect(person.routesToProfessionalStatuses[0]!.trainingCountry.reference).toBe("FR");
  });

  it("clears a degree type a later route PUT leaves out, as TRS replaces every member but the country", async () => {
    const trn = await createPerson("Smith");
    const pgce = "40a85dd0-8512-438e-8040-649d7d677d07";
    await call("PUT", routePath(trn), { body: routeBody({ degreeTypeId: pgce }) });
    const { degreeTypeId: _d, ...without } = routeBody({ degreeTypeId: pgce }) as Record<string, unknown>;
    await call("PUT", routePath(trn), { body: without });
    const person = (await call("GET", `/v3/persons/${trn}?include=RoutesToProfessionalStatuses`)).json as {
      routesToProfessionalStatuses: { degreeType: unknown }[];
    };
    expect(person.routesToProfessionalStatuses[0]!.degreeType).toBeNull();
  });

  it("GET persons: 404 10001 with the date of birth in the detail when it does not match", async () => {
    const trn = await createPerson("Smith");
    expect((await call("GET", `/v3/persons/${trn}?dateOfBirth=1990-04-01`)).status).toBe(200);
    const mismatch = await call("GET", `/v3/persons/${trn}?dateOfBirth=1991-01-01`);
    expect(mismatch.status).toBe(404);
    expect(mismatch.json).toEqual({
      title: "Person not found.",
      status: 404,
      detail: `TRN: '${trn}'\nDate of birth: '1991-01-01'`,
      errorCode: 10001,
    });
  });

  it("records EYTS, not QTS, for an early years route", async () => {
    const trn = await createPerson("Smith");
    const eyRoute = routeBody({
      routeToProfessionalStatusTypeId: "dbc4125b-9235-41e4-abd2-baabbf63f829",
      status: "Holds",
      holdsFrom: "2026-01-10",
    });
    expect((await call("PUT", routePath(trn), { body: eyRoute })).status).toBe(204);
    const person = (await call("GET", `/v3/persons/${trn}?include=RoutesToProfessionalStatuses`)).json as Record<string, unknown>;
    expect(person.qts).toBeNull();
    expect(person.eyts).toMatchObject({ holdsFrom: "2026-01-10" });
    expect(person.routesToProfessionalStatuses).toEqual([expect.objectContaining({ status: "Holds", holdsFrom: "2026-01-10" })]);
    const changeType = await call("PUT", routePath(trn), { body: routeBody() });
    expect(changeType.json).toMatchObject({ errorCode: 10054 });
  });
});
