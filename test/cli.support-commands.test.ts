import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acceptTraineeDocument } from "../src/trainees/accept-document.js";
import { traineeDocumentSchema } from "../src/trainees/document.js";
import { createTestWorld, type TestWorld } from "./support/context.js";
import { traineeDoc } from "./support/documents.js";
import { movePendingTasks } from "./support/tasks.js";

const run = promisify(execFile);
let world: TestWorld;

beforeAll(async () => {
  world = await createTestWorld();
});
afterAll(async () => {
  await world.cleanup();
});

function cli(...args: string[]) {
  return run(process.execPath, ["--import", "tsx", "src/cli.ts", ...args], {
    env: {
      ...process.env,
      DATABASE_URL: world.config.databaseUrl,
      TRS_API_BASE_URL: "http://trs.test",
      TRS_API_KEY: "k",
      LOG_LEVEL: "silent",
    },
  });
}

async function timedOutTrainee() {
  const doc = traineeDocumentSchema.parse(traineeDoc());
  const accepted = await acceptTraineeDocument({
    prisma: world.deps.prisma,
    doc,
    now: new Date("2026-03-02T09:00:00Z"),
    trnPoll: world.config.trnPoll,
    updateDebounceMs: 0,
  });
  if (accepted.status === 409) throw new Error("refused");
  const traineeId = accepted.trainee.id;
  const request = await world.deps.prisma.trnRequest.findFirstOrThrow({ where: { traineeId } });
  await world.deps.prisma.trnRequest.update({ where: { id: request.id }, data: { state: "timed_out" } });
  await movePendingTasks(world.deps.prisma, { traineeId }, "succeeded");
  const poll = await world.deps.prisma.syncTask.create({
    data: { traineeId, kind: "poll_trn", phase: 0, state: "failed", trnRequestId: request.id, errorClass: "trn_request_timed_out" },
  });
  return { slug: doc.slug, request, poll };
}

// each command is a Node process of its own, started with tsx: seconds apiece on a busy machine
describe("npm run cli", { timeout: 120_000 }, () => {
  it("poll-trn restarts polling of a timed-out request with a new deadline", async () => {
    const { slug, request, poll } = await timedOutTrainee();
    const before = Date.now();
    const { stdout } = await cli("poll-trn", slug, "--for", "2d", "--actor", "Ann Support");
    expect(stdout).toContain(request.requestId);
    const after = await world.deps.prisma.trnRequest.findUniqueOrThrow({ where: { id: request.id } });
    expect(after.state).toBe("pending");
    expect(after.deadlineAt.getTime()).toBeGreaterThanOrEqual(before + 2 * 86_400_000);
    expect((await world.deps.prisma.syncTask.findUniqueOrThrow({ where: { id: poll.id } })).state).toBe("pending");
    const event = await world.deps.prisma.syncEvent.findFirstOrThrow({ where: { kind: "trn_polling_restarted" } });
    expect(event.message).toMatch(/^Ann Support restarted polling/);
    const audit = await world.deps.prisma.auditEntry.findFirstOrThrow({ where: { action: "extend-trn-deadline" } });
    expect(audit).toMatchObject({ actor: "Ann Support", targets: [`trainee:${slug}`], details: { via: "cli" } });
    expect(audit.result).toMatch(new RegExp(`^ok: polling request ${request.requestId} until `));
  });

  it("refuses a support command without --actor, with exit code 2, and does nothing", async () => {
    const { slug, request, poll } = await timedOutTrainee();
    const auditBefore = await world.deps.prisma.auditEntry.count();
    for (const args of [
      ["retry", String(poll.id)],
      ["retry", String(poll.id), "--actor"],
      ["cancel", String(poll.id), "--actor", "--reason", "x"],
      ["poll-trn", slug, "--for", "2d"],
      ["resubmit-trn", slug],
    ]) {
      const failure = await cli(...args).then(
        () => expect.unreachable(`${args.join(" ")} ran without an actor`),
        (error: { code: number; stderr: string }) => error,
      );
      expect(failure.code).toBe(2);
      expect(failure.stderr).toContain(`${args[0]} needs --actor NAME`);
    }
    expect((await world.deps.prisma.syncTask.findUniqueOrThrow({ where: { id: poll.id } })).state).toBe("failed");
    expect((await world.deps.prisma.trnRequest.findUniqueOrThrow({ where: { id: request.id } })).state).toBe("timed_out");
    expect(await world.deps.prisma.trnRequest.count({ where: { traineeId: request.traineeId } })).toBe(1);
    expect(await world.deps.prisma.auditEntry.count()).toBe(auditBefore);
  });

  it("says what is wrong with a bad duration or an unknown trainee", async () => {
    await expect(cli("poll-trn", "nobody", "--for", "2 days", "--actor", "ann")).rejects.toMatchObject({
      stderr: expect.stringContaining("--for takes a duration"),
    });
    await expect(cli("poll-trn", "nobody", "--actor", "ann")).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("no trainee with slug nobody"),
    });
    // a refusal is recorded too, with who tried
    const refused = await world.deps.prisma.auditEntry.findFirstOrThrow({ where: { targets: { has: "trainee:nobody" } } });
    expect(refused).toMatchObject({ actor: "ann", action: "extend-trn-deadline", result: expect.stringMatching(/^refused: no trainee/) });
  });

  it("retry runs the failed jobs before the given one first", async () => {
    const { poll } = await timedOutTrainee();
    const { stdout } = await cli("retry", String(poll.id), "--actor", "bob");
    expect(stdout).toContain(`poll_trn #${poll.id}`);
    expect((await world.deps.prisma.syncTask.findUniqueOrThrow({ where: { id: poll.id } })).state).toBe("pending");
    const audit = await world.deps.prisma.auditEntry.findFirstOrThrow({ where: { action: "retry", targets: { has: `task:${poll.id}` } } });
    expect(audit).toMatchObject({ actor: "bob", result: `ok: will run again: poll_trn #${poll.id}` });
  });

  it("cancel takes a failed job out of the trainee's line, with the reason on the timeline; it needs a reason", async () => {
    const { poll } = await timedOutTrainee();
    await expect(cli("cancel", String(poll.id), "--actor", "ann")).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining("--reason"),
    });
    const { stdout } = await cli("cancel", String(poll.id), "--reason", "TRS team allocated the TRN by hand", "--actor", "ann");
    expect(stdout).toContain(`cancelled poll_trn #${poll.id}`);
    expect((await world.deps.prisma.syncTask.findUniqueOrThrow({ where: { id: poll.id } })).state).toBe("cancelled");
    const event = await world.deps.prisma.syncEvent.findFirstOrThrow({ where: { kind: "poll_trn_cancelled", taskId: poll.id } });
    expect(event.message).toMatch(/^ann cancelled poll_trn #\d+ \(trn_request_timed_out\): TRS team allocated the TRN by hand/);
    const audit = await world.deps.prisma.auditEntry.findFirstOrThrow({ where: { action: "cancel", targets: { has: `task:${poll.id}` } } });
    expect(audit).toMatchObject({ actor: "ann", result: `ok: cancelled poll_trn #${poll.id}: TRS team allocated the TRN by hand` });
    await expect(cli("cancel", String(poll.id), "--reason", "again", "--actor", "ann")).rejects.toMatchObject({
      stderr: expect.stringContaining("only a failed job can be cancelled"),
    });
  });

  it("import says which file it cannot read", async () => {
    await expect(cli("import", "/no/such/file.jsonl")).rejects.toMatchObject({
      stderr: expect.stringContaining("no file /no/such/file.jsonl"),
    });
  });
});
