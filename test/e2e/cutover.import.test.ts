/**
 * Cutover from Register: `npm run cli -- import FILE` stores 100,000 trainees as Register left them,
 * sending nothing, refuses the lines it cannot take (with their line numbers), changes nothing when
 * run again, and an imported pending TRN request goes on being polled with its original id.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importFromRegister } from "../../src/trainees/import-from-register.js";
import { startHarness, type Harness } from "../support/harness.js";
import { traineeDoc } from "../support/documents.js";

const run = promisify(execFile);
const TRAINEES = 100_000;
const PENDING = 5;

let harness: Harness;
let dir: string;
beforeAll(async () => {
  harness = await startHarness({ startWorker: false });
  dir = await mkdtemp(path.join(tmpdir(), "trs-sync-import-"));
});
afterAll(async () => {
  await harness.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Register's state spread over the lines; the first PENDING are waiting for a TRN. */
function line(index: number, pendingIds: string[]): string {
  const slug = `reg-${index}`;
  const trn = String(4_000_000 + index);
  if (index < PENDING) {
    return JSON.stringify({
      document: traineeDoc({ slug, lastName: `Pending${index}` }),
      trnRequest: { requestId: pendingIds[index], submittedAt: "2026-11-30T09:00:00Z" },
    });
  }
  const states = ["trn_received", "deferred", "withdrawn", "awarded", "draft"] as const;
  const state = states[index % states.length]!;
  const extra =
    state === "withdrawn"
      ? { withdrawDate: "2026-10-01" }
      : state === "awarded"
        ? { outcomeDate: "2026-07-01" }
        : state === "draft"
          ? {}
          : {};
  return JSON.stringify({ document: traineeDoc({ slug, state, ...(state === "draft" ? {} : { trn }), ...extra }) });
}

async function* lines(texts: string[]) {
  for (const text of texts) yield text;
}

describe("import from Register", () => {
  const pendingIds = Array.from({ length: PENDING }, () => randomUUID());
  const file = () => path.join(dir, "register.jsonl");

  it(`stores ${TRAINEES.toLocaleString("en-GB")} trainees without sending anything, and reports the lines it refuses`, async () => {
    const texts = Array.from({ length: TRAINEES }, (_, i) => line(i, pendingIds));
    // four lines it must refuse, each for its own reason
    texts.push("{not json");
    texts.push(
      JSON.stringify({
        document: traineeDoc({ slug: "reg-rec", state: "recommended_for_award", trn: "4999999", outcomeDate: "2026-07-01" }),
      }),
    );
    texts.push(JSON.stringify({ document: traineeDoc({ slug: "reg-dup-trn", state: "trn_received", trn: String(4_000_000 + PENDING) }) }));
    texts.push(
      JSON.stringify({ document: traineeDoc({ slug: "reg-bad", state: "trn_received", trn: "4999998", ittQualificationAim: "PGCert" }) }),
    );
    await writeFile(file(), texts.join("\n") + "\n");

    const started = performance.now();
    const report = await importFromRegister({
      db: harness.world.deps.prisma,
      lines: lines(texts),
      now: new Date(),
      trnPoll: harness.world.config.trnPoll,
    });
    const seconds = (performance.now() - started) / 1000;
    console.log(`import: ${TRAINEES} trainees in ${seconds.toFixed(1)} s, ${Math.round(TRAINEES / seconds)} lines/s`);

    expect(report).toMatchObject({ read: TRAINEES + 4, imported: TRAINEES, unchanged: 0, polling: PENDING });
    expect(report.refused.map((r) => [r.line, Object.keys(r.errors)])).toEqual([
      [TRAINEES + 1, ["line"]],
      [TRAINEES + 2, ["document.state"]],
      [TRAINEES + 3, ["document.trn"]],
      [TRAINEES + 4, ["document.ittQualificationAim"]],
    ]);
    const { prisma } = harness.world.deps;
    expect(await prisma.trainee.count()).toBe(TRAINEES);
    expect(await prisma.syncTask.count()).toBe(PENDING); // the polls, nothing else
    expect(await prisma.syncEvent.count({ where: { kind: "trainee_imported" } })).toBe(TRAINEES);
    expect(harness.sandbox.requestLog()).toEqual([]);
    expect(await prisma.trainee.findUniqueOrThrow({ where: { slug: "reg-13" } })).toMatchObject({ state: "awarded", trn: "4000013" });
  }, 240_000);

  it("changes nothing when run again (the CLI, on the same file's first lines)", async () => {
    const head = path.join(dir, "head.jsonl");
    await writeFile(head, Array.from({ length: 50 }, (_, i) => line(i, pendingIds)).join("\n"));
    const { stdout } = await run(process.execPath, ["--import", "tsx", "src/cli.ts", "import", head], {
      env: {
        ...process.env,
        DATABASE_URL: harness.world.config.databaseUrl,
        TRS_API_BASE_URL: "http://127.0.0.1:1",
        TRS_API_KEY: "k",
        LOG_LEVEL: "silent",
      },
    });
    expect(stdout).toMatch(
      /^50 read, 0 imported, 50 already imported, 0 refused; 0 pending TRN requests go on being polled; \d+ lines\/s$/m,
    );
    expect(await harness.world.deps.prisma.trainee.count()).toBe(TRAINEES);
  });

  it("goes on polling an imported pending request with its original id, and stores the TRN", async () => {
    harness.sandbox.seedTrnRequest({
      requestId: pendingIds[0]!,
      person: {
        firstName: "Ada",
        middleName: null,
        lastName: "Pending0",
        dateOfBirth: "1990-12-10",
        emailAddress: null,
        nationalInsuranceNumber: null,
        gender: "Female",
      },
    });
    harness.sandbox.completeTrnRequest(pendingIds[0]!);
    await harness.startWorker();
    const t = await harness.waitFor(
      "imported request answered",
      async () => {
        const x = await harness.trainee("reg-0");
        return x.trn ? x : null;
      },
      60_000,
    );
    expect(t.state).toBe("trn_received");
    const polled = harness.sandbox.requestLog().filter((r) => r.method === "GET" && r.path === "/v3/trn-requests");
    expect(polled.map((r) => r.query.requestId)).toContain(pendingIds[0]);
    expect(harness.sandbox.requestLog().filter((r) => r.method === "POST")).toEqual([]); // no new TRN request
  }, 90_000);
});
