import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { load } from "cheerio";
import { errorClass } from "../../src/jobs/classify.js";
import { formatTime } from "../../src/dashboard/render.js";
import { accounts, createTrainee, dashboardWorld, failFirstTask, signedIn, type DashboardWorld } from "./helpers.js";

let t: DashboardWorld;

beforeAll(async () => {
  t = await dashboardWorld();
});
afterAll(async () => {
  await t.close();
});

/** The number in the counts table's cell for that job type and state. */
function cell(body: string, kind: string, state: string): number {
  const text = load(body)(`#counts tr[data-kind="${kind}"] td[data-state="${state}"]`).text().trim();
  if (text === "") throw new Error(`no cell ${kind}/${state}`);
  return Number(text);
}

describe("the overview", () => {
  it("counts jobs by type and state, failed jobs by error class, and links the latest failures", async () => {
    const viewer = await signedIn(t.url, accounts.viewer);
    const empty = await viewer.get("/admin");
    expect(cell(empty.body, "register_for_trn", "total")).toBe(0);
    expect(empty.body).toContain("No failed jobs.");
    expect(empty.body).toContain('href="/admin/queues"');

    const slugs = await Promise.all([1, 2, 3, 4].map(() => createTrainee(t.api)));
    await createTrainee(t.api, { state: "trn_received", trn: "7654321" });
    await failFirstTask(t.world, slugs[0]!, "api_unavailable");
    await failFirstTask(t.world, slugs[1]!, "api_unavailable");
    await failFirstTask(t.world, slugs[2]!, "unauthorized");

    const page = await viewer.get("/admin");
    expect(page.status).toBe(200);
    expect(cell(page.body, "register_for_trn", "pending")).toBe(1);
    expect(cell(page.body, "register_for_trn", "failed")).toBe(3);
    expect(cell(page.body, "register_for_trn", "total")).toBe(4);
    expect(cell(page.body, "update_trainee", "pending")).toBe(1);
    expect(cell(page.body, "award_trainee", "total")).toBe(0);

    const $ = load(page.body);
    const classRow = (name: string) =>
      $(`#failed-by-class tr[data-class="${name}"] td`)
        .map((_, td) => $(td).text().trim())
        .get();
    expect(classRow("api_unavailable")).toEqual(["api_unavailable", errorClass("api_unavailable").title, "2"]);
    expect(classRow("unauthorized")).toEqual(["unauthorized", errorClass("unauthorized").title, "1"]);
    expect($("#failed-by-class").text().indexOf("api_unavailable")).toBeLessThan($("#failed-by-class").text().indexOf("unauthorized"));
    expect($('#failed-by-class a[href="/admin/dead-jobs?errorClass=api_unavailable"]').length).toBe(1);

    const recent = $("#recent-failures");
    for (const slug of slugs.slice(0, 3)) expect(recent.find(`a[href="/admin/trainees/${slug}"]`).text()).toBe(slug);
    expect(recent.text()).not.toContain(slugs[3]!);
  });
});

describe("the circuit breaker on the overview", () => {
  it("says when sending to TRS is paused, since when and why, and nothing once the circuit closed", async () => {
    const viewer = await signedIn(t.url, accounts.viewer);
    expect(load((await viewer.get("/admin")).body)("#circuit").length).toBe(0);

    const verdict = await t.world.deps.circuit.recordFailure({
      jobKey: "job-1",
      errorClass: "unauthorized",
      detail: "PUT /v3/persons/{trn} → 401",
    });
    if (!verdict.open) throw new Error("the circuit did not open");
    const $ = load((await viewer.get("/admin")).body);
    expect($("#circuit").attr("data-state")).toBe("open");
    const text = $("#circuit").text().replace(/\s+/g, " ");
    expect(text).toContain("Sending to TRS is paused");
    expect(text).toContain(errorClass("unauthorized").title.toLowerCase());
    expect(text).toContain("PUT /v3/persons/{trn} → 401");
    expect(text).toMatch(/every 30 seconds/);
    expect($("#circuit .app-nowrap").text().trim()).toBe(formatTime(verdict.since));

    expect(await t.world.deps.circuit.close(verdict.since)).toBe(true);
    expect(load((await viewer.get("/admin")).body)("#circuit").length).toBe(0);
  });
});
