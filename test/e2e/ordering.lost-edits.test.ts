/**
 * No edit is lost when edits arrive while updates run: two real `worker` processes, a short
 * UPDATE_DEBOUNCE, slow API calls and bursts of edits to many trainees at once. When everything
 * has settled, the teacher records API holds every trainee's last edit. On TRS and on DQT.
 */
import type { ChildProcess } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../support/harness.js";
import { spawnWorker } from "../support/worker-process.js";
import { traineeDoc } from "../support/documents.js";
import { stopChildren } from "../support/children.js";

let harness: Harness | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  await stopChildren(children.splice(0));
  await harness?.stop();
  harness = undefined;
});

const TRAINEES = 10;
const EDITS = 8;

describe.each(["trs", "dqt"] as const)("bursts of edits while updates run (%s)", (api) => {
  it("end with the API holding every trainee's last edit", async () => {
    harness = await startHarness({ api, startWorker: false, sandbox: { slowMs: 60 }, env: { UPDATE_DEBOUNCE: "30ms" } });
    const h = harness;
    children.push(await spawnWorker(h), await spawnWorker(h));
    const docs = Array.from({ length: TRAINEES }, (_, i) => traineeDoc({ lastName: `Burst${i} +slow +legacy` }));
    for (const doc of docs) await h.api.put(doc.slug, doc);
    const withTrn = await Promise.all(
      docs.map(async (doc) => ({
        ...doc,
        state: "trn_received",
        trn: await h.waitFor("TRN", async () => (await h.trainee(doc.slug)).trn, 30_000),
      })),
    );

    // every trainee gets a burst of edits, all trainees at once, spaced so that some land while an
    // update is talking to the API and some while it waits in the queue
    await Promise.all(
      withTrn.map(async (doc, t) => {
        for (let edit = 1; edit <= EDITS; edit++) {
          const response = await h.api.put(doc.slug, { ...doc, firstNames: `Edit${edit}` });
          expect(response.status).toBe(200);
          await new Promise((resolve) => setTimeout(resolve, ((t + edit) * 17) % 90));
        }
      }),
    );
    for (const doc of withTrn) {
      await h.waitFor(
        `${doc.slug} settled`,
        async () => {
          const t = await h.trainee(doc.slug);
          return t.sync.pending.length === 0 && t.sync.failed.length === 0;
        },
        60_000,
      );
    }
    const held = new Map(h.sandbox.persons().map((p) => [p.trn, p.firstName]));
    expect(withTrn.map((doc) => held.get(doc.trn!))).toEqual(withTrn.map(() => `Edit${EDITS}`));
  }, 150_000);
});
