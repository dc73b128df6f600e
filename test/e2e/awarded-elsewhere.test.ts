/**
 * The QTS race (issue 10 item 4): the award reached the record before our update did (Register
 * before the cutover, the TRS console), so TRS refuses the update with 10052 and DQT with "Teacher
 * already has QTS/EYTS date". The job fetches the record and compares: the same record resolves the
 * update as accepted and the award follows; a different one fails as awarded_record_differs, naming
 * the fields and never their values.
 */
import { afterEach, describe, expect, it } from "vitest";
import { errorClass } from "../../src/jobs/classify.js";
import { startHarness, type Harness } from "../support/harness.js";
import { traineeDoc } from "../support/documents.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

type Doc = ReturnType<typeof traineeDoc> & { trn: string };

async function registered(h: Harness): Promise<Doc> {
  const doc = traineeDoc();
  await h.api.put(doc.slug, doc);
  const trn = await h.waitFor("TRN", async () => (await h.trainee(doc.slug)).trn as string | null);
  await h.waitFor(`${doc.slug} settled`, async () => (await h.trainee(doc.slug)).sync.pending.length === 0);
  return { ...doc, state: "trn_received", trn };
}

/**
 * Sends the award to the API as someone else did, with `outcomeDate`, and forgets what the API last
 * accepted from us: a trainee imported from Register at the cutover, whose calls we never made.
 */
async function awardedElsewhere(h: Harness, doc: Doc, outcomeDate: string): Promise<void> {
  const { prisma, api } = h.world.deps;
  const trainee = await prisma.trainee.findUniqueOrThrow({ where: { slug: doc.slug } });
  for (const call of api.planSync("award", { ...trainee, state: "recommended_for_award", outcomeDate: new Date(outcomeDate) })) {
    await api.send(call);
  }
  await prisma.sentPayload.deleteMany({ where: { traineeId: trainee.id } });
}

const events = async (h: Harness, slug: string) =>
  (await h.api.timeline(slug)).body.events as { kind: string; outcome: string; errorClass: string | null; message: string | null }[];

const personFetches = (h: Harness, trn: string) =>
  h.sandbox.requestLog().filter((r) => r.method === "GET" && new RegExp(`/(persons|teachers)/${trn}(\\?|$)`).test(r.path)).length;

describe.each(["trs", "dqt"] as const)("an award that reached the record first, on %s", (api) => {
  it("resolves the refused update as accepted when the record matches, and the award follows", async () => {
    harness = await startHarness({ api });
    const h = harness;
    const doc = await registered(h);
    await awardedElsewhere(h, doc, "2026-07-01");

    await h.api.put(doc.slug, { ...doc, state: "recommended_for_award", outcomeDate: "2026-07-01" });
    const t = await h.waitFor("awarded", async () => {
      const x = await h.trainee(doc.slug);
      return x.state === "awarded" ? x : null;
    });
    expect(t.sync.failed).toEqual([]);
    expect(t.awardedAt).toBe("2026-07-01");
    expect(personFetches(h, doc.trn)).toBeGreaterThanOrEqual(1);
    const matched = (await events(h, doc.slug)).find((e) => e.kind === "update_ignored" && /matches the trainee/.test(e.message ?? ""));
    expect(matched).toMatchObject({
      outcome: "skipped",
      errorClass: api === "trs" ? "route_already_awarded" : "already_has_qts",
    });
  });

  it("fails the update as awarded_record_differs, naming the award date, when the record holds another", async () => {
    harness = await startHarness({ api });
    const h = harness;
    const doc = await registered(h);
    await awardedElsewhere(h, doc, "2026-06-15");

    await h.api.put(doc.slug, { ...doc, state: "recommended_for_award", outcomeDate: "2026-07-01" });
    const failed = await h.waitFor(
      "update failed",
      async () => (await h.trainee(doc.slug)).sync.failed[0] as { jobType: string; errorClass: string; errorMessage: string } | undefined,
    );
    expect(failed).toMatchObject({ jobType: "update-trainee", errorClass: "awarded_record_differs" });
    expect(failed.errorMessage).toContain(api === "trs" ? "Holds from" : "QTS/EYTS date");
    // field names only: neither date reaches the task, the timeline or the logs
    expect(failed.errorMessage).not.toMatch(/2026-06-15|2026-07-01/);
    const t = await h.trainee(doc.slug);
    expect(t.state).toBe("recommended_for_award");
    // the award waits behind the failed update, as after any failed update
    expect(t.sync.pending.map((p: { jobType: string }) => p.jobType)).toEqual(["award-trainee"]);
  });

  it("fails an update of a trainee still in training whose record holds QTS, naming what differs", async () => {
    harness = await startHarness({ api });
    const h = harness;
    const doc = await registered(h);
    await awardedElsewhere(h, doc, "2026-07-01");

    await h.api.put(doc.slug, { ...doc, firstNames: "Augusta" });
    const failed = await h.waitFor(
      "update failed",
      async () => (await h.trainee(doc.slug)).sync.failed[0] as { jobType: string; errorClass: string; errorMessage: string } | undefined,
    );
    expect(failed).toMatchObject({ jobType: "update-trainee", errorClass: "awarded_record_differs" });
    expect(failed.errorMessage).toContain(api === "trs" ? "Route status" : "QTS/EYTS date");
    expect(failed.errorMessage).not.toContain("Augusta");
    expect(errorClass("awarded_record_differs").remediation).toMatch(/Check the record at TRS/);
  });
});
