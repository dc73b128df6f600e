/**
 * The rest of the workbench: pending TRNs (check now, re-submit, extend, for the selected
 * trainees), pending awards with what holds each back, finding a trainee, checking the record at
 * TRS beside ours, and the audit log, which Bull Board's own actions reach too (its retries going
 * through trs-sync's order-aware retry).
 */
import { load } from "cheerio";
import nock from "nock";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/context.js";
import { traineeDoc } from "../support/documents.js";
import { movePendingTasks } from "../support/tasks.js";
import { accounts, createTrainee, dashboardWorld, signedIn, type DashboardWorld, type Session } from "./helpers.js";

let t: DashboardWorld;
let support: Session;
let viewer: Session;

beforeAll(async () => {
  t = await dashboardWorld();
  support = await signedIn(t.url, accounts.support);
  viewer = await signedIn(t.url, accounts.viewer);
});
afterAll(async () => {
  await t.close();
});
afterEach(() => {
  nock.cleanAll();
});

const prisma = () => t.world.deps.prisma;
const flash = async (session: Session, location: string) => load((await session.get(location)).body)(".govuk-notification-banner").text();

describe("pending TRNs", () => {
  it("lists the trainees waiting for a TRN, the longest waiting first, with their request", async () => {
    const first = await createTrainee(t.api, { lastName: "Earliest" });
    const second = await createTrainee(t.api, { lastName: "Later" });
    await createTrainee(t.api, { state: "trn_received", trn: "2200001" });
    const $ = load((await viewer.get("/admin/pending-trns")).body);
    const slugs = $("#pending-trns tbody tr")
      .map((_, row) => $(row).attr("data-slug"))
      .get();
    expect(slugs.indexOf(first)).toBeLessThan(slugs.indexOf(second));
    expect(slugs).not.toContain(undefined);
    const request = await prisma().trnRequest.findFirstOrThrow({ where: { trainee: { slug: first } } });
    expect($(`tr[data-slug="${first}"]`).text()).toContain(request.requestId);
    expect($("#pending-trns input[type=checkbox]").length).toBe(0); // viewers get no actions
  });

  it("extends the deadline, re-submits and checks now for the selected trainees, each audited", async () => {
    const a = await createTrainee(t.api);
    const b = await createTrainee(t.api);
    const csrf = await support.csrf();
    const extended = await support.request("POST", "/admin/pending-trns/extend", {
      form: { _csrf: csrf, slug: [a, b], days: "7" },
    });
    expect(extended.status).toBe(303);
    expect(await flash(support, extended.headers.location as string)).toMatch(/Deadline extended by 7 days for 2 trainees/);
    for (const slug of [a, b]) {
      const request = await prisma().trnRequest.findFirstOrThrow({ where: { trainee: { slug } } });
      expect(request.deadlineAt.getTime() - Date.now()).toBeGreaterThan(7 * 86_400_000 - 60_000);
    }
    const bad = await support.post("/admin/pending-trns/extend", { _csrf: csrf, slug: a, days: "100" });
    expect(await flash(support, bad.headers.location as string)).toMatch(/from 1 to 30/);

    const resubmitted = await support.post("/admin/pending-trns/resubmit", { _csrf: csrf, only: a });
    expect(await flash(support, resubmitted.headers.location as string)).toMatch(/Re-submitted for TRN for 1 trainee/);
    expect((await prisma().trnRequest.findMany({ where: { trainee: { slug: a } } })).map((r) => r.state).sort()).toEqual([
      "requested",
      "superseded",
    ]);

    const audit = await prisma().auditEntry.findMany({
      where: { actor: accounts.support.name, action: { in: ["extend-trn-deadline", "resubmit-for-trn"] } },
    });
    expect(audit.map((e) => [e.action, e.result.split(":")[0]])).toEqual([
      ["extend-trn-deadline", "ok"],
      ["extend-trn-deadline", "refused"],
      ["resubmit-for-trn", "ok"],
    ]);
    expect(audit[0]!.targets).toEqual([`trainee:${a}`, `trainee:${b}`]);
  });

  it("checks a pending request now", async () => {
    const slug = await createTrainee(t.api);
    const request = await prisma().trnRequest.findFirstOrThrow({ where: { trainee: { slug } } });
    await prisma().trnRequest.update({
      where: { id: request.id },
      data: { state: "pending", nextPollAt: new Date(Date.now() + 3_600_000) },
    });
    const answer = await support.post("/admin/pending-trns/check-now", { _csrf: await support.csrf(), only: slug });
    expect(await flash(support, answer.headers.location as string)).toMatch(/Checking with TRS now for 1 trainee/);
    const after = await prisma().trnRequest.findUniqueOrThrow({ where: { id: request.id } });
    expect(after.nextPollAt!.getTime()).toBeLessThan(Date.now() + 1000);
    const poll = await prisma().syncTask.findFirstOrThrow({ where: { trnRequestId: request.id, kind: "poll_trn" } });
    expect(poll.availableAt.getTime()).toBeLessThan(Date.now() + 1000);
  });
});

describe("pending awards", () => {
  it("lists recommended trainees, the longest waiting first, with what holds each back", async () => {
    const failedUpdate = await createTrainee(t.api, { state: "trn_received", trn: "2200002" });
    await t.api.put(
      failedUpdate,
      traineeDoc({ slug: failedUpdate, state: "recommended_for_award", trn: "2200002", outcomeDate: "2026-07-01" }),
    );
    await movePendingTasks(prisma(), { trainee: { slug: failedUpdate }, kind: "update_trainee" }, "failed", {
      errorClass: "validation_failed",
    });
    const waiting = await createTrainee(t.api, { state: "trn_received", trn: "2200003" });
    await t.api.put(waiting, traineeDoc({ slug: waiting, state: "recommended_for_award", trn: "2200003", outcomeDate: "2026-07-01" }));

    const $ = load((await viewer.get("/admin/pending-awards")).body);
    const rows = $("#pending-awards tbody tr");
    expect(rows.map((_, row) => $(row).attr("data-slug")).get()).toEqual([failedUpdate, waiting]);
    expect($(`tr[data-slug="${failedUpdate}"]`).text()).toMatch(/update-trainee #\d+, before the award failed: The API refused the data/);
    expect($(`tr[data-slug="${failedUpdate}"]`).text()).toContain("when support retries it");
    expect($(`tr[data-slug="${waiting}"]`).text()).toMatch(/update-trainee #\d+, before the award is queued/);
  });
});

describe("finding a trainee", () => {
  it("goes straight to the one trainee a slug, TRN or name finds, and lists several", async () => {
    const slug = await createTrainee(t.api, { state: "trn_received", trn: "2200004", lastName: "Quennell" });
    await createTrainee(t.api, { lastName: "Quentin" });
    const byTrn = await viewer.get("/admin/search?q=2200004");
    expect(byTrn.status).toBe(303);
    expect(byTrn.headers.location).toBe(`/admin/trainees/${slug}`);
    expect((await viewer.get("/admin/search?q=quennell")).headers.location).toBe(`/admin/trainees/${slug}`);
    const several = load((await viewer.get("/admin/search?q=Quen")).body);
    expect(several("#results tbody tr")).toHaveLength(2);
    expect(load((await viewer.get("/admin/search?q=nobody-at-all")).body)("#summary").text()).toMatch(/No trainee matches/);
    // the box is on every page
    expect(load((await viewer.get("/admin/pending-awards")).body)("form[action='/admin/search'] input[name=q]").length).toBe(1);
  });
});

describe("checking the record at TRS", () => {
  it("shows TRS's record beside ours, the differences marked, and records who looked", async () => {
    const slug = await createTrainee(t.api, { state: "trn_received", trn: "2200005", lastName: "Rowe", email: null });
    nock("http://trs.test")
      .get("/v3/persons/2200005")
      .query({ include: "RoutesToProfessionalStatuses" })
      .reply(200, {
        trn: "2200005",
        firstName: "Ada",
        middleName: "",
        lastName: "Roe",
        dateOfBirth: "1990-12-10",
        emailAddress: "held@example.com",
        nationalInsuranceNumber: "QQ123456C",
        routesToProfessionalStatuses: [
          {
            routeToProfessionalStatusType: { routeToProfessionalStatusTypeId: "97497716-5ac5-49aa-a444-27fa3e2c152a" },
            status: "InTraining",
            trainingStartDate: "2026-09-01",
            trainingEndDate: "2027-07-31",
            trainingSubjects: [{ reference: "100425" }],
            trainingAgeSpecialism: { type: "Range", from: 11, to: 16 },
            trainingProvider: { ukprn: "10000001" },
            degreeType: null,
            trainingCountry: { reference: "GB" },
          },
        ],
      });
    const page = await viewer.get(`/admin/trainees/${slug}/check-record`);
    expect(page.status).toBe(200);
    const $ = load(page.body);
    const differing = $("tr[data-differs]")
      .map((_, row) => $(row).find("td").first().text().replace("differs", "").trim())
      .get();
    expect(differing).toEqual(["Last name", "Email", "Degree type"]);
    expect($("#differences").text()).toMatch(/3 differences/);
    const audit = await prisma().auditEntry.findFirstOrThrow({ where: { action: "check-record" } });
    expect(audit).toMatchObject({ actor: accounts.viewer.name, targets: [`trainee:${slug}`], result: "ok: 3 differences" });
  });

  it("says why when TRS cannot answer", async () => {
    const slug = await createTrainee(t.api, { state: "trn_received", trn: "2200006" });
    nock("http://trs.test")
      .get("/v3/persons/2200006")
      .query(true)
      .reply(404, { title: "Person not found.", status: 404, errorCode: 10001 });
    const $ = load((await viewer.get(`/admin/trainees/${slug}/check-record`)).body);
    expect($("#problem").text()).toMatch(/Teacher record not found \(HTTP 404, error code 10001\)/);
  });
});

describe("Bull Board's actions", () => {
  it("retrying a failed award in Bull Board retries its failed update first, and is in the audit log", async () => {
    const slug = await createTrainee(t.api, { state: "trn_received", trn: "2200007" });
    await t.api.put(slug, traineeDoc({ slug, state: "recommended_for_award", trn: "2200007", outcomeDate: "2026-07-01" }));
    await movePendingTasks(prisma(), { trainee: { slug } }, "failed", { errorClass: "api_unavailable" });
    const [update, award] = await prisma().syncTask.findMany({ where: { trainee: { slug } }, orderBy: { id: "asc" } });
    const xsrf = support.cookies.get("XSRF-TOKEN")!;
    const answer = await support.request("PUT", `/admin/queues/api/queues/teacher-records/award-trainee-${award!.id}/retry`, {
      headers: { "x-xsrf-token": decodeURIComponent(xsrf), accept: "application/json" },
    });
    expect(answer.status).toBe(200);
    expect((await prisma().syncTask.findMany({ where: { id: { in: [update!.id, award!.id] } } })).map((task) => task.state)).toEqual([
      "pending",
      "pending",
    ]);
    const entries = await prisma().auditEntry.findMany({ where: { action: "bull-board:retry-job" }, orderBy: { id: "asc" } });
    expect(entries.map((e) => e.result)).toEqual([
      "requested",
      `ok: retried in order update_trainee #${update!.id}, then award_trainee #${award!.id}`,
    ]);
  });

  it("records every other change made in Bull Board", async () => {
    const xsrf = decodeURIComponent(support.cookies.get("XSRF-TOKEN")!);
    const paused = await support.request("PUT", "/admin/queues/api/queues/alerts/pause", {
      headers: { "x-xsrf-token": xsrf, accept: "application/json" },
    });
    expect(paused.status).toBeLessThan(300);
    await support.request("PUT", "/admin/queues/api/queues/alerts/resume", {
      headers: { "x-xsrf-token": xsrf, accept: "application/json" },
    });
    const page = load((await viewer.get("/admin/audit?action=bull-board:pause-queue")).body);
    const routes = page("#audit tbody tr").text();
    expect(routes).toContain(accounts.support.name);
    // the result of a request passed to the board is recorded once it is answered
    const entries = await eventually(
      async () => {
        const found = await prisma().auditEntry.findMany({
          where: { action: { in: ["bull-board:pause-queue", "bull-board:resume-queue"] } },
          orderBy: { id: "asc" },
        });
        return found.length >= 4 && found;
      },
      { what: "the results of pause and resume in the audit log" },
    );
    expect(entries.map((e) => [e.action, (e.details as { route: string }).route, e.result])).toEqual([
      ["bull-board:pause-queue", "PUT /api/queues/alerts/pause", "requested"],
      ["bull-board:pause-queue", "PUT /api/queues/alerts/pause", "ok: HTTP 200"],
      ["bull-board:resume-queue", "PUT /api/queues/alerts/resume", "requested"],
      ["bull-board:resume-queue", "PUT /api/queues/alerts/resume", "ok: HTTP 200"],
    ]);
  });
});

describe("the audit log", () => {
  it("lists every action, newest first, filterable by person and action", async () => {
    const all = load((await viewer.get("/admin/audit")).body);
    const actions = all("#audit tbody tr")
      .map((_, row) => all(row).attr("data-action"))
      .get();
    expect(actions).toEqual(
      expect.arrayContaining(["sign-in", "extend-trn-deadline", "resubmit-for-trn", "check-record", "bull-board:retry-job"]),
    );
    const bySam = load((await viewer.get(`/admin/audit?actor=${accounts.support.name}&action=sign-in`)).body);
    expect(bySam("#audit tbody tr").length).toBeGreaterThan(0);
    expect(bySam("#audit tbody tr").text()).not.toContain(accounts.viewer.name);
    await expect(prisma().auditEntry.deleteMany({})).rejects.toThrow(/append-only/);
  });
});
