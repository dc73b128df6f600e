/**
 * Test fixtures that put sync tasks into a state. They walk the moves a real task makes
 * (pending → queued → running → outcome), because the database refuses any other move.
 */
import type { Db } from "../../src/deps.js";
import type { Prisma, SyncTaskState } from "../../src/generated/prisma/client.js";

const pathTo: Partial<Record<SyncTaskState, SyncTaskState[]>> = {
  queued: ["queued"],
  running: ["queued", "running"],
  succeeded: ["queued", "running", "succeeded"],
  failed: ["queued", "running", "failed"],
};

/** Moves the pending tasks matching `where` to `state`, the last step also writing `data`. */
export async function movePendingTasks(
  prisma: Db,
  where: Prisma.SyncTaskWhereInput,
  state: keyof typeof pathTo,
  data: Omit<Prisma.SyncTaskUpdateManyMutationInput, "state"> = {},
): Promise<number> {
  const ids = (await prisma.syncTask.findMany({ where: { AND: [where, { state: "pending" }] }, select: { id: true } })).map((t) => t.id);
  const steps = pathTo[state]!;
  for (const [index, step] of steps.entries()) {
    await prisma.syncTask.updateMany({ where: { id: { in: ids } }, data: { state: step, ...(index === steps.length - 1 ? data : {}) } });
  }
  return ids.length;
}
