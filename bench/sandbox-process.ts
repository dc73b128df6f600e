/**
 * The sandbox TRS API in a process of its own (so that its CPU is not the bench's or a worker's),
 * driven over IPC: `reset`, `seed-persons` (people TRS holds already) and `requests` (the request
 * log, compacted to what the scenarios read: arrival time in ms, method, path, status, and the
 * last name of a TRN request's person, which identifies the trainee).
 */
import { createSandbox } from "../src/sandbox/server.js";
import type { SeedPerson } from "../src/sandbox/server.js";
import { serveParent } from "./ipc.js";

export type CompactRequest = [atMs: number, method: string, path: string, status: number, lastName: string | null];

const sandbox = createSandbox({ pendingCompletesAfterMs: 1_000 });
const url = await sandbox.listen(0);

serveParent((command, argument) => {
  switch (command) {
    case "reset":
      sandbox.reset();
      return null;
    case "seed-persons":
      for (const person of argument as SeedPerson[]) sandbox.seedPerson(person);
      return (argument as unknown[]).length;
    case "count":
      return sandbox.requestLog().length;
    case "requests":
      return sandbox.requestLog().map((entry): CompactRequest => {
        const body = entry.body as { person?: { lastName?: string } } | null;
        return [Date.parse(entry.at), entry.method, entry.path, entry.status, body?.person?.lastName ?? null];
      });
    default:
      throw new Error(`unknown command ${command}`);
  }
});
process.send?.({ ready: url });
process.on("disconnect", () => process.exit(0));
