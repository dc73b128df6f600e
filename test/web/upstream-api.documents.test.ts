import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/web/app.js";
import { createTestWorld, type TestWorld } from "../support/context.js";
import { client, serve } from "../support/http.js";
import { traineeDoc } from "../support/documents.js";

let world: TestWorld;
let server: Awaited<ReturnType<typeof serve>>;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  world = await createTestWorld();
  server = await serve(createApp(world.deps, world.queues));
  api = client(server.url);
});
afterAll(async () => {
  await server.close();
  await world.cleanup();
});

const counts = async () => ({
  trainees: await world.deps.prisma.trainee.count(),
  tasks: await world.deps.prisma.syncTask.count(),
  events: await world.deps.prisma.syncEvent.count(),
});

describe("PUT /api/v1/trainees/{slug}", () => {
  it("refuses requests without a valid bearer token", async () => {
    const doc = traineeDoc();
    expect((await client(server.url, "wrong").put(doc.slug, doc)).status).toBe(401);
    expect((await client(server.url, "").get(doc.slug)).status).toBe(401);
  });

  it("creates a trainee with its TRN request and register job in one go (201)", async () => {
    const doc = traineeDoc();
    const response = await api.put(doc.slug, doc);
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ slug: doc.slug, state: "submitted_for_trn", trn: null, awardedAt: null });
    expect(response.body.sync.pending).toEqual([expect.objectContaining({ jobType: "register-for-trn", state: "pending" })]);
    const trainee = await world.deps.prisma.trainee.findUniqueOrThrow({ where: { slug: doc.slug } });
    const requests = await world.deps.prisma.trnRequest.findMany({ where: { traineeId: trainee.id } });
    expect(requests).toHaveLength(1);
    expect(requests[0]!.activeTraineeId).toBe(trainee.id);
    const timeline = await api.timeline(doc.slug);
    expect(timeline.body.events.map((e: { kind: string }) => e.kind)).toEqual(["trainee_created"]);
  });

  it("answers 400 to a NUL character or a date Postgres cannot store, and writes nothing", async () => {
    const before = await counts();
    const doc = traineeDoc();
    const response = await api.put(doc.slug, {
      ...doc,
      firstNames: "Ada\u0000",
      middleNames: "\u0007",
      ittStartDate: "0000-01-01",
      ittEndDate: "2027-07-31",
    });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual({
      firstNames: ["must not contain control characters"],
      middleNames: ["must not contain control characters"],
      ittStartDate: ["must be between 1900-01-01 and 2099-12-31"],
    });
    expect(await counts()).toEqual(before);
  });

  it("accepts the ITT qualification aim as a HESA code or Register's wording, and stores the wording", async () => {
    for (const [aim, stored] of [
      ["020", "Postgraduate Certificate in Education"],
      ["Postgraduate Diploma in Education", "Postgraduate Diploma in Education"],
      ["Unknown", "Unknown"],
    ]) {
      const doc = traineeDoc({ ittQualificationAim: aim });
      const response = await api.put(doc.slug, doc);
      expect(response.status).toBe(201);
      expect(response.body.ittQualificationAim).toBe(stored);
    }
  });

  it("refuses an unknown aim, a bad NINO, a missing sex and a misplaced or missing training country with 400", async () => {
    const before = await counts();
    const doc = traineeDoc({ ittQualificationAim: "PGCert", nationalInsuranceNumber: "AB12", sex: null, trainingCountry: "FR" });
    const response = await api.put(doc.slug, doc);
    expect(response.status).toBe(400);
    expect(Object.keys(response.body.errors).sort()).toEqual(["ittQualificationAim", "nationalInsuranceNumber", "sex", "trainingCountry"]);
    expect(response.body.errors.ittQualificationAim[0]).toMatch(/HESA ITT qualification aim code/);
    expect(response.body.errors.trainingCountry).toEqual(["is only for the iqts route: UK routes are sent to TRS as GB"]);
    const iqts = traineeDoc({ trainingRoute: "iqts" });
    expect((await api.put(iqts.slug, iqts)).body.errors).toEqual({ trainingCountry: ["is required for the iqts route"] });
    const wales = traineeDoc({ trainingRoute: "iqts", trainingCountry: "GB-WLS" });
    expect((await api.put(wales.slug, wales)).body.errors.trainingCountry).toEqual([
      "cannot be Wales (GB-WLS, GB-CYM): TRS refuses it for iQTS",
    ]);
    expect(await counts()).toEqual(before);
  });

  it("stores a NINO as TRS normalises it, and an iQTS country upper-cased", async () => {
    const doc = traineeDoc({ trainingRoute: "iqts", trainingCountry: "fr", nationalInsuranceNumber: "qq 12-34-56 c" });
    const response = await api.put(doc.slug, doc);
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ trainingCountry: "FR", nationalInsuranceNumber: "QQ123456C" });
  });

  it("keeps the aim it holds when a document comes without one (TRS would clear the route's degree type)", async () => {
    const doc = traineeDoc({ ittQualificationAim: "020" });
    await api.put(doc.slug, doc);
    const response = await api.put(doc.slug, { ...doc, ittQualificationAim: null, firstNames: "Ada Mary" });
    expect(response.status).toBe(200);
    expect(response.body.ittQualificationAim).toBe("Postgraduate Certificate in Education");
  });

  it("answers 400 listing every invalid field, and writes nothing", async () => {
    const before = await counts();
    const doc = traineeDoc({
      dateOfBirth: "1990-02-30",
      email: "not-an-email",
      courseSubjects: ["1", "2", "3", "4"],
      sex: "x",
      surprise: true,
    });
    const response = await api.put(doc.slug, { ...doc, firstNames: "" });
    expect(response.status).toBe(400);
    expect(Object.keys(response.body.errors).sort()).toEqual(["courseSubjects", "dateOfBirth", "document", "email", "firstNames", "sex"]);
    expect(response.body.errors.document).toEqual(["unknown field(s): surprise"]);
    expect(await counts()).toEqual(before);
  });

  it("answers 400 for a body that is not JSON, and for a slug that differs from the path", async () => {
    const doc = traineeDoc();
    expect((await api.call("PUT", `/api/v1/trainees/${doc.slug}`, "{not json")).status).toBe(400);
    const mismatch = await api.put(doc.slug, { ...doc, slug: "other" });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.errors.slug).toBeDefined();
  });

  it("requires what TRS needs once the trainee is past draft", async () => {
    const doc = traineeDoc({ trainingRoute: null, providerUkprn: null });
    const response = await api.put(doc.slug, doc);
    expect(response.status).toBe(400);
    expect(response.body.errors).toHaveProperty("trainingRoute");
    expect(response.body.errors).toHaveProperty("providerUkprn");
    const draft = traineeDoc({ trainingRoute: null, providerUkprn: null, state: "draft" });
    expect((await api.put(draft.slug, draft)).status).toBe(201);
  });

  it("refuses a date of birth from today on and an award date in the future", async () => {
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const born = traineeDoc({ dateOfBirth: tomorrow });
    expect((await api.put(born.slug, born)).body.errors).toEqual({ dateOfBirth: ["must be before today"] });
    const doc = traineeDoc({ state: "trn_received", trn: "1000009" });
    await api.put(doc.slug, doc);
    const response = await api.put(doc.slug, { ...doc, state: "recommended_for_award", outcomeDate: tomorrow });
    expect(response.status).toBe(400);
    expect(Object.keys(response.body.errors)).toEqual(["outcomeDate"]);
    expect((await api.get(doc.slug)).body.state).toBe("trn_received");
  });

  it("answers 409 with the allowed transitions for a forbidden state change, and writes nothing", async () => {
    const doc = traineeDoc({ state: "draft" });
    expect((await api.put(doc.slug, doc)).status).toBe(201);
    const before = await counts();
    const response = await api.put(doc.slug, { ...doc, state: "withdrawn", withdrawDate: "2026-10-01" });
    expect(response.status).toBe(409);
    expect(response.body.allowedTransitions).toEqual(["submitted_for_trn"]);
    expect(await counts()).toEqual(before);
    expect((await api.get(doc.slug)).body.state).toBe("draft");
  });

  it("answers 409 when the document's TRN differs from the stored one", async () => {
    const doc = traineeDoc({ state: "trn_received", trn: "1000001" });
    expect((await api.put(doc.slug, doc)).status).toBe(201);
    const response = await api.put(doc.slug, { ...doc, trn: "1000002" });
    expect(response.status).toBe(409);
    // a null TRN never clears the stored one
    const again = await api.put(doc.slug, { ...doc, trn: null, firstNames: "Augusta" });
    expect(again.status).toBe(200);
    expect(again.body.trn).toBe("1000001");
  });

  it("creates no new work when the same document is sent twice", async () => {
    const doc = traineeDoc({ state: "trn_received", trn: "1000003" });
    expect((await api.put(doc.slug, doc)).status).toBe(201);
    const before = await counts();
    const second = await api.put(doc.slug, doc);
    expect(second.status).toBe(200);
    expect(await counts()).toEqual(before);
  });

  it("turns several quick edits into one update", async () => {
    const doc = traineeDoc({ state: "trn_received", trn: "1000004" });
    await api.put(doc.slug, doc);
    await api.put(doc.slug, { ...doc, firstNames: "A" });
    await api.put(doc.slug, { ...doc, firstNames: "B" });
    const response = await api.get(doc.slug);
    expect(response.body.sync.pending.map((t: { jobType: string }) => t.jobType)).toEqual(["update-trainee"]);
    const timeline = await api.timeline(doc.slug);
    expect(timeline.body.events).toHaveLength(3);
  });

  it("queues update then award on recommendation, and refuses an award without outcomeDate", async () => {
    const doc = traineeDoc({ state: "trn_received", trn: "1000005" });
    await api.put(doc.slug, doc);
    expect((await api.put(doc.slug, { ...doc, state: "recommended_for_award" })).status).toBe(400);
    const response = await api.put(doc.slug, { ...doc, state: "recommended_for_award", outcomeDate: "2026-07-01" });
    expect(response.status).toBe(200);
    expect(response.body.sync.pending.map((t: { jobType: string }) => t.jobType)).toEqual(["update-trainee", "award-trainee"]);
  });

  it("keeps one TRN request per trainee and a unique TRN across trainees", async () => {
    const doc = traineeDoc();
    await api.put(doc.slug, doc);
    await api.put(doc.slug, { ...doc, state: "deferred" });
    await api.put(doc.slug, { ...doc, state: "submitted_for_trn" }); // reinstated while the request is still open
    const trainee = await world.deps.prisma.trainee.findUniqueOrThrow({ where: { slug: doc.slug } });
    expect(await world.deps.prisma.trnRequest.count({ where: { traineeId: trainee.id } })).toBe(1);

    const first = traineeDoc({ state: "trn_received", trn: "1000006" });
    const second = traineeDoc({ state: "trn_received", trn: "1000006" });
    expect((await api.put(first.slug, first)).status).toBe(201);
    expect((await api.put(second.slug, second)).status).toBe(409);
    expect((await api.get(second.slug)).status).toBe(404);
  });

  it("serves the stored document with its sync state", async () => {
    const doc = traineeDoc();
    await api.put(doc.slug, doc);
    const response = await api.get(doc.slug);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ ...doc, courseSubjects: ["100425"], trn: null, awardedAt: null });
    expect(response.body.sync.lastEvent.kind).toBe("trainee_created");
    expect((await api.get("no-such-trainee")).status).toBe(404);
  });
});

describe("the timeline", () => {
  it("cannot be rewritten", async () => {
    const doc = traineeDoc();
    await api.put(doc.slug, doc);
    await expect(world.deps.prisma.syncEvent.updateMany({ data: { message: "rewritten" } })).rejects.toThrow(/append-only/);
    await expect(world.deps.prisma.syncEvent.deleteMany({})).rejects.toThrow(/append-only/);
  });
});
