import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorClass } from "../../src/jobs/classify.js";
import { load } from "cheerio";
import { accounts, createTrainee, dashboardWorld, failFirstTask, signedIn, type DashboardWorld, type Session } from "./helpers.js";

let t: DashboardWorld;
let viewer: Session;
let support: Session;

beforeAll(async () => {
  t = await dashboardWorld();
  viewer = await signedIn(t.url, accounts.viewer);
  support = await signedIn(t.url, accounts.support);
});
afterAll(async () => {
  await t.close();
});

const taskState = async (id: bigint) => (await t.world.deps.prisma.syncTask.findUniqueOrThrow({ where: { id } })).state;
const eventKinds = async (slug: string) =>
  (await t.world.deps.prisma.syncEvent.findMany({ where: { trainee: { slug } }, orderBy: { id: "asc" } })).map((e) => e.kind);

describe("the trainee page", () => {
  it("shows details, TRN request, jobs and the timeline, with every value escaped", async () => {
    const slug = await createTrainee(t.api, { lastName: "<script>alert(1)</script>", firstNames: "Zoë & Jo" });
    const page = await viewer.get(`/admin/trainees/${slug}`);
    expect(page.status).toBe(200);
    expect(page.headers["content-security-policy"]).toContain("script-src 'self'");
    expect(page.body).not.toContain("<script>alert(1)");
    expect(page.body).toContain("Zoë &amp; Jo &lt;script&gt;alert(1)&lt;/script&gt;");
    const $ = load(page.body);
    expect($("script").length).toBe(0);
    expect($("#details").text()).toContain("1990-12-10");
    expect($("#trn-requests").text()).toContain("requested");
    expect($("#tasks").text()).toMatch(/register-for-trn[\s\S]*pending/);
    expect($("#timeline").text()).toContain("trainee created");
  });

  it("answers 404 for an unknown slug", async () => {
    expect((await viewer.get("/admin/trainees/no-such-trainee")).status).toBe(404);
    expect((await viewer.get("/admin/trainees/bad%20slug")).status).toBe(404);
  });

  it("shows a failed job's error class and remediation; the Retry button only to support staff", async () => {
    const slug = await createTrainee(t.api);
    const task = await failFirstTask(t.world, slug, "api_unavailable");
    const info = errorClass("api_unavailable");
    const forSupport = await support.get(`/admin/trainees/${slug}`);
    const $ = load(forSupport.body);
    expect($("#tasks").text()).toContain(info.title);
    expect($("#tasks").text()).toContain(info.remediation);
    expect($(`form[action="/admin/trainees/${slug}/tasks/${task.id}/retry"]`).length).toBe(1);
    expect($(`form[action="/admin/trainees/${slug}/tasks/${task.id}/cancel"] input[name=reason]`).length).toBe(1);
    const forViewer = load((await viewer.get(`/admin/trainees/${slug}`)).body);
    expect(forViewer("#tasks").text()).toContain(info.remediation);
    expect(forViewer("form[action*=retry]").length).toBe(0);
  });
});

describe("retrying a failed job", () => {
  it("is refused to viewers (403), even with a valid CSRF token", async () => {
    const slug = await createTrainee(t.api);
    const task = await failFirstTask(t.world, slug);
    const answer = await viewer.post(`/admin/trainees/${slug}/tasks/${task.id}/retry`, { _csrf: await viewer.csrf() });
    expect(answer.status).toBe(403);
    expect(answer.body).toContain("not change anything");
    expect(await taskState(task.id)).toBe("failed");
  });

  it("is refused without the session's CSRF token (403)", async () => {
    const slug = await createTrainee(t.api);
    const task = await failFirstTask(t.world, slug);
    const path = `/admin/trainees/${slug}/tasks/${task.id}/retry`;
    expect((await support.post(path)).status).toBe(403);
    expect((await support.post(path, { _csrf: await viewer.csrf() })).status).toBe(403);
    expect(await taskState(task.id)).toBe("failed");
    expect(await eventKinds(slug)).not.toContain("retry_requested");
  });

  it("sets the job back to pending, records who asked on the timeline and says so once", async () => {
    const slug = await createTrainee(t.api);
    const task = await failFirstTask(t.world, slug);
    const answer = await support.post(`/admin/trainees/${slug}/tasks/${task.id}/retry`, { _csrf: await support.csrf() });
    expect(answer.status).toBe(303);
    expect(answer.headers.location).toBe(`/admin/trainees/${slug}`);
    expect(await taskState(task.id)).toBe("pending");
    const event = await t.world.deps.prisma.syncEvent.findFirstOrThrow({ where: { trainee: { slug }, kind: "retry_requested" } });
    expect(event.message).toContain(accounts.support.name);
    expect(event.taskId).toBe(task.id);

    const page = await support.get(`/admin/trainees/${slug}`);
    expect(load(page.body)(".govuk-notification-banner").text()).toContain(`Retry requested: register-for-trn #${task.id} will run again.`);
    expect(load(page.body)("#timeline").text()).toContain("retry requested");
    expect((await support.get(`/admin/trainees/${slug}`)).body).not.toContain("Retry requested:");
  });

  it("refuses a job of another trainee, and explains a job that is not failed", async () => {
    const slug = await createTrainee(t.api);
    const other = await createTrainee(t.api);
    const task = await failFirstTask(t.world, other);
    const csrf = await support.csrf();
    expect((await support.post(`/admin/trainees/${slug}/tasks/${task.id}/retry`, { _csrf: csrf })).status).toBe(303);
    expect((await support.get(`/admin/trainees/${slug}`)).body).toContain("There is no such job for this trainee.");
    expect(await taskState(task.id)).toBe("failed");

    const pending = await t.world.deps.prisma.syncTask.findFirstOrThrow({ where: { trainee: { slug } } });
    expect((await support.post(`/admin/trainees/${slug}/tasks/${pending.id}/retry`, { _csrf: csrf })).status).toBe(303);
    expect((await support.get(`/admin/trainees/${slug}`)).body).toContain(`task ${pending.id} is pending, not failed`);
  });
});

describe("TRN actions", () => {
  it("re-submits a trainee without a TRN: a new TRN request and a timeline event", async () => {
    const slug = await createTrainee(t.api);
    const page = await support.get(`/admin/trainees/${slug}`);
    expect(page.body).toContain("Restart TRN polling for 4 days");
    expect(page.body).toContain("Re-submit for TRN");
    expect((await viewer.get(`/admin/trainees/${slug}`)).body).not.toContain("Re-submit for TRN");

    const answer = await support.post(`/admin/trainees/${slug}/resubmit-trn`, { _csrf: await support.csrf() });
    expect(answer.status).toBe(303);
    const requests = await t.world.deps.prisma.trnRequest.findMany({ where: { trainee: { slug } }, orderBy: { createdAt: "asc" } });
    expect(requests.map((r) => r.state)).toEqual(["superseded", "requested"]);
    expect(await eventKinds(slug)).toContain("trn_resubmitted");
    expect((await support.get(`/admin/trainees/${slug}`)).body).toContain(`Re-submitted for TRN: new request ${requests[1]!.requestId}`);
  });

  it("restarts polling with a deadline 4 days ahead, and refuses both for a trainee with a TRN", async () => {
    const slug = await createTrainee(t.api);
    const csrf = await support.csrf();
    expect((await support.post(`/admin/trainees/${slug}/restart-polling`, { _csrf: csrf })).status).toBe(303);
    const request = await t.world.deps.prisma.trnRequest.findFirstOrThrow({ where: { trainee: { slug } } });
    expect(request.deadlineAt.getTime() - Date.now()).toBeGreaterThan(4 * 24 * 3600_000 - 60_000);
    expect(await eventKinds(slug)).toContain("trn_polling_restarted");

    const withTrn = await createTrainee(t.api, { state: "trn_received", trn: "1234567" });
    expect((await support.get(`/admin/trainees/${withTrn}`)).body).not.toContain("Re-submit for TRN");
    await support.post(`/admin/trainees/${withTrn}/resubmit-trn`, { _csrf: csrf });
    expect((await support.get(`/admin/trainees/${withTrn}`)).body).toContain("Only for a trainee waiting for a TRN");
    expect(await eventKinds(withTrn)).not.toContain("trn_resubmitted");
  });
});

describe("cancelling a failed job from the trainee page", () => {
  it("needs a reason, then takes the job out of the line and records it in the audit log", async () => {
    const slug = await createTrainee(t.api);
    const task = await failFirstTask(t.world, slug, "trn_request_rejected");
    const csrf = await support.csrf();
    await support.post(`/admin/trainees/${slug}/tasks/${task.id}/cancel`, { _csrf: csrf, reason: "" });
    expect(await taskState(task.id)).toBe("failed");
    await support.post(`/admin/trainees/${slug}/tasks/${task.id}/cancel`, { _csrf: csrf, reason: "the provider withdrew the application" });
    expect(await taskState(task.id)).toBe("cancelled");
    const page = load((await support.get(`/admin/trainees/${slug}`)).body);
    expect(page("#timeline").text()).toContain("the provider withdrew the application");
    const audit = await t.world.deps.prisma.auditEntry.findMany({
      where: { action: "cancel", targets: { has: `task:${task.id}` } },
      orderBy: { id: "asc" },
    });
    expect(audit.map((a) => a.result.split(":")[0])).toEqual(["refused", "ok"]);
  });
});
