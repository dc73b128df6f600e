/**
 * Bull Board's writes, as a hostile reviewer would try them: every write route of the installed
 * Bull Board is in our table and recorded before it reaches the board, with its result after; a
 * write the table does not name is answered 400 and never reaches the board; and when the audit
 * log cannot be written, nothing is done (503).
 */
import { appRoutes } from "@bull-board/api/dist/routes.js";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bullBoardWrites } from "../../src/dashboard/bull-board-routes.js";
import { eventually } from "../support/context.js";
import { movePendingTasks } from "../support/tasks.js";
import { accounts, createTrainee, dashboardWorld, signedIn, type DashboardWorld, type Session } from "./helpers.js";

let t: DashboardWorld;
let support: Session;
let headers: Record<string, string>;

beforeAll(async () => {
  t = await dashboardWorld();
  support = await signedIn(t.url, accounts.support);
  headers = { accept: "application/json", "x-xsrf-token": decodeURIComponent(support.cookies.get("XSRF-TOKEN")!) };
});
afterAll(async () => {
  await t.close();
});

const prisma = () => t.world.deps.prisma;
const base = "/admin/queues";

/** Runs `work` with every insert of a Bull Board record into the audit log failing. */
async function withAuditLogFailing(work: () => Promise<void>) {
  const client = new pg.Client({ connectionString: t.world.config.databaseUrl });
  await client.connect();
  try {
    await client.query(`
      CREATE FUNCTION test_audit_down() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'audit log down'; END $$;
      CREATE TRIGGER test_audit_down BEFORE INSERT ON audit_log FOR EACH ROW
        WHEN (NEW.action LIKE 'bull-board:%') EXECUTE FUNCTION test_audit_down();`);
    await work();
  } finally {
    await client.query(`DROP TRIGGER test_audit_down ON audit_log; DROP FUNCTION test_audit_down()`);
    await client.end();
  }
}

describe("Bull Board's write routes", () => {
  it("are exactly the installed @bull-board/api's (a new one must be named before it can be used)", () => {
    const list = <T>(value: T | T[]) => (Array.isArray(value) ? value : [value]);
    const installed = appRoutes.api.flatMap((route) =>
      list(route.method)
        .filter((method) => method !== "get")
        .flatMap((method) => list(route.route).map((path) => `${method.toUpperCase()} ${path}`)),
    );
    expect(bullBoardWrites.map((w) => `${w.method} ${w.route}`)).toEqual(installed);
    expect(new Set(bullBoardWrites.map((w) => w.action)).size).toBe(bullBoardWrites.length);
  });

  it("are each recorded before they reach the board, under their own action, with the result after", async () => {
    const fill = (route: string) =>
      route
        .replace(":queueName", "no-such-queue")
        .replace(":jobId", "job-1")
        .replace(":queueStatus", "failed")
        .replace(":schedulerId", "scheduler-1");
    for (const write of bullBoardWrites) {
      const path = fill(write.route);
      // (pause and resume every queue act on the real queues: resumed at once; an unknown queue
      // or a missing body is the board's own 4xx, recorded as refused)
      const answer = await support.request(write.method, `${base}${path}`, { headers, json: {} });
      const action = `bull-board:${write.action}`;
      const records = await eventually(
        async () => {
          const found = await prisma().auditEntry.findMany({ where: { action }, orderBy: { id: "asc" } });
          return found.length === 2 && found;
        },
        { what: `two records of ${action}` },
      );
      expect(records.map((r) => [r.actor, (r.details as { route: string }).route])).toEqual([
        [accounts.support.name, `${write.method} ${path}`],
        [accounts.support.name, `${write.method} ${path}`],
      ]);
      expect(records[0]!.result).toBe("requested");
      expect(records[1]!.result).toBe(answer.status < 400 ? `ok: HTTP ${answer.status}` : `refused: HTTP ${answer.status}`);
      if (path.includes("no-such-queue")) expect(records[0]!.targets).toContain("queue:no-such-queue");
    }
    expect(await t.world.queues.alerts.isPaused()).toBe(false);
  });

  it("answers 400 to any other write under /admin/queues, never passing it to the board", async () => {
    const auditBefore = await prisma().auditEntry.count();
    for (const [method, path] of [
      // Express routes case-insensitively: Bull Board itself would pause the queue for this one
      ["PUT", "/api/QUEUES/alerts/pause"],
      ["PUT", "/api/queues/alerts/Pause"],
      ["POST", "/api/queues/alerts/pause"],
      ["DELETE", "/api/queues/alerts"],
      ["PUT", "/api/queues/alerts/frobnicate"],
      ["PUT", "/api/queues/alerts/1/retry/now"],
      ["POST", "/api/metrics/history/purge"],
      ["PUT", "/"],
      ["PATCH", "/queue/alerts"],
      ["OPTIONS", "/api/queues/alerts/pause"],
    ] as const) {
      const answer = await support.request(method, `${base}${path}`, { headers, ...(method === "OPTIONS" ? {} : { json: {} }) });
      expect(answer.status, `${method} ${path}`).toBe(400);
    }
    expect(await t.world.queues.alerts.isPaused()).toBe(false);
    expect(await prisma().auditEntry.count()).toBe(auditBefore);
  });

  it("do nothing, answering 503, when the audit log cannot be written", async () => {
    const slug = await createTrainee(t.api, { state: "trn_received", trn: "3300001" });
    await movePendingTasks(prisma(), { trainee: { slug } }, "failed", { errorClass: "api_unavailable" });
    const [task] = await prisma().syncTask.findMany({ where: { trainee: { slug } }, orderBy: { id: "asc" } });
    await t.world.queues.alerts.add("slack-alert", { text: "x" }, { jobId: "audit-down-job", delay: 3_600_000 });
    await withAuditLogFailing(async () => {
      for (const path of [
        "/api/queues/alerts/pause",
        "/api/queues/pause",
        "/api/queues/alerts/empty",
        "/api/queues/alerts/audit-down-job/promote",
        `/api/queues/teacher-records/update-trainee-${task!.id}/retry`,
        "/api/queues/teacher-records/retry/failed",
      ]) {
        const answer = await support.request("PUT", `${base}${path}`, { headers, json: {} });
        expect(answer.status, path).toBe(503);
        expect(answer.body).toContain("nothing was done");
      }
    });
    expect(await t.world.queues.alerts.isPaused()).toBe(false);
    expect(await t.world.queues.teacherRecords.isPaused()).toBe(false);
    expect(await (await t.world.queues.alerts.getJob("audit-down-job"))!.getState()).toBe("delayed");
    expect((await prisma().syncTask.findUniqueOrThrow({ where: { id: task!.id } })).state).toBe("failed");
    await t.world.queues.alerts.remove("audit-down-job");
  });
});
