/**
 * The one processor behind every job of the teacher-records queue. For the task a job carries it:
 *
 * 1. claims the task (trainees/sync-tasks.ts): a task already done completes at once; a task that
 *    is not its trainee's head goes back to pending and the dispatcher brings it again in turn;
 *    while Postgres is unreachable the job waits and tries again without spending an attempt;
 * 2. takes the trainee's advisory lock for the duration of the API calls: a transaction-scoped
 *    Postgres lock, released by Postgres itself if the worker dies, so that across any number of
 *    worker processes at most one job of a trainee talks to the API at a time;
 * 3. runs the job's handler against the trainee as it was read under the claim;
 * 4. records the outcome, fenced by the claim: done, poll again later (moveToDelayed, which uses no
 *    attempt), retry (transient, with backoff), or failed for good (permanent, or out of
 *    attempts), in Postgres first, so that failures are queryable without Redis. A run that lost
 *    its task meanwhile (cancelled by support, taken over after a stall) records nothing and ends.
 */
import { DelayedError, UnrecoverableError, WaitingError, type Job, type Worker } from "bullmq";
import { RequestSlotWait } from "../clients/request-gate.js";
import type { Deps } from "../deps.js";
import { isDatabaseUnavailable, isDeterministicDatabaseError, RunSuperseded, SyncError } from "../errors.js";
import { recordEvent } from "../trainees/events.js";
import {
  claimTask,
  recordRun,
  recordRunStatement,
  stillOwns,
  type Fence,
  type RunOutcome,
  type TaskError,
} from "../trainees/sync-tasks.js";
import { classify, type Classified } from "./classify.js";
import { syncJobPayload, type SyncContext, type SyncJobDefinition, type SyncOutcome } from "./job.js";
import { lockLifetimeMs, TraineeBusy, withTraineeLockThen } from "./trainee-lock.js";
import type { CircuitMonitor } from "./circuit-monitor.js";

/** When another job of the trainee holds the lock, look again after this. */
const BUSY_RETRY_MS = 2_000;
/** Spreads the jobs the request limit held back, so that they do not all come back at once. */
const SLOT_WAIT_JITTER_MS = 1_000;
/** While Postgres is unreachable at the claim, the job waits this long (no attempt spent), or JOB_RETRY_BASE_DELAY. */
const DATABASE_RETRY_MS = 5_000;
/**
 * Claims in a row that find the task still running (its worker died mid-job) before the task fails
 * as job_stalled. Counted in Postgres and reset by every recorded outcome, unlike BullMQ's own
 * stalled counter, which a poll job re-delayed for days never resets.
 */
export const MAX_STALLS = 5;

export type RunResult = { outcome: "done" | "already-done" | "parked" | "missing" | "superseded"; message: string };

export async function runSyncJob(options: {
  deps: Deps;
  definition: SyncJobDefinition;
  job: Job;
  token: string | undefined;
  worker?: Worker;
  /** the circuit breaker's side in the worker: without it (handler tests) failures only retry */
  circuit?: CircuitMonitor;
}): Promise<RunResult> {
  const { deps, definition, job, token } = options;
  const payload = syncJobPayload.parse(job.data);
  const jobId = job.id ?? "";

  let claim;
  try {
    claim = await claimTask(deps.pool, {
      taskId: BigInt(payload.taskId),
      attempt: job.attemptsMade + 1,
      now: deps.now(),
      maxStalls: MAX_STALLS,
    });
  } catch (error) {
    if (isDatabaseUnavailable(error)) {
      deps.logger.warn({ jobId, job: definition.name }, "Postgres unreachable at the claim: the job waits");
      return delayBy(job, token, deps.config.retryBaseDelayMs ?? DATABASE_RETRY_MS);
    }
    // The same claim would fail again: fail for good at once (the failed-job listener records it).
    if (isDeterministicDatabaseError(error)) throw new UnrecoverableError(`database_error: ${classify(error).message}`);
    throw error;
  }
  if (claim.kind === "stalled-out") throw new UnrecoverableError(`job_stalled: ${claim.message}`);
  if (claim.kind !== "claimed") return { outcome: claim.kind, message: claim.message };
  const { task, trainee, fence } = claim;

  const event: SyncContext["event"] = (e) =>
    recordEvent(deps.prisma, { ...e, traineeId: trainee.id, jobName: definition.name, jobId, taskId: task.id, at: e.at ?? deps.now() });
  const record = (outcome: RunOutcome) => recordRun(deps.pool, fence, outcome, deps.now());
  const superseded = (): RunResult => {
    const message = "the task changed while this run was under way (cancelled, or taken over by another run): nothing recorded";
    deps.logger.info({ jobId, job: definition.name, taskId: payload.taskId }, message);
    return { outcome: "superseded", message };
  };

  let outcome: SyncOutcome;
  /** the outcome as written with the lock's COMMIT (one round trip): whether the run still owned its task */
  let recorded: boolean | undefined;
  try {
    const lifetimeMs = lockLifetimeMs(definition.maxCalls, deps.config.api.timeoutMs, deps.requestGate ? deps.config.api.rateMaxWaitMs : 0);
    const held = await withTraineeLockThen(
      deps.pool,
      trainee.id,
      lifetimeMs,
      async () => {
        if (definition.needsTrn && !trainee.trn) {
          throw new SyncError("trn_missing", `${definition.name} needs a TRN and the trainee has none`);
        }
        const stillOwned = () => stillOwns(deps.pool, fence);
        return definition.handle(payload, { deps, task, trainee, jobId, fence, now: deps.now(), event, stillOwned });
      },
      (result) => recordRunStatement(fence, result.done ? { state: "succeeded" } : { state: "queued" }, deps.now(), new Date()),
    );
    outcome = held.value;
    recorded = held.rowCount === 1;
  } catch (error) {
    if (error instanceof RunSuperseded) return superseded();
    if (error instanceof TraineeBusy) {
      if (!(await record({ state: "queued" }))) return superseded();
      return delayBy(job, token, BUSY_RETRY_MS);
    }
    if (error instanceof RequestSlotWait) {
      // the request limit (or TRS's 429 pause) holds the call back: nothing was sent, no attempt spent
      // recorded as rate_limited, so that the pending pages say what holds the work back
      const held: TaskError = {
        errorClass: "rate_limited",
        httpStatus: null,
        errorCode: null,
        message: `${error.message}; sent again then`,
      };
      if (!(await record({ state: "queued", error: held }))) return superseded();
      await event({ kind: `${definition.kind}_rate_limited`, outcome: "retrying", ...held });
      return delayBy(job, token, error.waitMs + Math.round(Math.random() * SLOT_WAIT_JITTER_MS));
    }
    const classified = classify(error, { operation: definition.operation });
    if (options.circuit && (await circuitIsOpen(options.circuit, { deps, jobId, classified }))) {
      // TRS is down or refuses our key: this is not the trainee's failure, and no attempt is spent
      if (!(await record({ state: "queued" }))) return superseded();
      await event({
        kind: `${definition.kind}_held`,
        outcome: "retrying",
        ...eventError(classified),
        message: `held back by the open circuit: ${classified.message}; the teacher records API is probed and this is sent again once it answers`,
      });
      await job.moveToWait(token);
      throw new WaitingError();
    }
    if (classified.errorClass.kind !== "ignorable") {
      return (await handleFailure({ ...options, fence, classified, error, event, record })) ?? superseded();
    }
    // e.g. 10052 "already awarded": what we wanted is already true at TRS (Register treats it as success).
    await event({ kind: `${definition.kind}_ignored`, outcome: "skipped", ...eventError(classified) });
    outcome = { done: true, message: `ignored ${classified.errorClass.name}` };
  }

  if (!outcome.done) {
    if (!(recorded ?? (await record({ state: "queued" })))) return superseded();
    return delayBy(job, token, outcome.at.getTime() - Date.now());
  }
  if (!(recorded ?? (await record({ state: "succeeded" })))) return superseded();
  deps.logger.info({ jobId, job: definition.name, slug: payload.slug, taskId: payload.taskId }, outcome.message);
  return { outcome: "done", message: outcome.message };
}

/** Reports a failure to the circuit breaker; true when the circuit is open. Redis failing here leaves the failure to the usual retry. */
async function circuitIsOpen(circuit: CircuitMonitor, options: { deps: Deps; jobId: string; classified: Classified }): Promise<boolean> {
  const { deps, jobId, classified } = options;
  try {
    const verdict = await circuit.failed({ jobKey: jobId, errorClass: classified.errorClass.name, detail: classified.message });
    return verdict?.open ?? false;
  } catch (error) {
    deps.logger.warn({ jobId, err: (error as Error).message }, "could not consult the circuit breaker; the failure is retried as usual");
    return false;
  }
}

/** Puts the running job back in BullMQ's delayed set for `ms` without spending an attempt. */
async function delayBy(job: Job, token: string | undefined, ms: number): Promise<never> {
  await job.moveToDelayed(Date.now() + Math.max(0, ms), token);
  throw new DelayedError();
}

const eventError = (classified: Classified) => ({
  errorClass: classified.errorClass.name,
  httpStatus: classified.httpStatus,
  errorCode: classified.errorCode,
  message: classified.message,
});

const taskError = (classified: Classified): TaskError => ({
  errorClass: classified.errorClass.name,
  httpStatus: classified.httpStatus,
  errorCode: classified.errorCode,
  message: classified.message,
});

/** Records a failure (fenced) and tells BullMQ what to do; undefined when the run no longer owns the task. */
async function handleFailure(options: {
  deps: Deps;
  definition: SyncJobDefinition;
  job: Job;
  token: string | undefined;
  fence: Fence;
  classified: Classified;
  error: unknown;
  event: SyncContext["event"];
  record: (outcome: RunOutcome) => Promise<boolean>;
}): Promise<undefined> {
  const { deps, definition, job, token, fence, classified, error, event, record } = options;
  const { errorClass } = classified;

  if (errorClass.name === "rate_limited") {
    // TRS counts requests per client across all our processes: the request gate already paused
    // every process until Retry-After (clients/http.ts); this job waits as long and spends no attempt.
    const waitMs = classified.retryAfterMs ?? 60_000;
    if (!(await record({ state: "queued" }))) return undefined;
    await event({ kind: `${definition.kind}_rate_limited`, outcome: "retrying", ...eventError(classified) });
    return delayBy(job, token, waitMs + Math.round(Math.random() * SLOT_WAIT_JITTER_MS));
  }

  const attemptsLeft = job.attemptsMade + 1 < (job.opts.attempts ?? 1);
  const final = errorClass.kind === "permanent" || errorClass.kind === "waiting" || !attemptsLeft;
  const recorded = await record(
    final ? { state: "failed", error: taskError(classified) } : { state: "queued", error: taskError(classified) },
  );
  if (!recorded) return undefined;
  await event({ kind: `${definition.kind}_failed`, outcome: final ? "failure" : "retrying", ...eventError(classified) });
  const log = {
    jobId: job.id,
    job: definition.name,
    taskId: String(fence.taskId),
    errorClass: errorClass.name,
    status: classified.httpStatus,
    errorCode: classified.errorCode,
  };
  if (final) {
    deps.logger.warn(log, "sync job failed for good");
    // The failure reason starts with the class, so Bull Board shows it too.
    throw new UnrecoverableError(`${errorClass.name}: ${classified.message}`);
  }
  deps.logger.info(log, "sync job will be retried");
  throw error instanceof Error ? error : new Error(String(error));
}
