/**
 * Preloaded into the bench's worker processes (`node --import ./bench/round-trips.ts`): counts the
 * statements sent to Postgres (every pg Client#query: Prisma's driver adapter and raw pg alike, a
 * transaction's BEGIN and COMMIT included) and the round trips to Redis (every ioredis
 * sendCommand, except that a pipeline's or MULTI's commands, written together, count once; the
 * commands themselves are counted too). Neither figure depends on how busy the machine is. The
 * parent reads and resets them over IPC (bench/ipc.ts).
 */
import pg from "pg";
import { Redis } from "ioredis";
import { serveParent } from "./ipc.js";

const counts = { pg: 0, redis: 0, redisCommands: 0 };
/** ioredis hands each command of a pipeline to sendCommand with the pipeline's own stream */
const pipelines = new WeakSet<object>();

const clientPrototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
const query = clientPrototype.query;
clientPrototype.query = function countedQuery(this: unknown, ...args: unknown[]) {
  counts.pg++;
  return query.apply(this, args);
};

const redisPrototype = Redis.prototype as unknown as { sendCommand: (...args: unknown[]) => unknown };
const sendCommand = redisPrototype.sendCommand;
redisPrototype.sendCommand = function countedCommand(this: unknown, ...args: unknown[]) {
  counts.redisCommands++;
  const stream = args[1] as { isPipeline?: boolean } | undefined;
  if (!stream?.isPipeline) counts.redis++;
  else if (!pipelines.has(stream)) {
    pipelines.add(stream);
    counts.redis++;
  }
  return sendCommand.apply(this, args);
};

serveParent((command) => {
  if (command === "round-trips") return { ...counts };
  if (command === "reset-round-trips") {
    counts.pg = 0;
    counts.redis = 0;
    counts.redisCommands = 0;
    return { ...counts };
  }
  throw new Error(`unknown command ${command}`);
});
