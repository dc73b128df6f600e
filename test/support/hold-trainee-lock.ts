/**
 * A stand-in for a worker in the middle of a job: takes a trainee's lock (the real withTraineeLock)
 * and never finishes. A test freezes this process (SIGSTOP) as if its host had vanished.
 * Env: DATABASE_URL, TRAINEE_ID, LIFETIME_MS.
 */
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../../src/generated/prisma/client.js";
import { withTraineeLock } from "../../src/jobs/trainee-lock.js";

const db = new PrismaClient({ adapter: new PrismaPg({ connectionString: process.env.DATABASE_URL! }) });
await withTraineeLock(db, process.env.TRAINEE_ID!, Number(process.env.LIFETIME_MS), async () => {
  process.stdout.write("locked\n");
  await new Promise(() => {}); // the job never ends
});
