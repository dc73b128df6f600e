/**
 * A stand-in for a worker in the middle of a job: takes a trainee's lock (the real withTraineeLock)
 * and never finishes. A test freezes this process (SIGSTOP) as if its host had vanished.
 * Env: DATABASE_URL, TRAINEE_ID, LIFETIME_MS.
 */
import pg from "pg";
import { withTraineeLock } from "../../src/jobs/trainee-lock.js";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL! });
await withTraineeLock(pool, process.env.TRAINEE_ID!, Number(process.env.LIFETIME_MS), async () => {
  process.stdout.write("locked\n");
  await new Promise(() => {}); // the job never ends
});
