/**
 * Hostile input on every dashboard route: text that is not UTF-8, control characters, oversized
 * values, repeated single fields, forged keyset cursors, mangled paths and forms. Each answers a
 * 4xx with an HTML page (never a 500, never an error in the log), and the server goes on serving.
 * Behind input.ts, a Postgres data exception (SQLSTATE class 22) that reaches the error handler
 * is a 400 logged as a warning.
 */
import { Writable } from "node:stream";
import express from "express";
import { load } from "cheerio";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createRenderer } from "../../src/dashboard/render.js";
import { dashboardErrorHandler } from "../../src/dashboard/router.js";
import { serve } from "../support/http.js";
import { accounts, createTrainee, dashboardWorld, failFirstTask, Session, signedIn, type DashboardWorld } from "./helpers.js";

let t: DashboardWorld;
let support: Session;
let slug: string;
let taskId: string;
let csrf: string;

beforeAll(async () => {
  t = await dashboardWorld();
  support = await signedIn(t.url, accounts.support);
  slug = await createTrainee(t.api);
  taskId = String((await failFirstTask(t.world, slug)).id);
  csrf = await support.csrf();
});
afterAll(async () => {
  await t.close();
});

const b64 = (text: string | Buffer) => Buffer.from(text).toString("base64url");
const long = (n: number) => "x".repeat(n);

type Case = { what: string; get?: string; post?: string; form?: () => Record<string, string | string[]>; raw?: () => string | Buffer };

/** Forms carry the session's CSRF token, so that what is refused is the hostile value, not a missing token. */
const cases: Case[] = [
  // failed jobs: filters, sort, cursor
  { what: "search not UTF-8", get: "/admin/dead-jobs?q=%FF" },
  { what: "search with NUL", get: "/admin/dead-jobs?q=a%00b" },
  { what: "search with a line break", get: "/admin/dead-jobs?q=a%0Ab" },
  { what: "search with a C1 control", get: "/admin/dead-jobs?q=%C2%85" },
  { what: "search oversized", get: `/admin/dead-jobs?q=${long(101)}` },
  { what: "search given twice", get: "/admin/dead-jobs?q=a&q=b" },
  { what: "job type truncated UTF-8", get: "/admin/dead-jobs?jobType=%E2%82" },
  { what: "error class with ESC", get: "/admin/dead-jobs?errorClass=%1B%5B31m" },
  { what: "sort not UTF-8", get: "/admin/dead-jobs?sort=%FE" },
  { what: "direction DEL", get: "/admin/dead-jobs?dir=%7F" },
  { what: "cursor not a time", get: `/admin/dead-jobs?after=${b64("not a time~1")}` },
  { what: "cursor impossible date", get: `/admin/dead-jobs?after=${b64("2026-13-45T99:00:00.000000~1")}` },
  { what: "cursor year zero", get: `/admin/dead-jobs?after=${b64("0000-01-01T00:00:00.000000~1")}` },
  { what: "cursor id overflows bigint", get: `/admin/dead-jobs?after=${b64("2026-01-01T00:00:00.000000~99999999999999999999")}` },
  { what: "cursor without id", get: `/admin/dead-jobs?after=${b64("2026-01-01T00:00:00.000000")}` },
  { what: "cursor with NUL (slug sort)", get: `/admin/dead-jobs?sort=slug&after=${b64("a\u0000b~1")}` },
  { what: "cursor bytes not UTF-8", get: `/admin/dead-jobs?sort=slug&after=${b64(Buffer.from([0xff, 0x7e, 0x31]))}` },
  { what: "cursor not base64url", get: "/admin/dead-jobs?after=%2B%2F%3D%3D" },
  { what: "cursor percent garbage", get: "/admin/dead-jobs?after=%%%" },
  { what: "cursor oversized", get: `/admin/dead-jobs?after=${long(401)}` },
  { what: "query string oversized", get: `/admin/dead-jobs?q=a&x=${long(2_100)}` },
  // CSV
  { what: "CSV search not UTF-8", get: "/admin/dead-jobs.csv?q=%FF" },
  { what: "CSV search with NUL", get: "/admin/dead-jobs.csv?q=%00" },
  { what: "CSV job type overlong encoding", get: "/admin/dead-jobs.csv?jobType=%C0%AF" },
  { what: "CSV search oversized", get: `/admin/dead-jobs.csv?q=${long(101)}` },
  // pending TRNs and awards
  { what: "pending TRNs cursor not a time", get: `/admin/pending-trns?after=${b64("yesterday~00000000-0000-0000-0000-000000000000")}` },
  { what: "pending TRNs cursor id not a uuid", get: `/admin/pending-trns?before=${b64("2026-01-01T00:00:00.000000~1 OR 1=1")}` },
  { what: "pending TRNs cursor not UTF-8", get: "/admin/pending-trns?after=%FF" },
  { what: "pending awards, any value not UTF-8", get: "/admin/pending-awards?x=%FF" },
  // audit log
  { what: "audit person with NUL", get: "/admin/audit?actor=%00" },
  { what: "audit action not UTF-8", get: "/admin/audit?action=%FF" },
  { what: "audit page not a number", get: "/admin/audit?before=abc" },
  { what: "audit page overflows bigint", get: "/admin/audit?before=99999999999999999999" },
  { what: "audit person oversized", get: `/admin/audit?actor=${long(101)}` },
  // search
  { what: "find with NUL", get: "/admin/search?q=%00" },
  { what: "find not UTF-8", get: "/admin/search?q=%FF" },
  { what: "find encoded surrogate", get: "/admin/search?q=%ED%A0%80" },
  { what: "find oversized", get: `/admin/search?q=${long(101)}` },
  // the trainee page
  { what: "slug not UTF-8", get: "/admin/trainees/%FF" },
  { what: "slug with NUL", get: "/admin/trainees/a%00b" },
  { what: "slug climbing out", get: "/admin/trainees/..%2F..%2Fetc%2Fpasswd" },
  { what: "slug oversized", get: `/admin/trainees/${long(101)}/check-record` },
  { what: "job id not a number", post: "/admin/trainees/SLUG/tasks/abc/retry", form: () => ({ _csrf: csrf }) },
  { what: "cancel reason with BEL", post: "/admin/trainees/SLUG/tasks/TASK/cancel", form: () => ({ _csrf: csrf, reason: "why\u0007" }) },
  // the sign-in page's own address
  { what: "sign-in next not UTF-8", get: "/admin/login?next=%FF" },
  // bulk forms
  { what: "bulk retry job not a number", post: "/admin/dead-jobs/retry", form: () => ({ _csrf: csrf, task: ["1", "abc"] }) },
  { what: "bulk retry job overflows", post: "/admin/dead-jobs/retry", form: () => ({ _csrf: csrf, task: "99999999999999999999" }) },
  { what: "bulk cancel filter not UTF-8", post: "/admin/dead-jobs/cancel", raw: () => `_csrf=${encodeURIComponent(csrf)}&all=1&q=%FF` },
  { what: "bulk form raw bytes not UTF-8", post: "/admin/dead-jobs/retry", raw: () => Buffer.from([0x71, 0x3d, 0xff, 0xfe]) },
  { what: "bulk confirm token with NUL", post: "/admin/dead-jobs/retry/confirm", form: () => ({ _csrf: csrf, token: "a\u0000" }) },
  { what: "bulk confirm token forged", post: "/admin/dead-jobs/retry/confirm", form: () => ({ _csrf: csrf, token: "../../x" }) },
  {
    what: "bulk cancel reason oversized",
    post: "/admin/dead-jobs/cancel/confirm",
    form: () => ({ _csrf: csrf, token: "A".repeat(32), reason: long(501) }),
  },
  {
    what: "pending TRNs slug not UTF-8",
    post: "/admin/pending-trns/extend",
    raw: () => `_csrf=${encodeURIComponent(csrf)}&slug=%FF&days=3`,
  },
  { what: "pending TRNs slug malformed", post: "/admin/pending-trns/resubmit", form: () => ({ _csrf: csrf, only: "bad slug!" }) },
  {
    what: "pending TRNs too many ticked",
    post: "/admin/pending-trns/check-now",
    form: () => ({ _csrf: csrf, slug: Array.from({ length: 201 }, (_, i) => `s${i}`) }),
  },
  { what: "pending TRNs days with NUL", post: "/admin/pending-trns/extend", form: () => ({ _csrf: csrf, slug, days: "3\u0000" }) },
];

describe("hostile input on the dashboard", () => {
  it(`answers each of ${cases.length} hostile requests with a 4xx page, never a 500 or an error in the log`, async () => {
    expect(cases.length).toBeGreaterThanOrEqual(48);
    const errors = vi.spyOn(t.world.deps.logger, "error");
    const answers: string[] = [];
    for (const c of cases) {
      const path = (c.get ?? c.post!).replace("SLUG", slug).replace("TASK", taskId);
      const answer = c.get
        ? await support.get(path)
        : await support.request("POST", path, c.raw ? { rawForm: c.raw() } : { form: c.form!() });
      answers.push(`${answer.status} ${c.what}`);
      if (answer.status >= 400 && answer.status < 500) expect(answer.headers["content-type"], c.what).toMatch(/text\/html/);
    }
    expect(answers.filter((a) => !/^4\d\d /.test(a))).toEqual([]);
    expect(errors).not.toHaveBeenCalled();
    // and the server is still serving, the failed job untouched
    expect((await support.get("/admin")).status).toBe(200);
    expect((await support.get(`/admin/dead-jobs?q=${slug}`)).status).toBe(200);
    const task = await t.world.deps.prisma.syncTask.findUniqueOrThrow({ where: { id: BigInt(taskId) } });
    expect(task.state).toBe("failed");
  });

  it("says what was refused, on a GOV.UK page", async () => {
    const page = await support.get("/admin/dead-jobs?q=a%00b");
    expect(page.status).toBe(400);
    const $ = load(page.body);
    expect($("h1").text()).toBe("There is a problem");
    expect($("#problem").text()).toMatch(/“q” was not understood: it must not contain control characters/);
    expect($("link[rel=stylesheet]").attr("href")).toMatch(/govuk/);
  });

  it("still reads what the pages write: a clean search, an old bookmark's unknown filter, a real next page", async () => {
    expect((await support.get("/admin/search?q=O%E2%80%99Brien%20Zo%C3%AB")).status).toBe(200);
    expect((await support.get("/admin/dead-jobs?jobType=retired-job&errorClass=gone")).status).toBe(200);
    const cursor = b64("2026-01-01T00:00:00.000000~1");
    expect((await support.get(`/admin/dead-jobs?after=${cursor}`)).status).toBe(200);
  });
});

describe("a data exception behind input.ts", () => {
  it("answers 400, logged as a warning, not an error", async () => {
    const lines: { level: number; msg: string; sqlState?: string }[] = [];
    const logger = pino(
      { level: "info" },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]);
          done();
        },
      }),
    );
    const db = t.world.deps.prisma;
    const app = express();
    // a value no input.ts check saw: Postgres refuses it (22P02 invalid_text_representation)
    app.get("/boom", (_req, _res, next) => {
      db.$queryRaw`SELECT CAST(${"not a number"} AS int)`.then(() => next(new Error("Postgres accepted it")), next);
    });
    app.get("/other", (_req, _res, next) => next(new Error("a real failure")));
    app.use(dashboardErrorHandler({ logger: logger as never, views: createRenderer(), viewerOf: () => undefined }));
    const server = await serve(app);
    try {
      const session = new Session(server.url);
      const boom = await session.get("/boom");
      expect(boom.status).toBe(400);
      expect(load(boom.body)("h1").text()).toBe("There is a problem");
      expect(lines.find((l) => l.msg.includes("data exception"))).toMatchObject({ level: 40, sqlState: "22P02" });
      expect(lines.filter((l) => l.level >= 50)).toEqual([]);
      // anything else is still a 500 and an error
      expect((await session.get("/other")).status).toBe(500);
      expect(lines.filter((l) => l.level >= 50)).toHaveLength(1);
    } finally {
      await server.close();
    }
  });
});
