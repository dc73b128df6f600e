/**
 * The one-statement PUT (create-trainee.ts) writes what the general path (accept-document.ts
 * without a pool) writes, row for row in every table the trainee reaches, ids and the times the
 * database or the clock picks aside, and answers the same trainee and sync state as Prisma reads
 * them back, to the byte of the API's JSON.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acceptTraineeDocument, type AcceptResult } from "../../src/trainees/accept-document.js";
import { traineeDocumentSchema, type TraineeDocument } from "../../src/trainees/document.js";
import { documentHash, traineeView } from "../../src/trainees/records.js";
import { blockingStates } from "../../src/trainees/sync-tasks.js";
import { eventView, taskView } from "../../src/web/upstream-api.js";
import { createTestWorld, type TestWorld } from "../support/context.js";
import { traineeDoc } from "../support/documents.js";

let world: TestWorld;
beforeAll(async () => {
  world = await createTestWorld();
});
afterAll(() => world.cleanup());

const trnFor = () => String(6_000_000 + Math.floor(Math.random() * 999_999));

function accept(doc: TraineeDocument, options: { lean: boolean; now: Date }): Promise<AcceptResult> {
  return acceptTraineeDocument({
    prisma: world.deps.prisma,
    ...(options.lean ? { pool: world.deps.pool } : {}),
    doc,
    now: options.now,
    trnPoll: world.config.trnPoll,
    updateDebounceMs: 5_000,
  });
}

/** Every row the trainee reaches, with ids, random request ids and row times replaced by what they point at. */
async function rowsOf(traineeId: string) {
  const q = async (sql: string) => (await world.deps.pool.query(sql, [traineeId])).rows as Record<string, unknown>[];
  const requests = await q("SELECT * FROM trn_requests WHERE trainee_id = $1 ORDER BY submitted_at, id");
  const requestIds = requests.map((r) => r.id);
  const tasks = await q("SELECT * FROM sync_tasks WHERE trainee_id = $1 ORDER BY id");
  const taskIds = tasks.map((t) => String(t.id));
  const normal = (row: Record<string, unknown>) => {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(row)) {
      if (["id", "slug", "document_hash", "request_id", "created_at", "updated_at", "event_id", "trainee_slug"].includes(key)) continue;
      if (key === "trainee_id" || key === "active_trainee_id") out[key] = value === traineeId ? "(the trainee)" : value;
      else if (key === "trn_request_id") out[key] = value === null ? null : `(request ${requestIds.indexOf(value)})`;
      else if (key === "task_id") out[key] = value === null ? null : `(task ${taskIds.indexOf(String(value))})`;
      else out[key] = value;
    }
    return out;
  };
  return {
    trainees: (await q("SELECT * FROM trainees WHERE id = $1")).map(normal),
    trnRequests: requests.map(normal),
    syncTasks: tasks.map(normal),
    syncEvents: (await q("SELECT * FROM sync_events WHERE trainee_id = $1 ORDER BY id")).map(normal),
    sentPayloads: (await q("SELECT * FROM sent_payloads WHERE trainee_id = $1")).map(normal),
    upstreamWebhooks: (await q("SELECT * FROM upstream_webhooks WHERE trainee_id = $1 ORDER BY id")).map(normal),
  };
}

/** The API's answer as the general path builds it: the trainee and its sync state read through Prisma. */
async function answeredByPrisma(traineeId: string) {
  const prisma = world.deps.prisma;
  const trainee = await prisma.trainee.findUniqueOrThrow({ where: { id: traineeId } });
  const tasks = await prisma.syncTask.findMany({
    where: { traineeId, state: { in: [...blockingStates] } },
    orderBy: [{ phase: "asc" }, { id: "asc" }],
  });
  const lastEvent = await prisma.syncEvent.findFirst({ where: { traineeId }, orderBy: { id: "desc" } });
  return { trainee, tasks, lastEvent };
}

const body = (answer: Awaited<ReturnType<typeof answeredByPrisma>>) =>
  JSON.stringify({
    ...traineeView(answer.trainee),
    sync: { tasks: answer.tasks.map(taskView), lastEvent: answer.lastEvent ? eventView(answer.lastEvent) : null },
  });

const cases: [string, Record<string, unknown>][] = [
  ["submitted for a TRN", {}],
  ["a draft", { state: "draft", trainingRoute: null, providerUkprn: null, sex: null, courseSubjects: [] }],
  ["imported with a TRN", { state: "trn_received", trn: "(trn)" }],
  ["submitted for a TRN with one (stored as trn_received)", { state: "submitted_for_trn", trn: "(trn)" }],
  ["deferred, with a TRN", { state: "deferred", trn: "(trn)", ittQualificationAim: null, middleNames: "Byron" }],
  ["an iQTS trainee", { trainingRoute: "iqts", trainingCountry: "FR", traineeStartDate: "2026-09-02", courseMinAge: null }],
];

describe("a new trainee's PUT in one statement", () => {
  for (const [name, overrides] of cases) {
    for (const now of [new Date("2026-10-15T09:30:00.123Z"), new Date("2026-03-01T23:59:59.999Z")]) {
      it(`writes and answers what the general path does: ${name}, ${now.toISOString()}`, async () => {
        const docFor = () => traineeDocumentSchema.parse(traineeDoc({ ...overrides, ...(overrides.trn ? { trn: trnFor() } : {}) }));
        const [leanDoc, generalDoc] = [docFor(), docFor()];
        const lean = await accept(leanDoc, { lean: true, now });
        const general = await accept(generalDoc, { lean: false, now });
        if (lean.status === 409 || general.status === 409) throw new Error("refused");
        expect(lean.sync).toBeDefined(); // the lean path answered, not the general one
        expect(general.sync).toBeUndefined();
        expect({ status: lean.status, changed: lean.changed, work: lean.work }).toEqual({
          status: general.status,
          changed: general.changed,
          work: general.work,
        });

        const [leanRows, generalRows] = [await rowsOf(lean.trainee.id), await rowsOf(general.trainee.id)];
        const withoutTrn = (rows: typeof leanRows) => ({
          ...rows,
          trainees: rows.trainees.map((t) => ({ ...t, trn: t.trn ? "(trn)" : null })),
        });
        expect(withoutTrn(leanRows)).toEqual(withoutTrn(generalRows));
        expect(leanRows.trainees[0]!.trn).toBe(leanDoc.trn ?? null);
        expect(leanRows.syncEvents).toHaveLength(1);
        const stored = await world.deps.prisma.trainee.findUniqueOrThrow({ where: { id: lean.trainee.id } });
        expect(stored.documentHash).toBe(documentHash(leanDoc));
        expect(stored.slug).toBe(leanDoc.slug);
        expect(stored.updatedAt).toEqual(stored.createdAt);

        // what the API answers: the same objects as Prisma reads, the same JSON
        const prismaAnswer = await answeredByPrisma(lean.trainee.id);
        expect(lean.trainee).toEqual(prismaAnswer.trainee);
        expect(lean.sync).toEqual({ tasks: prismaAnswer.tasks, lastEvent: prismaAnswer.lastEvent });
        expect(body({ trainee: lean.trainee, tasks: lean.sync!.tasks, lastEvent: lean.sync!.lastEvent })).toBe(body(prismaAnswer));

        // the same document again: nothing written, the stored trainee answered
        const again = await accept(leanDoc, { lean: true, now: new Date() });
        if (again.status === 409) throw new Error("refused");
        expect({ status: again.status, changed: again.changed, work: again.work }).toEqual({ status: 200, changed: false, work: [] });
        expect(await rowsOf(lean.trainee.id)).toEqual(leanRows);
        expect(again.trainee).toEqual(prismaAnswer.trainee);
        expect(again.sync).toEqual({ tasks: prismaAnswer.tasks, lastEvent: prismaAnswer.lastEvent });
      });
    }
  }

  it("answers 409 for a TRN that belongs to another trainee, and writes nothing", async () => {
    const trn = trnFor();
    const first = await accept(traineeDocumentSchema.parse(traineeDoc({ state: "trn_received", trn })), { lean: true, now: new Date() });
    expect(first.status).toBe(201);
    const before = await world.deps.prisma.syncEvent.count();
    const second = traineeDocumentSchema.parse(traineeDoc({ state: "trn_received", trn }));
    const answer = await accept(second, { lean: true, now: new Date() });
    expect(answer).toEqual({ status: 409, body: { error: "this trn belongs to another trainee" } });
    expect(await world.deps.prisma.trainee.count({ where: { slug: second.slug } })).toBe(0);
    expect(await world.deps.prisma.syncEvent.count()).toBe(before);
  });

  it("takes the general path for a changed document and for one that cannot create a trainee", async () => {
    const doc = traineeDocumentSchema.parse(traineeDoc());
    await accept(doc, { lean: true, now: new Date() });
    const changed = await accept({ ...doc, firstNames: "Augusta" }, { lean: true, now: new Date() });
    expect(changed).toMatchObject({ status: 200, changed: true });
    expect(changed.status !== 409 && changed.sync).toBeUndefined();
    // the stored row, locked and read as JSON, compares equal to the document but for the one field
    const event = await world.deps.prisma.syncEvent.findFirstOrThrow({ where: { kind: "trainee_changed", trainee: { slug: doc.slug } } });
    expect(event.details).toMatchObject({ changedFields: ["firstNames"], fromState: "submitted_for_trn", toState: "submitted_for_trn" });
    const withdrawn = traineeDocumentSchema.parse(traineeDoc({ state: "withdrawn", withdrawDate: "2026-10-01" }));
    expect(await accept(withdrawn, { lean: true, now: new Date() })).toMatchObject({ status: 409 });
  });

  it("wakes the dispatchers (NOTIFY trs_sync_dispatch) when it adds work", async () => {
    const listener = new pg.Client({ connectionString: world.config.databaseUrl });
    await listener.connect();
    try {
      const woken = new Promise<string>((resolve) => listener.on("notification", (n) => resolve(n.payload ?? "")));
      await listener.query("LISTEN trs_sync_dispatch");
      await accept(traineeDocumentSchema.parse(traineeDoc()), { lean: true, now: new Date() });
      expect(await woken).toBe("sync_tasks");
    } finally {
      await listener.end();
    }
  });
});
