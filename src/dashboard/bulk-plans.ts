/**
 * The plan a bulk confirmation page shows is the plan its button carries out. The plan (the exact
 * job ids in the order shown, and the selection they came from) is kept in Redis for an hour
 * under a random token, tied to the person who asked for it and to the action (retry or cancel).
 * The confirm form carries only the token: confirming acts on the planned ids alone, and only
 * while the selection still plans to exactly those ids; otherwise it asks for a fresh review.
 */
import { randomBytes } from "node:crypto";
import type { RedisConnection } from "../redis.js";
import { z } from "zod";
import { SupportActionError } from "../errors.js";
import { filtersSchema, type Filters } from "./failed-jobs.js";

/** How long a shown plan can be confirmed: an hour, after which it must be reviewed again. */
export const planLifetimeSeconds = 60 * 60;

export type BulkAction = "retry" | "cancel";

const storedPlan = z.object({
  person: z.string(),
  action: z.enum(["retry", "cancel"]),
  /** the planned job ids, in the order the page showed them */
  taskIds: z.array(z.string().regex(/^\d{1,18}$/)),
  /** what was selected: every job matching `filters`, or the ticked `selected` ids */
  all: z.boolean(),
  selected: z.array(z.string().regex(/^\d{1,18}$/)),
  filters: z.record(z.string(), z.string()),
});

export interface BulkPlan {
  person: string;
  action: BulkAction;
  taskIds: bigint[];
  all: boolean;
  selected: bigint[];
  filters: Filters;
}

/** The token as the confirm form sends it: 32 base64url characters. */
export const planToken = z.string().regex(/^[A-Za-z0-9_-]{32}$/, "is not a plan this page made");

/** Refusals of a confirmation; the user is sent back to review the plan again. */
export class PlanRefused extends SupportActionError {}

export function bulkPlans(options: { redis: RedisConnection; prefix: string }) {
  const key = (token: string) => `${options.prefix}:bulk-plan:${token}`;
  return {
    /** Keeps `plan` for an hour; returns its token. */
    async save(plan: BulkPlan & { filterParams: Record<string, string> }): Promise<string> {
      const token = randomBytes(24).toString("base64url");
      const value: z.infer<typeof storedPlan> = {
        person: plan.person,
        action: plan.action,
        taskIds: plan.taskIds.map(String),
        all: plan.all,
        selected: plan.selected.map(String),
        filters: plan.filterParams,
      };
      await options.redis.set(key(token), JSON.stringify(value), "EX", planLifetimeSeconds);
      return token;
    },

    /**
     * The plan behind `token`, if it was made for this person and action. Unknown, expired, or
     * somebody else's: refused (and left alone: a token is no business of another person's).
     */
    async find(token: string, expected: { person: string; action: BulkAction }): Promise<BulkPlan> {
      const raw = await options.redis.get(key(token));
      const parsed = raw ? storedPlan.safeParse(JSON.parse(raw)) : undefined;
      if (!parsed?.success) {
        throw new PlanRefused("That plan has expired or is not known (plans last an hour). Nothing was done: review the plan again.");
      }
      const plan = parsed.data;
      if (plan.person !== expected.person || plan.action !== expected.action) {
        throw new PlanRefused(`That plan was made for another person or action. Nothing was done: review the plan again.`);
      }
      return {
        person: plan.person,
        action: plan.action,
        taskIds: plan.taskIds.map(BigInt),
        all: plan.all,
        selected: plan.selected.map(BigInt),
        filters: filtersSchema.parse(plan.filters),
      };
    },

    /** Ends the plan; true for the one caller that ended it (a double-clicked button acts once). */
    async end(token: string): Promise<boolean> {
      return (await options.redis.del(key(token))) === 1;
    },
  };
}

export type BulkPlans = ReturnType<typeof bulkPlans>;

/** The same ids in the same order. */
export function samePlan(a: bigint[], b: bigint[]): boolean {
  return a.length === b.length && a.every((id, index) => id === b[index]);
}
