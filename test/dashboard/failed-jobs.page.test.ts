/**
 * /admin/dead-jobs: counts that filter, combinable filters kept in the URL, sorting, keyset pages,
 * the CSV of the same filter, and the bulk actions (retry in order, cancel with a reason), each
 * planned on a confirmation page first and recorded in the audit log.
 */
import { load } from "cheerio";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { csvColumns } from "../../src/dashboard/failed-jobs-csv.js";
import { accounts, createTrainee, dashboardWorld, signedIn, type DashboardWorld, type Session } from "./helpers.js";
import { movePendingTasks } from "../support/tasks.js";
import { traineeDoc } from "../support/documents.js";

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

const prisma = () => t.world.deps.prisma;

/** Fails every pending task of the trainee with that class. */
async function fail(slug: string, errorClass: string, extra: { httpStatus?: number; errorMessage?: string } = {}) {
  await movePendingTasks(prisma(), { trainee: { slug } }, "failed", {
    errorClass,
    httpStatus: extra.httpStatus ?? 400,
    errorMessage: extra.errorMessage ?? "refused",
    attempts: 3,
  });
}

/** The plan token a confirmation page's button carries. */
const tokenOf = ($: ReturnType<typeof load>) => $('input[name="token"]').attr("value") ?? "";

const rowsOf = (body: string) =>
  load(body)("#failed-jobs tbody tr")
    .map((_, row) => load(row)("td a").first().text())
    .get();

describe("the failed jobs page", () => {
  let ids: { a: string; b: string; c: string; d: string };

  beforeAll(async () => {
    const a = await createTrainee(t.api, { lastName: "Ashworth" });
    const b = await createTrainee(t.api, { lastName: "Bramley" });
    const c = await createTrainee(t.api, { state: "trn_received", trn: "1100001", lastName: "Cole" });
    const d = await createTrainee(t.api, { state: "trn_received", trn: "1100002", firstNames: '=HYPERLINK("x")' });
    await fail(a, "api_unavailable", { httpStatus: 500 });
    await fail(b, "validation_failed");
    await fail(c, "validation_failed", { errorMessage: "+SUM(1,2)" });
    await fail(d, "invalid_subject");
    ids = { a, b, c, d };
  });

  it("counts failed jobs by job type and error class, each count a link that filters", async () => {
    const page = await viewer.get("/admin/dead-jobs");
    expect(page.status).toBe(200);
    const $ = load(page.body);
    expect($("#summary").text()).toMatch(/4 failed jobs for 4 trainees/);
    expect($("#by-job-type").text()).toMatch(/register-for-trn: 2[\s\S]*update-trainee: 2/);
    expect($('#by-error-class a[href="/admin/dead-jobs?errorClass=validation_failed"]').length).toBe(1);
    expect($("#by-error-class").text()).toMatch(/validation_failed[\s\S]*The API refused the data: 2/);
  });

  it("filters by job type, error class and a slug, TRN or name, combined and kept in the URL", async () => {
    expect(rowsOf((await viewer.get("/admin/dead-jobs?errorClass=validation_failed")).body).sort()).toEqual([ids.b, ids.c].sort());
    expect(rowsOf((await viewer.get("/admin/dead-jobs?errorClass=validation_failed&jobType=update-trainee")).body)).toEqual([ids.c]);
    expect(rowsOf((await viewer.get("/admin/dead-jobs?q=1100001")).body)).toEqual([ids.c]);
    expect(rowsOf((await viewer.get("/admin/dead-jobs?q=bramley")).body)).toEqual([ids.b]);
    expect(rowsOf((await viewer.get(`/admin/dead-jobs?q=${ids.a}`)).body)).toEqual([ids.a]);
    const filtered = load((await viewer.get("/admin/dead-jobs?errorClass=validation_failed&jobType=update-trainee")).body);
    expect(filtered("#download-csv").attr("href")).toBe("/admin/dead-jobs.csv?jobType=update-trainee&errorClass=validation_failed");
    expect(filtered("#jobType option[selected]").attr("value")).toBe("update-trainee");
    // unknown values are ignored, not an error
    expect((await viewer.get("/admin/dead-jobs?jobType=nonsense&errorClass=%3Cb%3E")).status).toBe(200);
  });

  it("sorts and pages by keyset: every failed job once, in order, across pages", async () => {
    const extra = await Promise.all(
      Array.from({ length: 57 }, (_, i) => createTrainee(t.api, { lastName: `Paged${String(i).padStart(2, "0")}` })),
    );
    for (const slug of extra) await fail(slug, "forbidden");
    const seen: string[] = [];
    let path: string | undefined = "/admin/dead-jobs?errorClass=forbidden&sort=slug&dir=asc";
    while (path) {
      const $ = load((await viewer.get(path)).body);
      seen.push(...rowsOf($.html()));
      path = $("#next-page").attr("href");
    }
    expect(seen).toEqual([...extra].sort());
    const newest = rowsOf((await viewer.get("/admin/dead-jobs?errorClass=forbidden")).body);
    expect(newest).toHaveLength(50);
    expect(newest[0]).toBe(extra[extra.length - 1]);
  });

  it("shows the class title, its remediation, HTTP status, attempts and days waiting, and no actions to viewers", async () => {
    const $ = load((await viewer.get(`/admin/dead-jobs?q=${ids.a}`)).body);
    const row = $("#failed-jobs tbody tr").first();
    expect(row.text()).toContain("api_unavailable");
    expect(row.text()).toContain("The API had a server error");
    expect(row.find("details").text()).toContain("you can usually just re-run the job");
    expect(row.text()).toMatch(/500/);
    expect($("#failed-jobs input[type=checkbox]").length).toBe(0);
    expect($("#retry-all").length).toBe(0);
    expect((await viewer.post("/admin/dead-jobs/retry", { _csrf: await viewer.csrf(), all: "1" })).status).toBe(403);
  });
});

describe("the CSV export", () => {
  it("streams the filter's rows in the contract's columns, neutralising formulas, with a telling file name", async () => {
    const answer = await viewer.get("/admin/dead-jobs.csv?errorClass=validation_failed&jobType=update-trainee");
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toMatch(/^text\/csv/);
    expect(answer.headers["content-disposition"]).toMatch(
      /^attachment; filename="failed-jobs-update-trainee-validation_failed-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    const lines = answer.body.trim().split("\n");
    expect(lines[0]).toBe(csvColumns.join(","));
    expect(lines).toHaveLength(2);
    const all = (await viewer.get("/admin/dead-jobs.csv?errorClass=invalid_subject")).body;
    // a name and a message a spreadsheet would run are made inert
    expect(all).toContain(`"'=HYPERLINK(""x"")`);
    expect(answer.body).toContain("'+SUM(1,2)");
    expect(answer.body).toMatch(/update-trainee-\d+,update-trainee,http:\/\/trs-sync\.test\/admin\/trainees\//);
  });
});

describe("bulk actions", () => {
  it("retry a selected award only after its failed update, as the plan says, resetting attempts", async () => {
    const slug = await createTrainee(t.api, { state: "trn_received", trn: "1100003" });
    await t.api.put(slug, traineeDoc({ slug, state: "recommended_for_award", trn: "1100003", outcomeDate: "2026-07-01" }));
    await fail(slug, "api_unavailable", { httpStatus: 503 });
    const [update, award] = await prisma().syncTask.findMany({ where: { trainee: { slug } }, orderBy: { id: "asc" } });
    expect([update!.kind, award!.kind, update!.state, award!.state]).toEqual(["update_trainee", "award_trainee", "failed", "failed"]);

    const csrf = await support.csrf();
    const plan = load((await support.post("/admin/dead-jobs/retry", { _csrf: csrf, task: String(award!.id) })).body);
    expect(plan("#plan-summary").text()).toMatch(/retry 2 jobs for 1 trainee/);
    expect(plan("#plan tbody tr").text()).toContain(`update-trainee #${update!.id}, then award-trainee #${award!.id}`);
    expect((await prisma().syncTask.findUniqueOrThrow({ where: { id: award!.id } })).state).toBe("failed"); // nothing happened yet

    const done = await support.post("/admin/dead-jobs/retry/confirm", { _csrf: csrf, token: tokenOf(plan) });
    expect(done.status).toBe(303);
    const after = await prisma().syncTask.findMany({ where: { id: { in: [update!.id, award!.id] } }, orderBy: { id: "asc" } });
    expect(after.map((task) => [task.state, task.attempts])).toEqual([
      ["pending", 0],
      ["pending", 0],
    ]);
    const page = load((await support.get(done.headers.location as string)).body);
    expect(page(".govuk-notification-banner").text()).toMatch(/Retried 2 jobs for 1 trainee/);
    // one record for the one batch, with its jobs and trainee
    const audit = await prisma().auditEntry.findMany({ where: { action: "retry-failed-jobs" } });
    expect(audit).toEqual([
      expect.objectContaining({
        actor: accounts.support.name,
        targets: [`task:${update!.id}`, `task:${award!.id}`, `trainee:${slug}`],
        result: "ok: retried 2 jobs for 1 trainee (batch 1 of 1)",
      }),
    ]);
  });

  it("retry every job matching the filter, in batches", async () => {
    const before = await prisma().syncTask.count({ where: { state: "failed", errorClass: "forbidden" } });
    expect(before).toBeGreaterThan(50);
    const csrf = await support.csrf();
    const plan = load((await support.post("/admin/dead-jobs/retry", { _csrf: csrf, all: "1", errorClass: "forbidden" })).body);
    expect(plan("#plan-summary").text()).toContain(`retry ${before} jobs for ${before} trainees`);
    await support.post("/admin/dead-jobs/retry/confirm", { _csrf: csrf, token: tokenOf(plan), errorClass: "forbidden" });
    expect(await prisma().syncTask.count({ where: { state: "failed", errorClass: "forbidden" } })).toBe(0);
    expect(await prisma().syncTask.count({ where: { state: "failed" } })).toBeGreaterThan(0); // the others stay
  });

  it("cancel needs a reason, names what runs next, and leaves the reason on the timeline", async () => {
    const slug = await createTrainee(t.api, { state: "trn_received", trn: "1100004" });
    await fail(slug, "validation_failed");
    await t.api.put(slug, traineeDoc({ slug, state: "withdrawn", trn: "1100004", withdrawDate: "2026-10-01" }));
    const [update, withdraw] = await prisma().syncTask.findMany({ where: { trainee: { slug } }, orderBy: { id: "asc" } });
    const csrf = await support.csrf();
    const plan = load((await support.post("/admin/dead-jobs/cancel", { _csrf: csrf, task: String(update!.id) })).body);
    expect(plan("#plan tbody tr").text()).toContain(`withdraw-trainee #${withdraw!.id}`);
    const refused = await support.post("/admin/dead-jobs/cancel/confirm", { _csrf: csrf, token: tokenOf(plan), reason: " " });
    expect(load((await support.get(refused.headers.location as string)).body)(".govuk-notification-banner").text()).toMatch(/Say why/);
    expect((await prisma().syncTask.findUniqueOrThrow({ where: { id: update!.id } })).state).toBe("failed");

    await support.post("/admin/dead-jobs/cancel/confirm", { _csrf: csrf, token: tokenOf(plan), reason: "sent by hand" });
    expect((await prisma().syncTask.findUniqueOrThrow({ where: { id: update!.id } })).state).toBe("cancelled");
    const event = await prisma().syncEvent.findFirstOrThrow({ where: { taskId: update!.id, kind: "update_trainee_cancelled" } });
    expect(event.message).toBe(`${accounts.support.name} cancelled update_trainee #${update!.id} (validation_failed): sent by hand`);
    expect(await prisma().auditEntry.count({ where: { action: "cancel-failed-jobs", result: { startsWith: "refused" } } })).toBe(1);
  });
});
