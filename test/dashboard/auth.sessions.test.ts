/**
 * The dashboard's sign-in, as a security review would try it: a form token on the sign-in form,
 * throttling per account and per address shared by web processes, server-side sessions that
 * signing out ends for good, sessions ended by a changed password or role, cookies Secure in
 * production whatever the proxy says, and an address the client cannot choose.
 */
import { load } from "cheerio";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { hashPassword } from "../../src/dashboard/auth.js";
import { loadConfig } from "../../src/config.js";
import { createDeps } from "../../src/deps.js";
import { createLogger } from "../../src/logger.js";
import { createQueues } from "../../src/jobs/queues.js";
import { createApp } from "../../src/web/app.js";
import { serve } from "../support/http.js";
import { deleteRedisPrefix } from "../support/context.js";
import { accountFailures, addressFailures } from "../../src/dashboard/sign-in-throttle.js";
import { accounts, dashboardEnv, dashboardWorld, Session, signedIn, type DashboardWorld } from "./helpers.js";

let t: DashboardWorld;
let clock = new Date("2026-11-20T09:00:00Z");

beforeAll(async () => {
  t = await dashboardWorld({ now: () => clock });
});
afterAll(async () => {
  await t.close();
});

const setCookies = (headers: Record<string, unknown>) => (headers["set-cookie"] as string[] | undefined) ?? [];

/** A second web process on the same Postgres and Redis, with its own configuration. */
async function anotherWebProcess(env: Record<string, string>) {
  const config = loadConfig({ ...testEnv(), ...env });
  const deps = createDeps(config, { logger: createLogger({ level: "silent" }), now: () => clock });
  const queues = createQueues(deps.redis, config.redisPrefix);
  const server = await serve(createApp(deps, queues));
  return {
    url: server.url,
    async close() {
      await server.close();
      await queues.close();
      await deps.close();
    },
  };
}

function testEnv(): Record<string, string> {
  const config = t.world.config;
  return {
    DATABASE_URL: config.databaseUrl,
    REDIS_URL: config.redisUrl,
    REDIS_PREFIX: config.redisPrefix,
    TRS_API_BASE_URL: "http://trs.test",
    TRS_API_KEY: "k",
    LOG_LEVEL: "silent",
    DATABASE_POOL_SIZE: "4",
    WORKER_CONCURRENCY: "2",
    ...dashboardEnv(),
  };
}

describe("without a session", () => {
  it("sends page requests to the sign-in page, keeping where they were going", async () => {
    const anonymous = new Session(t.url);
    const overview = await anonymous.get("/admin");
    expect(overview.status).toBe(302);
    expect(overview.headers.location).toBe("/admin/login?next=%2Fadmin");
    const trainee = await anonymous.get("/admin/trainees/t-1?tab=jobs");
    expect(trainee.headers.location).toBe(`/admin/login?next=${encodeURIComponent("/admin/trainees/t-1?tab=jobs")}`);
    expect((await anonymous.get("/admin/queues")).status).toBe(302);
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

  it("shows the sign-in form on the GOV.UK Design System, with a form token", async () => {
    const page = await new Session(t.url).get("/admin/login?next=%2Fadmin%2Fqueues");
    expect(page.status).toBe(200);
    const $ = load(page.body);
    expect($('link[href="/admin/assets/govuk-frontend.min.css"]').length).toBe(1);
    expect($("input[name=password]").length).toBe(1);
    expect($("input[name=next]").val()).toBe("/admin/queues");
    expect($("input[name=_csrf]").val()).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect($("script").length).toBe(0);
    expect((await new Session(t.url).get("/admin/assets/govuk-frontend.min.css")).body).toContain("url(/admin/assets/fonts/");
  });
});

describe("signing in", () => {
  it("refuses a sign-in without the form's token (a forged cross-site sign-in)", async () => {
    const session = new Session(t.url);
    const answer = await session.post("/admin/login", { name: accounts.viewer.name, password: accounts.viewer.password });
    expect(answer.status).toBe(403);
    expect(setCookies(answer.headers).some((c) => c.startsWith("trs_sync_session="))).toBe(false);
    const other = new Session(t.url);
    const token = await other.signInToken(); // another browser's token does not fit this one's cookie
    expect(
      (await session.post("/admin/login", { _csrf: token, name: accounts.viewer.name, password: accounts.viewer.password })).status,
    ).toBe(403);
  });

  it("refuses a wrong password or an unknown name alike: 401, the same message, no session", async () => {
    for (const attempt of [
      { name: accounts.support.name, password: "nope" },
      { name: "nobody", password: accounts.support.password },
    ]) {
      const session = new Session(t.url);
      const answer = await session.login(attempt);
      expect(answer.status).toBe(401);
      expect(answer.body).toContain("Wrong name or password");
      expect(setCookies(answer.headers).some((c) => c.startsWith("trs_sync_session="))).toBe(false);
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
    for (const next of ["https://evil.example/admin", "//evil.example/admin", "/admin\\@evil"]) {
      expect((await new Session(t.url).login(accounts.viewer, next)).headers.location).toBe("/admin");
    }
  });

  it("does not take a made-up or edited session cookie", async () => {
    const session = await signedIn(t.url, accounts.viewer);
    const real = session.cookies.get("trs_sync_session")!;
    session.cookies.set("trs_sync_session", `${real.slice(0, -2)}xx`);
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

describe("throttling sign-ins", () => {
  // each test starts from no failures, and leaves none behind for the others
  const forget = () => deleteRedisPrefix(t.world.config.redisUrl, `${t.world.config.redisPrefix}:sign-in`);
  beforeEach(forget);
  afterEach(forget);

  it("makes an account wait after 5 failures, even with the right password, in every web process", async () => {
    const name = accounts.support.name;
    const other = await anotherWebProcess({});
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        const url = attempt % 2 ? other.url : t.url; // the failures count across processes
        expect((await new Session(url).login({ name, password: `wrong ${attempt}` })).status).toBe(401);
      }
      for (const url of [t.url, other.url]) {
        const blocked = await new Session(url).login(accounts.support);
        expect(blocked.status).toBe(429);
        expect(load(blocked.body)(".govuk-error-summary").text()).toMatch(/Too many failed sign-ins\. Wait 15 minutes, then try again\./);
      }
      // another account from the same address is not blocked by that
      expect((await new Session(t.url).login(accounts.viewer)).status).toBe(303);
    } finally {
      await other.close();
    }
  });

  it("counts the address the socket came from, not one a client claims in X-Forwarded-For (TRUST_PROXY off)", async () => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const session = new Session(t.url);
      const _csrf = await session.signInToken();
      const answer = await session.request("POST", "/admin/login", {
        form: { _csrf, name: `made-up-${attempt}`, password: "x" },
        headers: { "x-forwarded-for": `203.0.113.${attempt}` },
      });
      expect(answer.status).toBe(401);
    }
    const blocked = await new Session(t.url).login({ name: "someone-else", password: "x" });
    expect(blocked.status).toBe(429);
  });

  // 600 sign-ins in bursts of 200: given time on a busy machine (a timed-out burst would still be
  // spending the next test's attempts)
  it(
    "checks at most 5 passwords of 200 wrong ones sent at once, then refuses the right one with the wait message (3 rounds, two web processes)",
    { timeout: 120_000 },
    async () => {
      const other = await anotherWebProcess({});
      try {
        for (let round = 0; round < 3; round++) {
          await forget();
          // one form token for the burst: a browser's tab sends each guess with the same one
          const sessions = [new Session(t.url), new Session(other.url)];
          const tokens = await Promise.all(sessions.map((s) => s.signInToken()));
          const answers = await Promise.all(
            Array.from({ length: 200 }, (_, i) =>
              sessions[i % 2]!.request("POST", "/admin/login", {
                form: { _csrf: tokens[i % 2]!, name: accounts.support.name, password: `guess ${round}-${i}` },
              }),
            ),
          );
          const statuses = answers.map((a) => a.status);
          // a 401 ("Wrong name or password") is only answered after a password check; a 429 before any
          const checked = statuses.filter((s) => s === 401).length;
          expect(checked).toBeGreaterThan(0);
          expect(checked).toBeLessThanOrEqual(accountFailures);
          expect(statuses.filter((s) => s === 429)).toHaveLength(200 - checked);
          const blocked = await new Session(t.url).login(accounts.support);
          expect(blocked.status).toBe(429);
          expect(load(blocked.body)(".govuk-error-summary").text()).toMatch(/Too many failed sign-ins\. Wait 15 minutes, then try again\./);
        }
      } finally {
        await other.close();
      }
    },
  );

  it("gives a good sign-in's attempt back: failures below the limit, then a sign-in, start the count again", async () => {
    const name = accounts.support.name;
    for (let round = 0; round < 3; round++) {
      for (let attempt = 0; attempt < accountFailures - 1; attempt++) {
        expect((await new Session(t.url).login({ name, password: "wrong" })).status).toBe(401);
      }
      expect((await new Session(t.url).login(accounts.support)).status).toBe(303);
    }
    // the address's 12 failures and 3 sign-ins cost it 12 of its 20, not 15
    for (let attempt = 0; attempt < addressFailures - 12; attempt++) {
      expect((await new Session(t.url).login({ name: `nobody-${attempt}`, password: "x" })).status).toBe(401);
    }
    expect((await new Session(t.url).login({ name: "nobody-else", password: "x" })).status).toBe(429);
  });

  it("counts an IPv6 client by its /64, and an IPv4-mapped address as the IPv4 address (TRUST_PROXY loopback)", async () => {
    const proxied = await anotherWebProcess({ TRUST_PROXY: "loopback" });
    try {
      const attempt = async (address: string, name: string) => {
        const session = new Session(proxied.url);
        const _csrf = await session.signInToken();
        return (
          await session.request("POST", "/admin/login", { form: { _csrf, name, password: "x" }, headers: { "x-forwarded-for": address } })
        ).status;
      };
      for (let i = 0; i < addressFailures; i++) expect(await attempt(`2001:db8:1:2::${(i + 1).toString(16)}`, `v6-${i}`)).toBe(401);
      expect(await attempt("2001:db8:1:2:ffff:ffff:ffff:ffff", "v6-last")).toBe(429);
      expect(await attempt("2001:db8:1:3::1", "v6-neighbour")).toBe(401);
      for (let i = 0; i < addressFailures; i++) expect(await attempt(i % 2 ? "198.51.100.9" : "::ffff:198.51.100.9", `v4-${i}`)).toBe(401);
      expect(await attempt("198.51.100.9", "v4-last")).toBe(429);
      expect(await attempt("::ffff:198.51.100.9", "v4-mapped-last")).toBe(429);
    } finally {
      await proxied.close();
    }
  });
});

describe("signing out", () => {
  it("ends the session on the server: a copy of the cookie no longer works", async () => {
    const session = await signedIn(t.url, accounts.support);
    const copy = new Session(t.url);
    copy.cookies.set("trs_sync_session", session.cookies.get("trs_sync_session")!);
    expect((await copy.get("/admin")).status).toBe(200);
    expect((await session.post("/admin/logout")).status).toBe(403); // needs the CSRF token
    const answer = await session.post("/admin/logout", { _csrf: await session.csrf() });
    expect(answer.status).toBe(303);
    expect(answer.headers.location).toBe("/admin/login");
    expect((await session.get("/admin")).status).toBe(302);
    expect((await copy.get("/admin")).status).toBe(302);
    expect(await t.world.deps.prisma.auditEntry.count({ where: { actor: accounts.support.name, action: "sign-out" } })).toBeGreaterThan(0);
  });

  it("a changed password or role in DASHBOARD_USERS ends that person's sessions", async () => {
    const session = await signedIn(t.url, accounts.viewer);
    const changed = await anotherWebProcess({
      DASHBOARD_USERS: `${accounts.viewer.name}:viewer:${hashPassword("a new password")},${accounts.support.name}:viewer:${hashPassword(accounts.support.password)}`,
    });
    const support = await signedIn(t.url, accounts.support);
    try {
      const moved = new Session(changed.url);
      moved.cookies.set("trs_sync_session", session.cookies.get("trs_sync_session")!);
      expect((await moved.get("/admin")).status).toBe(302);
      const demoted = new Session(changed.url);
      demoted.cookies.set("trs_sync_session", support.cookies.get("trs_sync_session")!);
      expect((await demoted.get("/admin")).status).toBe(302);
      // unchanged where the configuration is unchanged
      expect((await session.get("/admin")).status).toBe(200);
    } finally {
      await changed.close();
    }
  });
});

describe("in production", () => {
  it("marks cookies Secure whatever the proxy headers say, and sends HSTS", async () => {
    const production = await anotherWebProcess({ NODE_ENV: "production", SESSION_SECRET: "production-secret-0123456789" });
    try {
      const session = new Session(production.url);
      const form = await session.get("/admin/login");
      expect(form.headers["strict-transport-security"]).toBe("max-age=31536000; includeSubDomains");
      const _csrf = load(form.body)("input[name=_csrf]").val() as string;
      const answer = await session.request("POST", "/admin/login", {
        form: { _csrf, name: accounts.viewer.name, password: accounts.viewer.password },
        headers: { "x-forwarded-proto": "http" },
      });
      expect(answer.status).toBe(303);
      for (const cookie of setCookies(answer.headers)) expect(cookie).toContain("; Secure");
    } finally {
      await production.close();
    }
  });
});
