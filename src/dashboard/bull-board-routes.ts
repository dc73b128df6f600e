/**
 * Every route by which Bull Board (@bull-board/api 9.10, node_modules/@bull-board/api/dist/routes.js)
 * changes anything, each with the name it is recorded under in the audit log. A write request under
 * /admin/queues that is none of these is answered 400 and never reaches the board, so a Bull Board
 * upgrade that adds a write route cannot act unrecorded: a test compares this table with the
 * installed package's and fails until the new route is named here.
 *
 * Listed in Bull Board's own order, which is how it resolves overlaps (`retry/failed` is "retry
 * every failed job", not "retry the job called retry").
 */
export interface BullBoardWrite {
  method: "POST" | "PUT" | "PATCH";
  /** Bull Board's route, relative to its base path */
  route: string;
  /** the audit log's action, after `bull-board:` */
  action: string;
}

export const bullBoardWrites: readonly BullBoardWrite[] = [
  { method: "PUT", route: "/api/queues/pause", action: "pause-all-queues" },
  { method: "PUT", route: "/api/queues/resume", action: "resume-all-queues" },
  { method: "POST", route: "/api/queues/:queueName/add", action: "add-job" },
  { method: "PUT", route: "/api/queues/:queueName/retry/:queueStatus", action: "retry-all-jobs" },
  { method: "PUT", route: "/api/queues/:queueName/promote", action: "promote-all-jobs" },
  { method: "PUT", route: "/api/queues/:queueName/clean/:queueStatus", action: "clean-all-jobs" },
  { method: "PUT", route: "/api/queues/:queueName/pause", action: "pause-queue" },
  { method: "PUT", route: "/api/queues/:queueName/resume", action: "resume-queue" },
  { method: "PUT", route: "/api/queues/:queueName/concurrency", action: "set-concurrency" },
  { method: "PUT", route: "/api/queues/:queueName/rate-limit", action: "set-rate-limit" },
  { method: "PUT", route: "/api/queues/:queueName/rate-limit/release", action: "release-rate-limit" },
  { method: "PUT", route: "/api/queues/:queueName/empty", action: "empty-queue" },
  { method: "PUT", route: "/api/queues/:queueName/obliterate", action: "obliterate-queue" },
  { method: "PUT", route: "/api/queues/:queueName/job-schedulers/:schedulerId/remove", action: "remove-job-scheduler" },
  { method: "PATCH", route: "/api/queues/:queueName/job-schedulers/:schedulerId", action: "update-job-scheduler" },
  { method: "PUT", route: "/api/queues/:queueName/job-schedulers/:schedulerId/run", action: "run-job-scheduler" },
  { method: "PUT", route: "/api/queues/:queueName/:jobId/retry", action: "retry-job" },
  { method: "PUT", route: "/api/queues/:queueName/:jobId/clean", action: "remove-job" },
  { method: "PUT", route: "/api/queues/:queueName/:jobId/promote", action: "promote-job" },
  { method: "PATCH", route: "/api/queues/:queueName/:jobId/update-data", action: "update-job-data" },
  { method: "PATCH", route: "/api/queues/:queueName/:jobId/delay", action: "change-job-delay" },
  { method: "PATCH", route: "/api/queues/:queueName/:jobId/priority", action: "change-job-priority" },
  { method: "PUT", route: "/api/queues/:queueName/:jobId/remove-unprocessed-children", action: "remove-unprocessed-children" },
];

export interface MatchedWrite {
  action: string;
  /** the route's parameters, decoded: queueName, jobId, queueStatus, schedulerId */
  params: Record<string, string>;
}

const compiled = bullBoardWrites.map((write) => {
  const names: string[] = [];
  const pattern = write.route.replace(/:([A-Za-z]+)/g, (_, name: string) => {
    names.push(name);
    return "([^/]+)";
  });
  return { ...write, names, regex: new RegExp(`^${pattern}/?$`) };
});

/** The write a request is, by method and path (relative to Bull Board's base path); null: none. */
export function matchBullBoardWrite(method: string, path: string): MatchedWrite | null {
  for (const write of compiled) {
    if (write.method !== method) continue;
    const match = write.regex.exec(path);
    if (!match) continue;
    const params: Record<string, string> = {};
    try {
      write.names.forEach((name, i) => (params[name] = decodeURIComponent(match[i + 1]!)));
    } catch {
      return null; // a malformed escape: not a path Bull Board would route either
    }
    return { action: write.action, params };
  }
  return null;
}
