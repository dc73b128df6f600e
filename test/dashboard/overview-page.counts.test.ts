import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { escapeHtml } from "../../src/dashboard/html.js";
import { errorClass } from "../../src/jobs/classify.js";
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
  const row = new RegExp(`<tr data-kind="${kind}">([\\s\\S]*?)</tr>`).exec(body)?.[1] ?? "";
  const value = new RegExp(`data-state="${state}">(\\d+)<`).exec(row)?.[1];
  if (value === undefined) throw new Error(`no cell ${kind}/${state}`);
  return Number(value);
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

    const byClass = /<table id="failed-by-class">([\s\S]*?)<\/table>/.exec(page.body)?.[1] ?? "";
    const classRow = (name: string) => new RegExp(`<tr data-error-class="${name}">([\\s\\S]*?)</tr>`).exec(byClass)?.[1] ?? "";
    expect(classRow("api_unavailable")).toContain(escapeHtml(errorClass("api_unavailable").title));
    expect(classRow("api_unavailable")).toMatch(/<td class="num">2<\/td>/);
    expect(classRow("unauthorized")).toContain(escapeHtml(errorClass("unauthorized").title));
    expect(classRow("unauthorized")).toMatch(/<td class="num">1<\/td>/);
    expect(byClass.indexOf("api_unavailable")).toBeLessThan(byClass.indexOf("unauthorized"));

    const recent = /<table id="recent-failures">([\s\S]*?)<\/table>/.exec(page.body)?.[1] ?? "";
    for (const slug of slugs.slice(0, 3)) expect(recent).toContain(`<a href="/admin/trainees/${slug}">${slug}</a>`);
    expect(recent).not.toContain(slugs[3]!);
  });
});
