/**
 * A bulk confirmation carries out the plan it showed, and nothing else: the plan (its job ids, in
 * order) is kept in Redis for an hour under a token tied to the person and the action. Confirming
 * refuses, with nothing done and a request to review again, when the matching jobs changed, when
 * the token is unknown or expired, when it is somebody else's or another action's, or when it was
 * already carried out.
 */
import { load } from "cheerio";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../../src/dashboard/auth.js";
import { planLifetimeSeconds } from "../../src/dashboard/bulk-plans.js";
import { createApp } from "../../src/web/app.js";
import { createTestWorld, type TestWorld } from "../support/context.js";
import { client, serve } from "../support/http.js";
import { movePendingTasks } from "../support/tasks.js";
import { accounts, createTrainee, signedIn, type Session } from "./helpers.js";

const other = { name: "sue", password: "another support password" };
let world: TestWorld;
let close: () => Promise<void>;
let api: ReturnType<typeof client>;
let sam: Session;
let sue: Session;

beforeAll(async () => {
  world = await createTestWorld({
    env: {
      DASHBOARD_USERS: [accounts.support, other].map((a) => `${a.name}:support:${hashPassword(a.password)}`).join(","),
      SESSION_SECRET: "test-session-secret-0123456789",
    },
  });
  const server = await serve(createApp(world.deps, world.queues));
  close = server.close;
  api = client(server.url);
  sam = await signedIn(server.url, accounts.support);
  sue = await signedIn(server.url, other);
});
afterAll(async () => {
  await close();
  await world.cleanup();
});

const prisma = () => world.deps.prisma;

/** A trainee whose first task failed with `errorClass`; returns that task's id. */
async function failedJob(errorClass: string): Promise<bigint> {
  const slug = await createTrainee(api);
  await movePendingTasks(prisma(), { trainee: { slug } }, "failed", { errorClass, httpStatus: 400, errorMessage: "refused", attempts: 3 });
  return (await prisma().syncTask.findFirstOrThrow({ where: { trainee: { slug }, state: "failed" } })).id;
}

const states = async (ids: bigint[]) =>
  (await prisma().syncTask.findMany({ where: { id: { in: ids } }, orderBy: { id: "asc" } })).map((t) => t.state);

/** Shows the plan (POST of the failed-jobs page's form); returns its token. */
async function planOf(session: Session, kind: "retry" | "cancel", form: Record<string, string | string[]>) {
  const page = await session.post(`/admin/dead-jobs/${kind}`, { _csrf: await session.csrf(), ...form });
  expect(page.status).toBe(200);
  const token = load(page.body)('input[name="token"]').attr("value");
  expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
  return token!;
}

/** Confirms; returns the message shown on the page it lands on. */
async function confirm(session: Session, kind: "retry" | "cancel", form: Record<string, string>) {
  const answer = await session.post(`/admin/dead-jobs/${kind}/confirm`, {
    _csrf: await session.csrf(),
    ...(kind === "cancel" ? { reason: "sent by hand" } : {}),
    ...form,
  });
  expect(answer.status).toBe(303);
  return load((await session.get(answer.headers.location as string)).body)(".govuk-notification-banner").text();
}

describe("confirming a bulk plan", () => {
  it("retries exactly the planned jobs, once", async () => {
    const planned = [await failedJob("plan_happy"), await failedJob("plan_happy")];
    const elsewhere = await failedJob("plan_elsewhere");
    const token = await planOf(sam, "retry", { all: "1", errorClass: "plan_happy" });
    const key = `${world.config.redisPrefix}:bulk-plan:${token}`;
    const ttl = await world.deps.redis.ttl(key);
    expect(ttl).toBeGreaterThan(planLifetimeSeconds - 60);
    expect(ttl).toBeLessThanOrEqual(planLifetimeSeconds);

    expect(await confirm(sam, "retry", { token })).toMatch(/Retried 2 jobs for 2 trainees/);
    expect(await states(planned)).toEqual(["pending", "pending"]);
    expect(await states([elsewhere])).toEqual(["failed"]);
    const audit = await prisma().auditEntry.findFirstOrThrow({ where: { action: "retry-failed-jobs" }, orderBy: { id: "desc" } });
    // one record for the one batch: its jobs, then its trainees
    expect(audit.targets.filter((t) => t.startsWith("task:")).sort()).toEqual(planned.map((id) => `task:${id}`).sort());
    expect(audit.targets.filter((t) => t.startsWith("trainee:"))).toHaveLength(2);
    expect(audit.result).toBe("ok: retried 2 jobs for 2 trainees (batch 1 of 1)");

    // the same button again: the plan is spent
    expect(await confirm(sam, "retry", { token })).toMatch(/expired or is not known|already been carried out/);
    expect(await world.deps.redis.exists(key)).toBe(0);
  });

  it("refuses when a job joined the matching set after the plan was shown", async () => {
    const first = await failedJob("plan_grows");
    const token = await planOf(sam, "retry", { all: "1", errorClass: "plan_grows" });
    const late = await failedJob("plan_grows");
    expect(await confirm(sam, "retry", { token })).toMatch(
      /The failed jobs changed since the plan was shown \(1 planned, 2 now\)\. Nothing was done: review the plan again\./,
    );
    expect(await states([first, late])).toEqual(["failed", "failed"]);
    const audit = await prisma().auditEntry.findFirstOrThrow({ where: { action: "retry-failed-jobs" }, orderBy: { id: "desc" } });
    expect(audit.result).toMatch(/^refused: The failed jobs changed/);
  });

  it("refuses when a selected job left the failed set after the plan was shown", async () => {
    const a = await failedJob("plan_shrinks");
    const b = await failedJob("plan_shrinks");
    const token = await planOf(sam, "cancel", { task: [String(a), String(b)] });
    await prisma().syncTask.update({ where: { id: b }, data: { state: "pending", failedAt: null } }); // retried elsewhere
    expect(await confirm(sam, "cancel", { token })).toMatch(/changed since the plan was shown \(2 planned, 1 now\).*review the plan again/);
    expect(await states([a, b])).toEqual(["failed", "pending"]);
  });

  it("refuses an unknown or expired token", async () => {
    const job = await failedJob("plan_expires");
    const token = await planOf(sam, "retry", { task: String(job) });
    await world.deps.redis.del(`${world.config.redisPrefix}:bulk-plan:${token}`); // as Redis does after the hour
    expect(await confirm(sam, "retry", { token })).toMatch(/That plan has expired or is not known.*review the plan again/);
    expect(await confirm(sam, "retry", { token: "A".repeat(32) })).toMatch(/expired or is not known/);
    expect(await states([job])).toEqual(["failed"]);
  });

  it("refuses another person's plan, and a retry plan confirmed as a cancellation", async () => {
    const job = await failedJob("plan_owner");
    const token = await planOf(sam, "retry", { task: String(job) });
    expect(await confirm(sue, "retry", { token })).toMatch(/made for another person or action/);
    expect(await confirm(sam, "cancel", { token })).toMatch(/made for another person or action/);
    expect(await states([job])).toEqual(["failed"]);
    // still Sam's to confirm
    expect(await confirm(sam, "retry", { token })).toMatch(/Retried 1 job for 1 trainee/);
    expect(await states([job])).toEqual(["pending"]);
  });
});
