/**
 * When to poll for a TRN and when to give up. Pure: `now` and the configuration come in.
 */

export interface TrnPollConfig {
  firstDelayMs: number;
  maxIntervalMs: number;
  timeoutMs: number;
  octoberTimeoutMs: number;
  /**
   * TRS_WEBHOOKS=on: TRS tells us when a request completes, so polling is only the fallback for a
   * lost webhook: TRN_POLL_WEBHOOK_FIRST_DELAY and TRN_POLL_WEBHOOK_MAX_INTERVAL replace the
   * usual schedule. The deadline (and its Slack alert) stays the same.
   */
  webhooks?: { firstDelayMs: number; maxIntervalMs: number };
}

/** Built once: making a formatter costs more than a whole PUT's statement (a profile of the PUT path found 8% of the web process here). */
const englandMonth = new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/London", month: "numeric" });

/** The month (1-12) in England, where October is peak season for TRN requests. */
export function monthInEngland(at: Date): number {
  return Number(englandMonth.format(at));
}

/**
 * Polling stops this long after the trainee was submitted: TRN_POLL_TIMEOUT, or
 * TRN_POLL_TIMEOUT_OCTOBER for submissions in October (Register added 6 days in October,
 * register-trainee-teachers.md §3.2; it looked at the month of polling, we at the submission).
 */
export function trnDeadline(submittedAt: Date, config: TrnPollConfig): Date {
  const window = monthInEngland(submittedAt) === 10 ? config.octoberTimeoutMs : config.timeoutMs;
  return new Date(submittedAt.getTime() + window);
}

/**
 * Delay before poll number `pollsDone + 1`: TRN_POLL_FIRST_DELAY, doubling each time up to
 * TRN_POLL_MAX_INTERVAL. Most requests complete in minutes; a potential duplicate waits for manual
 * review and may take days, where hourly polls are plenty.
 */
export function pollDelay(pollsDone: number, config: TrnPollConfig): number {
  const { firstDelayMs, maxIntervalMs } = config.webhooks ?? config;
  const doubled = firstDelayMs * 2 ** Math.min(pollsDone, 40);
  return Math.min(doubled, maxIntervalMs);
}

/** The next poll time, never past the deadline (the last poll happens at the deadline). */
export function nextPollAt(options: { pollsDone: number; now: Date; deadlineAt: Date; config: TrnPollConfig }): Date {
  const at = options.now.getTime() + pollDelay(options.pollsDone, options.config);
  return new Date(Math.min(at, Math.max(options.deadlineAt.getTime(), options.now.getTime())));
}

/** Whole days between two instants, rounded down, for "waited N days" in alerts. */
export function daysBetween(from: Date, to: Date): number {
  return Math.floor((to.getTime() - from.getTime()) / 86_400_000);
}
