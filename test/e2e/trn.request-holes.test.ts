/**
 * One TRN request per trainee, whatever happens around it: an answer that might mean "received"
 * never leads to a second request id; re-submitting while a request is polled, or while its
 * register job waits to retry, sends the new request at once and leaves nothing polling the old
 * one; restarting polling polls now; a poll in flight never undoes an extended deadline.
 * On TRS and on DQT.
 */
import { afterEach, describe, expect, it } from "vitest";
import { unexpectedResponse } from "../../src/clients/http.js";
import type { TeacherRecordsClient } from "../../src/clients/teacher-records.js";
import { queueControl } from "../../src/jobs/enqueue.js";
import { taskJobId } from "../../src/jobs/queues.js";
import { restartTrnPolling, resubmitForTrn } from "../../src/trainees/support-actions.js";
import { startHarness, type Harness } from "../support/harness.js";
import { traineeDoc } from "../support/documents.js";
import { gate, wrapClient } from "../support/wrap-client.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

type Api = "trs" | "dqt";
/** How each API's TRN request endpoint looks in the sandbox log. */
const trnRequestPath = { trs: "^/v3/trn-requests$", dqt: "^/v2/trn-requests/" } as const;
const registerMethod = { trs: "POST", dqt: "PUT" } as const;

/** The request ids the worker sent with each register call, in order. */
function recordRegisterCalls(onCall?: (api: TeacherRecordsClient, requestId: string) => void) {
  const sent: string[] = [];
  const wrap = (api: TeacherRecordsClient) =>
    wrapClient(api, {
      async requestTrn(requestId, trainee) {
        sent.push(requestId);
        onCall?.(api, requestId);
        return api.requestTrn(requestId, trainee);
      },
    });
  return { sent, wrap };
}

const TRN = async (h: Harness, slug: string) => h.waitFor("TRN", async () => (await h.trainee(slug)).trn, 30_000);

async function requestsOf(h: Harness, slug: string) {
  return h.world.deps.prisma.trnRequest.findMany({ where: { trainee: { slug } }, orderBy: { createdAt: "asc" } });
}

function support(h: Harness) {
  return { db: h.world.deps.prisma, now: new Date(), actor: "test", queue: queueControl(h.world.queues) };
}

describe.each(["trs", "dqt"] as const)("TRN requests on %s", (api: Api) => {
  it("an unreadable 2xx to the TRN request sends the same id again, never a second request", async () => {
    let lose = true;
    const calls = recordRegisterCalls();
    harness = await startHarness({
      api,
      wrapApi: (client) =>
        calls.wrap(
          wrapClient(client, {
            async requestTrn(requestId, trainee) {
              const answer = await client.requestTrn(requestId, trainee); // TRS stored it…
              if (!lose) return answer;
              lose = false; // …but the answer could not be read
              throw unexpectedResponse(
                { status: 200, method: "POST", endpoint: "/v3/trn-requests", text: "<html>" },
                "the body is not JSON",
              );
            },
          }),
        ),
    });
    const doc = traineeDoc();
    await harness.api.put(doc.slug, doc);
    await TRN(harness, doc.slug);
    expect(calls.sent).toHaveLength(2);
    expect(new Set(calls.sent).size).toBe(1);
    expect((await requestsOf(harness, doc.slug)).map((r) => r.state)).toEqual(["received"]);
    expect((await harness.trainee(doc.slug)).sync.failed).toEqual([]);
    const events = (await harness.api.timeline(doc.slug)).body.events as { kind: string; errorClass: string | null }[];
    expect(events.find((e) => e.kind === "register_for_trn_failed")?.errorClass).toBe("trn_request_unconfirmed");
  });

  it.each([408, 302])("a %s to the TRN request sends the same id again", async (status) => {
    const calls = recordRegisterCalls();
    harness = await startHarness({ api, wrapApi: calls.wrap });
    harness.sandbox.injectFault({
      method: registerMethod[api],
      path: trnRequestPath[api],
      status,
      ...(status === 302 ? { headers: { location: "https://elsewhere.test/" } } : {}),
    });
    const doc = traineeDoc();
    await harness.api.put(doc.slug, doc);
    await TRN(harness, doc.slug);
    expect(calls.sent).toHaveLength(2);
    expect(new Set(calls.sent).size).toBe(1);
    expect(await requestsOf(harness, doc.slug)).toHaveLength(1);
  });

  it("re-submitting while a request is polled closes it, stops its poll and sends the new request at once, with no alert", async () => {
    const calls = recordRegisterCalls();
    // the first poll waits for the deadline (1 h interval, 4 s deadline): the poll job sits delayed
    harness = await startHarness({
      api,
      wrapApi: calls.wrap,
      env: { TRN_POLL_FIRST_DELAY: "1h", TRN_POLL_MAX_INTERVAL: "2h", TRN_POLL_TIMEOUT: "4s" },
    });
    const h = harness;
    const doc = traineeDoc({ lastName: "Stuck +stuck" });
    await h.api.put(doc.slug, doc);
    const poll = await h.waitFor("poll queued", async () =>
      h.world.deps.prisma.syncTask.findFirst({ where: { trainee: { slug: doc.slug }, kind: "poll_trn", state: "queued" } }),
    );
    const [old] = await requestsOf(h, doc.slug);

    await resubmitForTrn({ ...support(h), slug: doc.slug, trnPoll: h.world.config.trnPoll });
    await h.waitFor("the new request sent", async () => calls.sent.length === 2);
    expect(calls.sent[1]).not.toBe(old!.requestId);
    expect((await h.world.deps.prisma.syncTask.findUniqueOrThrow({ where: { id: poll.id } })).state).toBe("cancelled");
    expect(await h.world.queues.teacherRecords.getJob(taskJobId("poll_trn", poll.id))).toBeUndefined();

    const fresh = (await requestsOf(h, doc.slug))[1]!;
    h.sandbox.completeTrnRequest(fresh.requestId);
    await TRN(h, doc.slug);
    // the old deadline has passed by now: nothing polled the old request, nothing alerted
    await h.waitFor("old deadline passed", async () => Date.now() > old!.deadlineAt.getTime() + 500);
    expect((await requestsOf(h, doc.slug)).map((r) => r.state)).toEqual(["superseded", "received"]);
    expect(await h.world.deps.prisma.alert.count()).toBe(0);
    expect(h.slack.accepted).toEqual([]);
    const polledIds = h.sandbox
      .requestLog()
      .filter((r) => r.method === "GET" && new RegExp(trnRequestPath[api].replace("$", "")).test(r.path))
      .map((r) => r.query.requestId ?? r.path.split("/").pop());
    expect(polledIds).not.toContain(old!.requestId);
  });

  it("re-submitting while the register job waits to retry sends the new request at once", async () => {
    const calls = recordRegisterCalls();
    // a failed attempt is retried only after an hour
    harness = await startHarness({ api, wrapApi: calls.wrap, env: { JOB_RETRY_BASE_DELAY: "1h" } });
    const h = harness;
    h.sandbox.injectFault({ method: registerMethod[api], path: trnRequestPath[api], status: 503 });
    const doc = traineeDoc();
    await h.api.put(doc.slug, doc);
    await h.waitFor("register waiting to retry", async () =>
      h.world.deps.prisma.syncTask.findFirst({
        where: { trainee: { slug: doc.slug }, kind: "register_for_trn", state: "queued", errorClass: "api_unavailable" },
      }),
    );

    await resubmitForTrn({ ...support(h), slug: doc.slug, trnPoll: h.world.config.trnPoll });
    await TRN(h, doc.slug);
    expect(calls.sent).toHaveLength(2);
    expect(calls.sent[0]).not.toBe(calls.sent[1]);
    expect((await requestsOf(h, doc.slug)).map((r) => r.state)).toEqual(["superseded", "received"]);
    // the TRN is stored inside the register job; the job records its own success a moment later
    const states = async () =>
      (
        await h.world.deps.prisma.syncTask.findMany({
          where: { trainee: { slug: doc.slug }, kind: "register_for_trn" },
          orderBy: { id: "asc" },
        })
      ).map((t) => t.state);
    await h.waitFor("the register job finished", async () => !(await states()).includes("running"));
    expect(await states()).toEqual(["cancelled", "succeeded"]);
    const events = (await h.api.timeline(doc.slug)).body.events as { errorClass: string | null }[];
    expect(events.filter((e) => e.errorClass === "internal_error" || e.errorClass === "database_error")).toEqual([]);
  });

  it("restarting polling polls at once, not when the delayed poll was due", async () => {
    harness = await startHarness({ api, env: { TRN_POLL_FIRST_DELAY: "1h", TRN_POLL_MAX_INTERVAL: "2h" } });
    const h = harness;
    const doc = traineeDoc({ lastName: "Stuck +stuck" });
    await h.api.put(doc.slug, doc);
    await h.waitFor("poll queued", async () =>
      h.world.deps.prisma.syncTask.findFirst({ where: { trainee: { slug: doc.slug }, kind: "poll_trn", state: "queued" } }),
    );
    const [request] = await requestsOf(h, doc.slug);
    h.sandbox.completeTrnRequest(request!.requestId);
    await restartTrnPolling({ ...support(h), slug: doc.slug, forMs: 4 * 86_400_000 });
    await TRN(h, doc.slug);
  });

  it("support extending the deadline while a poll is in flight waits for that poll, then its new deadline holds", async () => {
    const inFlight = gate();
    // later polls ask TRS only once the test has looked at the request and TRS has the TRN, so
    // none of them can find the request still pending and wait for the next poll, 30 s away
    const laterPolls = gate();
    let polls = 0;
    harness = await startHarness({
      api,
      // the first poll is due at the deadline itself
      env: { TRN_POLL_FIRST_DELAY: "1h", TRN_POLL_MAX_INTERVAL: "2h", TRN_POLL_TIMEOUT: "1s" },
      wrapApi: (client) =>
        wrapClient(client, {
          async getTrnRequest(requestId) {
            if (++polls === 1) {
              const answer = await client.getTrnRequest(requestId);
              await inFlight.wait(); // the first poll's answer arrives only after support acted
              return answer;
            }
            await laterPolls.wait();
            return client.getTrnRequest(requestId);
          },
        }),
    });
    const h = harness;
    const doc = traineeDoc({ lastName: "Stuck +stuck" });
    await h.api.put(doc.slug, doc);
    await h.waitFor("the poll at the deadline in flight", async () => inFlight.waiting() === 1);
    const [request] = await requestsOf(h, doc.slug);

    // a new deadline 30 s ahead; the action waits for the trainee's lock, which the poll holds
    let pollReleased = false;
    let actedBeforeRelease: boolean | undefined;
    const restarted = restartTrnPolling({ ...support(h), slug: doc.slug, forMs: 30_000 }).then((result) => {
      actedBeforeRelease = !pollReleased;
      return result;
    });
    await h.waitFor("the support action waiting for the trainee's lock", async () => {
      const rows = await h.world.deps.prisma.$queryRaw<{ n: bigint }[]>`
        SELECT count(*) AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database
        WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()`;
      return Number(rows[0]!.n) >= 1 || actedBeforeRelease !== undefined;
    });
    pollReleased = true;
    inFlight.open();
    const { deadlineAt } = await restarted;
    expect(actedBeforeRelease).toBe(false);

    // the poll that was in flight could not undo the new deadline: the request is pending again
    const after = await h.world.deps.prisma.trnRequest.findUniqueOrThrow({ where: { id: request!.id } });
    expect(after).toMatchObject({ state: "pending", deadlineAt });
    expect(after.pollCount).toBeGreaterThanOrEqual(1);
    h.sandbox.completeTrnRequest(request!.requestId);
    laterPolls.open(); // the poll the restart asked for now finds the TRN
    await TRN(h, doc.slug);
    expect((await h.world.deps.prisma.trnRequest.findUniqueOrThrow({ where: { id: request!.id } })).state).toBe("received");
    expect((await h.trainee(doc.slug)).sync.failed).toEqual([]);
  });
});
