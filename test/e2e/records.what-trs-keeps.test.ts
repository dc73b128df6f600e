/**
 * What TRS really stores, against a sandbox that behaves as TRS's source does: a personal-details
 * update never clears what TRS holds and trs-sync does not, a route carries its degree type on every
 * PUT, an iQTS route gets its real country, and a status sent to an awarded route fails visibly.
 */
import got from "got";
import { afterEach, describe, expect, it } from "vitest";
import { errorClass } from "../../src/jobs/classify.js";
import { startHarness, type Harness } from "../support/harness.js";
import { traineeDoc } from "../support/documents.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

const pgce = "40a85dd0-8512-438e-8040-649d7d677d07";

async function settled(h: Harness, slug: string) {
  return h.waitFor(`${slug} settled`, async () => {
    const t = await h.trainee(slug);
    return t.sync.pending.length === 0 ? t : null;
  });
}

const routeCalls = (h: Harness, slug: string) =>
  h.sandbox
    .requestLog()
    .filter((r) => r.method === "PUT" && r.path.endsWith(`/routes-to-professional-statuses/${slug}`))
    .map((r) => r.body as Record<string, unknown>);

describe("personal details at TRS", () => {
  it("an update keeps the NINO and email TRS holds when the trainee document has none", async () => {
    harness = await startHarness();
    const h = harness;
    // a record Register created before the cutover: TRS holds a NINO and an email we never had
    const person = h.sandbox.seedPerson({
      firstName: "Ada",
      middleName: null,
      lastName: "Lovelace",
      dateOfBirth: "1990-12-10",
      emailAddress: "ada@provider.example",
      nationalInsuranceNumber: "AB123456C",
      gender: "Female",
    });
    const doc = traineeDoc({
      state: "trn_received",
      trn: person.trn,
      email: null,
      nationalInsuranceNumber: null,
      firstNames: "Augusta Ada",
    });
    expect((await h.api.put(doc.slug, doc)).status).toBe(201);
    const t = await settled(h, doc.slug);
    expect(t.sync.failed).toEqual([]);
    const held = h.sandbox.persons().find((p) => p.trn === person.trn)!;
    expect(held).toMatchObject({
      firstName: "Augusta Ada",
      nationalInsuranceNumber: "AB123456C",
      emailAddress: "ada@provider.example",
      gender: "Female",
    });
    // the PUT sent back what TRS held, read just before
    const calls = h.sandbox.requestLog().filter((r) => r.path === `/v3/persons/${person.trn}`);
    expect(calls.map((r) => `${r.method}:${r.status}`)).toEqual(["GET:200", "PUT:204"]);
    expect(calls[1]!.body).toMatchObject({ nationalInsuranceNumber: "AB123456C", emailAddress: "ada@provider.example" });
  });

  it("a person TRS created now refuses personal-detail updates (10041) once, and is not asked again", async () => {
    harness = await startHarness();
    const h = harness;
    const doc = traineeDoc();
    await h.api.put(doc.slug, doc);
    const trn = await h.waitFor("TRN", async () => (await h.trainee(doc.slug)).trn);
    await settled(h, doc.slug);
    await h.api.put(doc.slug, { ...doc, state: "trn_received", trn, firstNames: "Augusta" });
    await settled(h, doc.slug);
    const puts = h.sandbox.requestLog().filter((r) => r.method === "PUT" && r.path === `/v3/persons/${trn}`);
    expect(puts.map((r) => r.status)).toEqual([400]);
    const events = (await h.api.timeline(doc.slug)).body.events as { kind: string; errorCode: number | null }[];
    expect(events.filter((e) => e.kind === "update_ignored").map((e) => e.errorCode)).toEqual([10041]);
    expect(events.filter((e) => e.kind === "update_not_sent").map((e) => e.errorCode)).toEqual([10041]);
    // the route still got the change of details it carries
    expect(routeCalls(h, doc.slug)).toHaveLength(1);
  });
});

describe("routes at TRS", () => {
  it("a PGCE trainee sent as its HESA code has its degree type on every route PUT, also after a document without the aim", async () => {
    harness = await startHarness();
    const h = harness;
    const doc = traineeDoc({ ittQualificationAim: "020" });
    await h.api.put(doc.slug, doc);
    const trn = await h.waitFor("TRN", async () => (await h.trainee(doc.slug)).trn);
    await settled(h, doc.slug);
    await h.api.put(doc.slug, { ...doc, state: "trn_received", trn, ittQualificationAim: null, ittEndDate: "2027-06-30" });
    await settled(h, doc.slug);
    await h.api.put(doc.slug, {
      ...doc,
      state: "recommended_for_award",
      trn,
      ittQualificationAim: null,
      ittEndDate: "2027-06-30",
      outcomeDate: "2026-07-01",
    });
    await h.waitFor("awarded", async () => (await h.trainee(doc.slug)).state === "awarded");
    const routes = routeCalls(h, doc.slug);
    expect(routes.map((r) => r.status)).toEqual(["InTraining", "InTraining", "Holds"]);
    expect(routes.map((r) => r.degreeTypeId)).toEqual([pgce, pgce, pgce]);
    const person = h.sandbox.persons().find((p) => p.trn === trn)!;
    expect(person.routes[doc.slug]).toMatchObject({ degreeTypeId: pgce, status: "Holds" });
  });

  it("an iQTS trainee is recorded with the country where they trained", async () => {
    harness = await startHarness();
    const h = harness;
    const doc = traineeDoc({ trainingRoute: "iqts", trainingCountry: "fr" });
    await h.api.put(doc.slug, doc);
    const trn = await h.waitFor("TRN", async () => (await h.trainee(doc.slug)).trn);
    await settled(h, doc.slug);
    expect(routeCalls(h, doc.slug).map((r) => r.trainingCountryReference)).toEqual(["FR"]);
    expect(h.sandbox.persons().find((p) => p.trn === trn)!.routes[doc.slug]).toMatchObject({ trainingCountryReference: "FR" });
  });

  it("a withdrawal sent to a route already awarded at TRS fails with its remediation, never as success", async () => {
    harness = await startHarness();
    const h = harness;
    const doc = traineeDoc();
    await h.api.put(doc.slug, doc);
    const trn = await h.waitFor("TRN", async () => (await h.trainee(doc.slug)).trn);
    await settled(h, doc.slug);
    // the route was awarded at TRS another way (Register before the cutover, or the TRS console)
    const route = routeCalls(h, doc.slug)[0]!;
    const award = await got.put(`${h.world.config.api.baseUrl}/v3/persons/${trn}/routes-to-professional-statuses/${doc.slug}`, {
      headers: { authorization: "Bearer sandbox-key", "x-api-version": "20250627" },
      json: { ...route, status: "Holds", holdsFrom: "2026-06-30" },
      throwHttpErrors: false,
    });
    expect(award.statusCode).toBe(204);

    await h.api.put(doc.slug, { ...doc, state: "withdrawn", trn, withdrawDate: "2026-10-01" });
    const failed = await h.waitFor("withdrawal failed", async () => (await h.trainee(doc.slug)).sync.failed[0]);
    expect(failed).toMatchObject({ jobType: "withdraw-trainee", errorClass: "route_already_awarded" });
    expect(errorClass("route_already_awarded").remediation).toMatch(/TRS team in their console/);
    expect(h.sandbox.persons().find((p) => p.trn === trn)!.routes[doc.slug]).toMatchObject({ status: "Holds" });
  });
});
