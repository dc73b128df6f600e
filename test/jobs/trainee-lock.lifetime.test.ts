/**
 * A worker whose host vanishes mid-job (frozen here with SIGSTOP: its TCP connection stays open,
 * its timers never fire) must not keep the trainee's lock for hours: Postgres ends the lock's
 * session once it has been idle for the lock's lifetime, and another job can take the trainee.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lockLifetimeMs } from "../../src/jobs/trainee-lock.js";
import { createTestWorld, eventually, type TestWorld } from "../support/context.js";

let world: TestWorld;
let child: ChildProcess | undefined;
beforeAll(async () => {
  world = await createTestWorld();
});
afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child!.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }
  await world.cleanup();
});

/** Takes the trainee's lock from the test's own connection if it is free (and lets it go again). */
async function lockIsFree(traineeId: string): Promise<boolean> {
  return world.deps.prisma.$transaction(async (tx) => {
    const [row] = await tx.$queryRaw<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(7318, hashtext(${traineeId})) AS locked`;
    return row?.locked === true;
  });
}

describe("the trainee lock", () => {
  it("lasts as long as the calls a job makes may take, plus one timeout for its writes", () => {
    expect(lockLifetimeMs(2, 30_000)).toBe(90_000);
    expect(lockLifetimeMs(2, 30_000, 10_000)).toBe(110_000); // each call may first wait for a request slot
    expect(lockLifetimeMs(1, 150_000)).toBeGreaterThan(2 * 150_000 - 1); // no longer shorter than two slow calls
  });

  it("is released by Postgres when the worker holding it freezes", async () => {
    const traineeId = randomUUID();
    child = spawn(process.execPath, ["--import", "tsx", "test/support/hold-trainee-lock.ts"], {
      env: { ...process.env, DATABASE_URL: world.config.databaseUrl, TRAINEE_ID: traineeId, LIFETIME_MS: "8000" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve, reject) => {
      child!.stdout!.on("data", (chunk: Buffer) => chunk.toString().includes("locked") && resolve());
      child!.once("exit", (code) => reject(new Error(`the lock holder exited with ${code}`)));
    });
    // the lifetime is long enough for this check to come first on a busy machine
    expect(await lockIsFree(traineeId)).toBe(false);
    child.kill("SIGSTOP"); // the host is gone; its connection is not closed
    await eventually(() => lockIsFree(traineeId), { what: "the lock released by Postgres", timeoutMs: 40_000 });
  }, 60_000);
});
