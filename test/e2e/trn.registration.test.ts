/**
 * TRN registration and polling through real workers, the sandbox TRS API and a Slack stand-in.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { TeacherRecordsClient } from "../../src/clients/teacher-records.js";
import { ApiError } from "../../src/clients/api-error.js";
import { reconcileOnce } from "../../src/jobs/reconciler.js";
import { startHarness, type Harness } from "../support/harness.js";
import { traineeDoc } from "../support/documents.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

const trnRequests = (h: Harness) => h.sandbox.requestLog().filter((r) => r.path.startsWith("/v3/trn-requests"));

describe("register-for-trn and poll-trn", () => {
  it("stores a TRN that TRS completes at once, then sends the training details", async () => {
    harness = await startHarness();
    const doc = traineeDoc();
    expect((await harness.api.put(doc.slug, doc)).status).toBe(201);
    const trainee = await harness.waitFor("trn_received", async () => {
      const t = await harness!.trainee(doc.slug);
      return t.state === "trn_received" && t.trn ? t : null;
    });
    expect(trainee.trn).toMatch(/^\d{7}$/);
    await harness.waitFor("update sent", async () => (await harness!.trainee(doc.slug)).sync.pending.length === 0);
    const calls = harness.sandbox.requestLog().map((r) => `${r.method} ${r.path.replace(/\d{7}/, "{trn}").replace(doc.slug, "{slug}")}`);
    expect(calls).toEqual([
      "POST /v3/trn-requests",
      "PUT /v3/persons/{trn}",
      "PUT /v3/persons/{trn}/routes-to-professional-statuses/{slug}",
    ]);
    const timeline = (await harness.api.timeline(doc.slug)).body.events.map((e: { kind: string }) => e.kind);
    // TRS refuses personal-detail updates of a person it created now (10041): counted as accepted
    expect(timeline).toEqual(["trainee_created", "trn_requested", "trn_received", "update_ignored", "update_sent"]);
  });

  it("polls a pending request until TRS completes it", async () => {
    harness = await startHarness({ sandbox: { pendingCompletesAfterMs: 500 } });
    const doc = traineeDoc({ lastName: "Pending +pending" });
    await harness.api.put(doc.slug, doc);
    const trainee = await harness.waitFor("TRN after polling", async () => {
      const t = await harness!.trainee(doc.slug);
      return t.trn ? t : null;
    });
    expect(trainee.state).toBe("trn_received");
    const requests = trnRequests(harness);
    expect(requests[0]!.method).toBe("POST");
    expect(requests.slice(1).every((r) => r.method === "GET")).toBe(true);
    expect(requests.length).toBeGreaterThanOrEqual(2);
    // one TRN request id throughout
    const ids = new Set(requests.map((r) => (r.method === "POST" ? (r.body as { requestId: string }).requestId : r.query.requestId)));
    expect(ids.size).toBe(1);
    const row = await harness.world.deps.prisma.trnRequest.findFirstOrThrow({ where: { requestId: [...ids][0]! } });
    expect(row).toMatchObject({ state: "received", trn: trainee.trn, activeTraineeId: null });
    expect(row.pollCount).toBe(requests.length - 1);
  });

  it("times out at the deadline with exactly one Slack alert, and support can restart polling", async () => {
    harness = await startHarness({ env: { TRN_POLL_TIMEOUT: "1500ms" } });
    const doc = traineeDoc({ lastName: "Stuck +stuck" });
    await harness.api.put(doc.slug, doc);
    const failed = await harness.waitFor("poll-trn failed", async () => {
      const t = await harness!.trainee(doc.slug);
      return t.sync.failed.find((f) => f.jobType === "poll-trn");
    });
    expect(failed.errorClass).toBe("trn_request_timed_out");
    await harness.waitFor("alert sent", async () => harness!.slack.accepted.length === 1);
    // Slack answered; the worker marks the alert sent right after: wait for the row, not the reply
    await harness.waitFor(
      "alert marked sent",
      async () => (await harness!.world.deps.prisma.alert.count({ where: { state: "sent" } })) === 1,
    );
    // nothing sends it again: another dispatch and reconcile pass find nothing to do
    await reconcileOnce(harness.world.deps, { graceMs: 0 });
    expect(await harness.world.deps.prisma.alert.count({ where: { state: "sent" } })).toBe(1);
    const message = harness.slack.accepted[0]!;
    expect(message.text).toContain(doc.slug);
    expect(message.text).toContain("0 days");
    const request = await harness.world.deps.prisma.trnRequest.findFirstOrThrow({ where: { trainee: { slug: doc.slug } } });
    expect(request.state).toBe("timed_out");
    expect(message.text).toContain(request.requestId);
    expect(JSON.stringify(message.blocks)).toContain(`http://trs-sync.test/admin/trainees/${doc.slug}`);

    // support asks TRS, TRS completes it, support restarts polling
    const { restartTrnPolling } = await import("../../src/trainees/support-actions.js");
    harness.sandbox.completeTrnRequest(request.requestId);
    await restartTrnPolling({ db: harness.world.deps.prisma, slug: doc.slug, forMs: 60_000, now: new Date(), actor: "test" });
    const trainee = await harness.waitFor("TRN after restart", async () => {
      const t = await harness!.trainee(doc.slug);
      return t.trn ? t : null;
    });
    expect(trainee.state).toBe("trn_received");
    expect(harness.slack.accepted).toHaveLength(1);
  });

  it("a lost answer to the TRN request creates no second request id: TRS's 409 10029 leads to polling", async () => {
    let lose = true;
    harness = await startHarness({
      wrapApi: (api): TeacherRecordsClient => ({
        ...api,
        planSync: api.planSync.bind(api),
        send: api.send.bind(api),
        awardDateFrom: api.awardDateFrom.bind(api),
        getPerson: api.getPerson.bind(api),
        getTrnRequest: api.getTrnRequest.bind(api),
        kind: api.kind,
        async requestTrn(requestId, trainee) {
          const result = await api.requestTrn(requestId, trainee);
          if (lose) {
            lose = false; // the request reached TRS; the worker never saw the answer
            throw new ApiError({ status: 0, method: "POST", endpoint: "/v3/trn-requests", networkCode: "ECONNRESET" });
          }
          return result;
        },
      }),
    });
    const doc = traineeDoc();
    await harness.api.put(doc.slug, doc);
    const trainee = await harness.waitFor("TRN", async () => {
      const t = await harness!.trainee(doc.slug);
      return t.trn ? t : null;
    });
    expect(trainee.state).toBe("trn_received");
    const posts = trnRequests(harness).filter((r) => r.method === "POST");
    expect(posts.map((r) => r.status)).toEqual([200, 409]);
    expect(new Set(posts.map((r) => (r.body as { requestId: string }).requestId)).size).toBe(1);
    expect(await harness.world.deps.prisma.trnRequest.count()).toBe(1);
  });

  it("delivers an alert once when Slack is down and then back", async () => {
    harness = await startHarness({ env: { TRN_POLL_TIMEOUT: "300ms" } });
    harness.slack.failNext(3);
    const doc = traineeDoc({ lastName: "Stuck +stuck" });
    await harness.api.put(doc.slug, doc);
    await harness.waitFor("alert delivered", async () => harness!.slack.accepted.length === 1);
    expect(harness.slack.requests()).toBe(4);
    const alert = await harness.waitFor("alert marked sent", async () =>
      harness!.world.deps.prisma.alert.findFirst({ where: { state: "sent" } }),
    );
    expect(alert).toMatchObject({ state: "sent", attempts: 4 });
    // the poll job itself failed only for the timeout, not because of Slack
    const t = await harness.trainee(doc.slug);
    expect(t.sync.failed.map((f) => f.errorClass)).toEqual(["trn_request_timed_out"]);
  });

  it("records TRS not knowing the request (404 10031) as its own failure", async () => {
    harness = await startHarness();
    harness.sandbox.injectFault({
      method: "GET",
      path: "^/v3/trn-requests$",
      status: 404,
      body: { title: "TRN request does not exist.", status: 404, detail: "TRN request ID: 'x'", errorCode: 10031 },
      times: 1,
    });
    const doc = traineeDoc({ lastName: "Lost +pending" });
    await harness.api.put(doc.slug, doc);
    const failed = await harness.waitFor("poll failed", async () => (await harness!.trainee(doc.slug)).sync.failed[0]);
    expect(failed).toMatchObject({ jobType: "poll-trn", errorClass: "trn_request_unknown" });
    const request = await harness.world.deps.prisma.trnRequest.findFirstOrThrow();
    expect(request.state).toBe("failed");
  });

  it("re-submitting after a refused request opens a new request id with a deadline counted from then", async () => {
    harness = await startHarness();
    const doc = traineeDoc({ lastName: "Refused +reject" });
    await harness.api.put(doc.slug, doc);
    const failed = await harness.waitFor("register failed", async () => (await harness!.trainee(doc.slug)).sync.failed[0]);
    expect(failed).toMatchObject({ jobType: "register-for-trn", errorClass: "validation_failed" });
    const first = await harness.world.deps.prisma.trnRequest.findFirstOrThrow();
    expect(first).toMatchObject({ state: "failed", activeTraineeId: null });

    // upstream corrects the record, support re-submits
    await harness.api.put(doc.slug, { ...doc, lastName: "Refused" });
    const { resubmitForTrn } = await import("../../src/trainees/support-actions.js");
    const at = new Date();
    await resubmitForTrn({ db: harness.world.deps.prisma, slug: doc.slug, now: at, trnPoll: harness.world.config.trnPoll, actor: "test" });
    const t = await harness.waitFor("TRN", async () => {
      const x = await harness!.trainee(doc.slug);
      return x.trn ? x : null;
    });
    expect(t.sync.failed).toEqual([]);
    const requests = await harness.world.deps.prisma.trnRequest.findMany({ orderBy: { createdAt: "asc" } });
    expect(requests).toHaveLength(2);
    expect(requests[1]!.requestId).not.toBe(requests[0]!.requestId);
    expect(requests[1]!.state).toBe("received");
    expect(requests[1]!.deadlineAt.getTime() - at.getTime()).toBe(harness.world.config.trnPoll.timeoutMs);
  });
});
