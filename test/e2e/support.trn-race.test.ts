/**
 * Support's TRN actions take the trainee's lock, the one a register or poll job holds while its
 * request is with the API, waiting for it up to 10 s. Re-submitting at the very moment the
 * register job sends the first request then either comes first (the first request is superseded
 * before it is sent, and only the new one reaches TRS) or after (the trainee has its TRN: refused),
 * never in between: TRS receives one request id per trainee, once, and the trainee holds exactly
 * one received request. Raced hundreds of times, on real workers and the sandbox.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { TeacherRecordsClient } from "../../src/clients/teacher-records.js";
import { queueControl } from "../../src/jobs/enqueue.js";
import { withTraineeLock } from "../../src/jobs/trainee-lock.js";
import { resubmitForTrn, SupportActionError, checkTrnNow, restartTrnPolling } from "../../src/trainees/support-actions.js";
import { startHarness, type Harness } from "../support/harness.js";
import { traineeDoc } from "../support/documents.js";
import { wrapClient } from "../support/wrap-client.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

const RACES = 200;
const AT_ONCE = 5;

/** API latency: the request is "with TRS" for a few milliseconds. */
const latency = () => new Promise((resolve) => setTimeout(resolve, 2 + Math.random() * 8));

describe("support's TRN actions against a running job", () => {
  it(`re-submitting while the register job sends the request: one request id reaches TRS, ${RACES} times`, async () => {
    /** request ids TRS received, by trainee slug, in order */
    const sent = new Map<string, string[]>();
    /** slugs whose re-submission starts while their first request is with TRS */
    const duringCall = new Map<string, () => void>();
    harness = await startHarness({
      env: { WORKER_CONCURRENCY: "4", DATABASE_POOL_SIZE: "12" },
      wrapApi: (api: TeacherRecordsClient) =>
        wrapClient(api, {
          async requestTrn(requestId, trainee) {
            sent.set(trainee.slug, [...(sent.get(trainee.slug) ?? []), requestId]);
            duringCall.get(trainee.slug)?.();
            duringCall.delete(trainee.slug);
            await latency();
            return api.requestTrn(requestId, trainee);
          },
        }),
    });
    const h = harness;
    const db = h.world.deps.prisma;
    const queue = queueControl(h.world.queues);
    const outcomes = { resubmitted: 0, refused: 0 };
    const resubmit = async (slug: string) => {
      try {
        await resubmitForTrn({ db, slug, now: new Date(), actor: "race", trnPoll: h.world.config.trnPoll, queue });
        outcomes.resubmitted++;
      } catch (error) {
        if (!(error instanceof SupportActionError) || !/already has TRN/.test(error.message)) throw error;
        outcomes.refused++;
      }
    };

    const slugs: string[] = [];
    for (let batch = 0; batch < RACES / AT_ONCE; batch++) {
      const races = Array.from({ length: AT_ONCE }, async (_, i) => {
        const doc = traineeDoc({ lastName: `Race${batch}x${i}` });
        slugs.push(doc.slug);
        // half start the re-submission from inside the API call, half just after the PUT, with jitter
        let started: Promise<void> | undefined;
        const inCall = i % 2 === 0;
        if (inCall) duringCall.set(doc.slug, () => void (started = resubmit(doc.slug)));
        const put = await h.api.put(doc.slug, doc);
        expect(put.status).toBe(201);
        if (!inCall) {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 15));
          started = resubmit(doc.slug);
        }
        await h.waitFor(`TRN for ${doc.slug}`, async () => (await db.trainee.findUnique({ where: { slug: doc.slug } }))?.trn, 30_000);
        await h.waitFor("the re-submission started", async () => started !== undefined);
        await started;
      });
      await Promise.all(races);
    }
    // nothing left that could still send a request
    await h.waitFor(
      "every TRN task finished",
      async () =>
        (await db.syncTask.count({
          where: { kind: { in: ["register_for_trn", "poll_trn"] }, state: { in: ["pending", "queued", "running"] } },
        })) === 0,
      60_000,
    );

    const problems: string[] = [];
    for (const slug of slugs) {
      const ids = sent.get(slug) ?? [];
      if (ids.length !== 1) problems.push(`${slug}: TRS received ${ids.length} TRN requests (${ids.join(", ")})`);
      const requests = await db.trnRequest.findMany({ where: { trainee: { slug } }, orderBy: { createdAt: "asc" } });
      const received = requests.filter((r) => r.state === "received");
      if (received.length !== 1 || received[0]!.requestId !== ids[0]) {
        problems.push(
          `${slug}: requests ${requests.map((r) => `${r.requestId.slice(0, 8)}=${r.state}`).join(", ")}; sent ${ids.join(", ")}`,
        );
      }
      const others = requests.filter((r) => r.requestId !== ids[0]);
      if (others.some((r) => r.state !== "superseded" || ids.includes(r.requestId)))
        problems.push(`${slug}: a second request id was opened and kept`);
    }
    expect(problems).toEqual([]);
    // both orders happened, so the race was real
    expect(outcomes.resubmitted).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  }, 300_000);

  it("waits for a job that holds the trainee's lock, then says the trainee is busy and does nothing", async () => {
    harness = await startHarness({ startWorker: false });
    const h = harness;
    const db = h.world.deps.prisma;
    const doc = traineeDoc();
    await h.api.put(doc.slug, doc);
    const trainee = await db.trainee.findUniqueOrThrow({ where: { slug: doc.slug } });
    const before = await db.trnRequest.findMany({ where: { traineeId: trainee.id } });

    let release!: () => void;
    let locked!: () => void;
    const held = new Promise<void>((resolve) => (locked = resolve));
    const job = withTraineeLock(h.world.deps.pool, trainee.id, 60_000, async () => {
      locked();
      await new Promise<void>((resolve) => (release = resolve));
    });
    await held;
    const common = { db, slug: doc.slug, now: new Date(), actor: "test", lockWaitMs: 300 };
    for (const action of [
      () => resubmitForTrn({ ...common, trnPoll: h.world.config.trnPoll }),
      () => checkTrnNow(common),
      () => restartTrnPolling({ ...common, forMs: 86_400_000 }),
    ]) {
      await expect(action()).rejects.toThrow(/is busy: a job is talking to TRS for them right now\. Nothing was done; try again/);
    }
    expect(await db.trnRequest.findMany({ where: { traineeId: trainee.id } })).toEqual(before);
    expect(await db.syncEvent.count({ where: { traineeId: trainee.id, kind: { in: ["trn_resubmitted", "trn_check_requested"] } } })).toBe(
      0,
    );

    // once the job lets go, the same action goes through
    release();
    await job;
    await resubmitForTrn({ ...common, trnPoll: h.world.config.trnPoll });
    expect((await db.trnRequest.findMany({ where: { traineeId: trainee.id } })).map((r) => r.state).sort()).toEqual([
      "requested",
      "superseded",
    ]);
  });
});
