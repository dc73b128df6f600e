import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accounts, dashboardWorld, Session, signedIn, type DashboardWorld } from "./helpers.js";

let t: DashboardWorld;
let clock = new Date("2026-11-20T09:00:00Z");

beforeAll(async () => {
  t = await dashboardWorld({ now: () => clock });
});
afterAll(async () => {
  await t.close();
});

const setCookies = (headers: Record<string, unknown>) => (headers["set-cookie"] as string[] | undefined) ?? [];

describe("without a session", () => {
  it("sends page requests to the sign-in page, keeping where they were going", async () => {
    const anonymous = new Session(t.url);
    const overview = await anonymous.get("/admin");
    expect(overview.status).toBe(302);
    expect(overview.headers.location).toBe("/admin/login?next=%2Fadmin");
    const trainee = await anonymous.get("/admin/trainees/t-1?tab=jobs");
    expect(trainee.headers.location).toBe(`/admin/login?next=${encodeURIComponent("/admin/trainees/t-1?tab=jobs")}`);
    const board = await anonymous.get("/admin/queues");
    expect(board.status).toBe(302);
  });

  it("answers 401 to API and form requests", async () => {
    const anonymous = new Session(t.url);
    expect((await anonymous.get("/admin/queues/api/queues", { accept: "application/json" })).status).toBe(401);
    expect(
      (await anonymous.request("PUT", "/admin/queues/api/queues/teacher-records/pause", { headers: { accept: "application/json" } }))
        .status,
    ).toBe(401);
    expect((await anonymous.post("/admin/trainees/t-1/resubmit-trn")).status).toBe(401);
  });

  it("shows the sign-in form", async () => {
    const page = await new Session(t.url).get("/admin/login?next=%2Fadmin%2Fqueues");
    expect(page.status).toBe(200);
    expect(page.body).toContain('name="password"');
    expect(page.body).toContain('name="next" value="/admin/queues"');
  });
});

describe("signing in", () => {
  it("refuses a wrong password or an unknown name alike: 401, the same message, no session", async () => {
    for (const attempt of [
      { name: accounts.support.name, password: "nope" },
      { name: "nobody", password: accounts.support.password },
      { name: accounts.viewer.name, password: accounts.support.password },
    ]) {
      const session = new Session(t.url);
      const answer = await session.login(attempt);
      expect(answer.status).toBe(401);
      expect(answer.body).toContain("Wrong name or password");
      expect(setCookies(answer.headers)).toEqual([]);
      expect((await session.get("/admin")).status).toBe(302);
    }
  });

  it("starts an 8-hour HttpOnly, SameSite=Lax session and returns to `next` within the dashboard only", async () => {
    const session = new Session(t.url);
    const answer = await session.login(accounts.viewer, "/admin/trainees/t-9");
    expect(answer.status).toBe(303);
    expect(answer.headers.location).toBe("/admin/trainees/t-9");
    const cookie = setCookies(answer.headers).find((c) => c.startsWith("trs_sync_session="));
    expect(cookie).toMatch(/; Path=\/admin; Max-Age=28800; SameSite=Lax; HttpOnly$/);
    const overview = await session.get("/admin");
    expect(overview.status).toBe(200);
    expect(overview.body).toContain("vera (viewer)");

    const elsewhere = await new Session(t.url).login(accounts.viewer, "https://evil.example/admin");
    expect(elsewhere.headers.location).toBe("/admin");
  });

  it("marks the cookie Secure behind an https proxy", async () => {
    const answer = await new Session(t.url).request("POST", "/admin/login", {
      form: { name: accounts.viewer.name, password: accounts.viewer.password },
      headers: { "x-forwarded-proto": "https" },
    });
    expect(setCookies(answer.headers).find((c) => c.startsWith("trs_sync_session="))).toContain("; Secure");
  });

  it("does not accept an edited cookie", async () => {
    const session = await signedIn(t.url, accounts.viewer);
    const [payload, signature] = session.cookies.get("trs_sync_session")!.split(".");
    const edited = JSON.parse(Buffer.from(payload!, "base64url").toString());
    edited.role = "support";
    session.cookies.set("trs_sync_session", `${Buffer.from(JSON.stringify(edited)).toString("base64url")}.${signature}`);
    expect((await session.get("/admin")).status).toBe(302);
  });

  it("ends the session after 8 hours", async () => {
    const session = await signedIn(t.url, accounts.viewer);
    const start = clock;
    try {
      clock = new Date(start.getTime() + 8 * 3600_000 - 1000);
      expect((await session.get("/admin")).status).toBe(200);
      clock = new Date(start.getTime() + 8 * 3600_000 + 1000);
      expect((await session.get("/admin")).status).toBe(302);
    } finally {
      clock = start;
    }
  });
});

describe("signing out", () => {
  it("needs the CSRF token, then clears the session", async () => {
    const session = await signedIn(t.url, accounts.support);
    expect((await session.post("/admin/logout")).status).toBe(403);
    expect((await session.get("/admin")).status).toBe(200);
    const answer = await session.post("/admin/logout", { _csrf: await session.csrf() });
    expect(answer.status).toBe(303);
    expect(answer.headers.location).toBe("/admin/login");
    expect((await session.get("/admin")).status).toBe(302);
  });
});
