/**
 * Pending TRNs (CONTRACT.md §8): each trainee's latest TRN request that is still requested, pending
 * or timed out, the longest waiting first, paged by keyset on (submitted_at, id) both ways, so the
 * thousandth page costs what the first does and no trainee is left past a fixed limit (the
 * (state, submitted_at, id) index of trn_requests serves it).
 */
import { z } from "zod";
import type { Db } from "../deps.js";
import { Prisma } from "../generated/prisma/client.js";
import { cursor, cursorTime, encodeCursor, parseInput } from "./input.js";

export interface PendingTrnRow {
  id: string;
  requestId: string;
  state: "requested" | "pending" | "timed_out";
  submittedAt: Date;
  deadlineAt: Date;
  pollCount: number;
  lastPolledAt: Date | null;
  nextPollAt: Date | null;
  slug: string;
  firstNames: string;
  lastName: string;
  traineeState: string;
  /** submitted_at as the cursor carries it */
  sortValue: string;
}

const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
const pageCursor = cursor(cursorTime, uuid).optional();

/** The page's query string: at most one of `after` (the next page) and `before` (the previous one). */
export const pendingTrnsQuery = z.object({ after: pageCursor, before: pageCursor });

type Keyset = { value: string; id: string };

export function parsePendingTrnsQuery(source: unknown): { after?: Keyset | undefined; before?: Keyset | undefined } {
  const { after, before } = parseInput(source, pendingTrnsQuery);
  return after ? { after } : { before };
}

/**
 * One page, oldest first. `next` and `previous` are cursors for the pages either side, when there
 * are rows there.
 */
export async function pendingTrnsPage(
  db: Db,
  options: { after?: Keyset | undefined; before?: Keyset | undefined; limit: number },
): Promise<{ rows: PendingTrnRow[]; next: string | null; previous: string | null }> {
  const backwards = Boolean(options.before);
  const from = options.after ?? options.before;
  const keyset = from
    ? backwards
      ? Prisma.sql`AND (r.submitted_at, r.id) < (CAST(${from.value} AS timestamp), CAST(${from.id} AS uuid))`
      : Prisma.sql`AND (r.submitted_at, r.id) > (CAST(${from.value} AS timestamp), CAST(${from.id} AS uuid))`
    : Prisma.empty;
  const direction = Prisma.raw(backwards ? "DESC" : "ASC");
  const found = await db.$queryRaw<PendingTrnRow[]>`
    SELECT r.id::text AS id, r.request_id AS "requestId", r.state::text AS state, r.submitted_at AS "submittedAt",
           r.deadline_at AS "deadlineAt", r.poll_count AS "pollCount", r.last_polled_at AS "lastPolledAt",
           r.next_poll_at AS "nextPollAt", tr.slug, tr.first_names AS "firstNames", tr.last_name AS "lastName",
           tr.state::text AS "traineeState", to_char(r.submitted_at, 'YYYY-MM-DD"T"HH24:MI:SS.US') AS "sortValue"
    FROM trn_requests r JOIN trainees tr ON tr.id = r.trainee_id
    WHERE r.state IN ('requested', 'pending', 'timed_out')
      AND tr.trn IS NULL AND tr.state IN ('submitted_for_trn', 'deferred', 'withdrawn')
      -- only the trainee's latest request: an older one that timed out before a re-submission is history
      AND NOT EXISTS (SELECT 1 FROM trn_requests n WHERE n.trainee_id = r.trainee_id AND n.created_at > r.created_at)
      ${keyset}
    ORDER BY r.submitted_at ${direction}, r.id ${direction}
    LIMIT ${options.limit + 1}`;
  const more = found.length > options.limit;
  const rows = found.slice(0, options.limit);
  if (backwards) rows.reverse();
  const first = rows[0];
  const last = rows[rows.length - 1];
  // forwards, a page after a cursor has rows before it; backwards, the cursor's own row is after this page
  const hasPrevious = backwards ? more : Boolean(options.after);
  const hasNext = backwards ? true : more;
  return {
    rows,
    next: hasNext && last ? encodeCursor(last.sortValue, last.id) : null,
    previous: hasPrevious && first ? encodeCursor(first.sortValue, first.id) : null,
  };
}
