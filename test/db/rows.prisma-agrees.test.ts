/**
 * Rows read with plain SQL on the pool (src/db/rows.ts) are the very objects Prisma returns for the
 * same rows: every field, with every column set and with every nullable column null.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncTaskFromRow, traineeFromRow } from "../../src/db/rows.js";
import { claimTask } from "../../src/trainees/sync-tasks.js";
import { createTestWorld, type TestWorld } from "../support/context.js";

let world: TestWorld;
beforeAll(async () => {
  world = await createTestWorld();
});
afterAll(() => world.cleanup());

const day = (iso: string) => new Date(`${iso}T00:00:00Z`);

async function traineeWithEverything() {
  return world.deps.prisma.trainee.create({
    data: {
      slug: `rows-${randomUUID()}`,
      trn: String(3_000_000 + Math.floor(Math.random() * 6_999_999)),
      state: "trn_received",
      firstNames: "Ada",
      middleNames: "Byron",
      lastName: "Lovelace",
      dateOfBirth: day("1815-12-10"),
      sex: "female",
      email: "ada@example.org",
      trainingRoute: "provider_led_postgrad",
      providerUkprn: "10000001",
      providerName: "A Provider",
      ittStartDate: day("2026-09-01"),
      ittEndDate: day("2027-07-31"),
      traineeStartDate: day("2026-09-02"),
      studyMode: "full_time",
      courseSubjects: ["mathematics", "physics", 'it\'s "quoted"'],
      courseMinAge: 11,
      courseMaxAge: 16,
      ittQualificationAim: "Postgraduate Certificate in Education",
      nationalInsuranceNumber: "QQ123456C",
      trainingCountry: "GB",
      outcomeDate: day("2027-07-01"),
      withdrawDate: day("2027-06-01"),
      documentHash: "f".repeat(64),
      submittedForTrnAt: new Date("2026-09-03T10:11:12.120Z"),
      trnReceivedAt: new Date("2026-09-04T23:59:59.999Z"),
      recommendedForAwardAt: new Date("2027-07-02T00:00:00.001Z"),
      awardedAt: day("2027-07-03"),
      discardedAt: new Date("2027-08-01T12:00:00.000Z"),
    },
  });
}

async function traineeWithNulls() {
  return world.deps.prisma.trainee.create({
    data: {
      slug: `rows-${randomUUID()}`,
      state: "draft",
      firstNames: "Grace",
      lastName: "Hopper",
      dateOfBirth: day("0099-01-02"), // years 0-99 are not 1900-1999
      courseSubjects: [],
      documentHash: "0".repeat(64),
    },
  });
}

const traineeJson = async (id: string) =>
  (await world.deps.pool.query<{ row: Record<string, unknown> }>("SELECT to_jsonb(t) AS row FROM trainees t WHERE id = $1", [id])).rows[0]!
    .row;
const taskJson = async (id: bigint) =>
  (
    await world.deps.pool.query<{ row: Record<string, unknown> }>(
      "SELECT to_jsonb(t) || jsonb_build_object('id', t.id::text) AS row FROM sync_tasks t WHERE id = $1",
      [id.toString()],
    )
  ).rows[0]!.row;

describe("a trainee read with plain SQL", () => {
  it.each([
    ["every column set", traineeWithEverything],
    ["every nullable column null", traineeWithNulls],
  ])("is what Prisma reads (%s)", async (_, create) => {
    const { id } = await create();
    const prisma = await world.deps.prisma.trainee.findUniqueOrThrow({ where: { id } });
    const plain = traineeFromRow(await traineeJson(id));
    expect(Object.keys(plain).sort()).toEqual(Object.keys(prisma).sort());
    for (const key of Object.keys(prisma) as (keyof typeof prisma)[]) expect([key, plain[key]]).toStrictEqual([key, prisma[key]]);
    expect(plain).toStrictEqual(prisma);
  });
});

describe("a trainee whose course_subjects is NULL (the column is nullable)", () => {
  it("reads as Prisma reads it, and its task is claimed", async () => {
    const { id } = await traineeWithNulls();
    await world.deps.pool.query("UPDATE trainees SET course_subjects = NULL WHERE id = $1", [id]);
    const prisma = await world.deps.prisma.trainee.findUniqueOrThrow({ where: { id } });
    expect(traineeFromRow(await traineeJson(id))).toStrictEqual(prisma);
    const task = await world.deps.prisma.syncTask.create({ data: { traineeId: id, kind: "register_for_trn", phase: 0 } });
    const claim = await claimTask(world.deps.pool, { taskId: task.id, attempt: 1, now: new Date(), maxStalls: 5 });
    expect(claim.kind).toBe("claimed");
    if (claim.kind === "claimed") expect(claim.trainee.courseSubjects).toEqual([]);
  });
});

describe("a sync task read with plain SQL", () => {
  it("is what Prisma reads, with every column set and with nulls", async () => {
    const trainee = await traineeWithEverything();
    const full = await world.deps.prisma.syncTask.create({
      data: {
        traineeId: trainee.id,
        kind: "update_trainee",
        phase: 1,
        state: "failed",
        trnRequestId: randomUUID(),
        traceContext: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        availableAt: new Date("2026-10-01T01:02:03.004Z"),
        attempts: 3,
        claimCount: 7,
        stalls: 2,
        errorClass: "validation_failed",
        httpStatus: 400,
        errorCode: 10001,
        errorMessage: "PUT /v3/persons/{trn} → 400",
        failedAt: new Date("2026-10-01T01:02:04.050Z"),
        startedAt: new Date("2026-10-01T01:02:03.500Z"),
        finishedAt: new Date("2026-10-01T01:02:05.000Z"),
      },
    });
    const bare = await world.deps.prisma.syncTask.create({ data: { traineeId: trainee.id, kind: "award_trainee", phase: 2 } });
    for (const { id } of [full, bare]) {
      const prisma = await world.deps.prisma.syncTask.findUniqueOrThrow({ where: { id } });
      const plain = syncTaskFromRow(await taskJson(id));
      expect(Object.keys(plain).sort()).toEqual(Object.keys(prisma).sort());
      for (const key of Object.keys(prisma) as (keyof typeof prisma)[]) expect([key, plain[key]]).toStrictEqual([key, prisma[key]]);
      expect(plain).toStrictEqual(prisma);
    }
  });

  it("a claim returns the task and trainee exactly as Prisma reads them afterwards", async () => {
    const trainee = await traineeWithEverything();
    const task = await world.deps.prisma.syncTask.create({
      data: { traineeId: trainee.id, kind: "update_trainee", phase: 1, state: "queued" },
    });
    const claim = await claimTask(world.deps.pool, {
      taskId: task.id,
      attempt: 2,
      now: new Date("2026-12-01T09:00:00.123Z"),
      maxStalls: 3,
    });
    if (claim.kind !== "claimed") throw new Error(claim.kind);
    expect(claim.task).toStrictEqual(await world.deps.prisma.syncTask.findUniqueOrThrow({ where: { id: task.id } }));
    expect(claim.trainee).toStrictEqual(await world.deps.prisma.trainee.findUniqueOrThrow({ where: { id: trainee.id } }));
    expect(claim.task).toMatchObject({ state: "running", attempts: 2, claimCount: 1, startedAt: new Date("2026-12-01T09:00:00.123Z") });
    expect(claim.fence).toEqual({ taskId: task.id, claim: 1 });
  });
});
