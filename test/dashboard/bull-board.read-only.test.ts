import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accounts, dashboardWorld, signedIn, type DashboardWorld } from "./helpers.js";

let t: DashboardWorld;

beforeAll(async () => {
  t = await dashboardWorld();
});
afterAll(async () => {
  await t.close();
});

const json = { accept: "application/json" };
const api = "/admin/queues/api/queues";

interface BoardQueues {
  queues: { name: string; readOnlyMode: boolean }[];
}

describe("Bull Board for viewers", () => {
  it("renders the board, with both queues read-only", async () => {
    const viewer = await signedIn(t.url, accounts.viewer);
    const page = await viewer.get("/admin/queues");
    expect(page.status).toBe(200);
    expect(page.body).toContain("<title>trs-sync</title>");
    const answer = await viewer.get(api, json);
    expect(answer.status).toBe(200);
    const { queues } = JSON.parse(answer.body) as BoardQueues;
    expect(queues.map((q) => [q.name, q.readOnlyMode]).sort()).toEqual([
      ["alerts", true],
      ["teacher-records", true],
    ]);
  });

  it("refuses every write request with 403, even with the CSRF header", async () => {
    const viewer = await signedIn(t.url, accounts.viewer);
    const headers = { ...json, "x-xsrf-token": await viewer.csrf() };
    const pause = await viewer.request("PUT", `${api}/teacher-records/pause`, { headers });
    expect(pause.status).toBe(403);
    expect(await t.world.queues.teacherRecords.isPaused()).toBe(false);
    const add = await viewer.request("POST", `${api}/alerts/add`, { headers, json: { name: "slack-alert", data: {} } });
    expect(add.status).toBe(403);
    expect(await t.world.queues.alerts.count()).toBe(0);
    expect((await viewer.request("PUT", `${api}/teacher-records/retry/failed`, { headers })).status).toBe(403);
  });
});

describe("Bull Board for support", () => {
  it("has working actions, which need the X-XSRF-TOKEN header that Bull Board's client copies from the XSRF-TOKEN cookie", async () => {
    const support = await signedIn(t.url, accounts.support);
    const { queues } = JSON.parse((await support.get(api, json)).body) as BoardQueues;
    expect(queues.every((q) => !q.readOnlyMode)).toBe(true);

    expect((await support.request("PUT", `${api}/teacher-records/pause`, { headers: json })).status).toBe(403);
    expect(await t.world.queues.teacherRecords.isPaused()).toBe(false);

    const xsrf = decodeURIComponent(support.cookies.get("XSRF-TOKEN") ?? "");
    expect(xsrf).toBe(await support.csrf());
    const pause = await support.request("PUT", `${api}/teacher-records/pause`, { headers: { ...json, "x-xsrf-token": xsrf } });
    expect(pause.status).toBeLessThan(300);
    expect(await t.world.queues.teacherRecords.isPaused()).toBe(true);
    await t.world.queues.teacherRecords.resume();
  });
});
