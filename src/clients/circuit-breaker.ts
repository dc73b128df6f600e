/**
 * The circuit breaker in front of the teacher records API. Its state lives in Redis, shared by
 * every worker and web process, and changes only inside Lua scripts, so that any number of
 * workers failing at the same moment open it exactly once.
 *
 * - It opens at once on 401 or 403 (our key, not a trainee: nothing will get through), or when
 *   CIRCUIT_FAILURE_THRESHOLD different jobs met a server error, a timeout or no connection within
 *   CIRCUIT_FAILURE_WINDOW with no answer from the API in between. A job failing again counts
 *   once, and any answer clears the count: one trainee's record that TRS answers 500 for, or a
 *   few errors among many answers, is not an outage and leaves the circuit closed.
 * - While it is open, the teacher-records queue is paused and the jobs that meet the outage go
 *   back to waiting without spending an attempt (jobs/circuit-monitor.ts, jobs/run-task.ts).
 * - One process at a time probes the API every CIRCUIT_PROBE_INTERVAL and closes the circuit once
 *   it answers.
 * - An outage is one *episode* from the first opening until the API has answered for a whole
 *   probe interval: one Slack alert when it starts and one "recovered" message when it ends, even
 *   if the circuit flaps in between (a key that lost one role passes the probe and fails again).
 *
 * Times are Redis's own clock (TIME), so that the window means the same on every machine.
 */
import type { RedisConnection } from "../redis.js";

export interface CircuitSettings {
  /** different jobs failing within the window that open the circuit (CIRCUIT_FAILURE_THRESHOLD, default 5) */
  failureThreshold: number;
  /** ms (CIRCUIT_FAILURE_WINDOW, default 1m) */
  failureWindowMs: number;
  /** ms between probes while open (CIRCUIT_PROBE_INTERVAL, default 30s) */
  probeIntervalMs: number;
}

export type CircuitState =
  | {
      open: false;
      /** when the circuit last closed, if it ever did */
      closedAt: Date | null;
    }
  | {
      open: true;
      since: Date;
      /** the error class that opened it */
      reason: string;
      /** the error's message (endpoint and status, never personal data) */
      detail: string;
    };

/** What the circuit knows about the current outage, for the alerts (jobs/circuit-monitor.ts). */
export interface CircuitEpisode {
  state: CircuitState;
  /** the error class and message of the latest opening (kept after it closed) */
  reason: string | null;
  detail: string | null;
  /** the first opening of an outage not yet declared over; null when there is none */
  episodeAt: Date | null;
  /** the outage's Slack alert was raised */
  alerted: boolean;
  /** the queue was paused by the circuit (not by an operator), so the circuit resumes it */
  pausedByCircuit: boolean;
}

export type FailureVerdict =
  | { open: false; failures: number }
  | {
      open: true;
      since: Date;
      reason: string;
      detail: string;
      /** this failure opened the circuit */
      opened: boolean;
      /** this failure began an outage: its one alert is for the caller to raise */
      alert: boolean;
      /** the circuit has paused the queue (see CircuitEpisode) */
      pausedByCircuit: boolean;
    };

/** 401 and 403 say our key is refused: no job will get through until someone fixes it. */
const opensAtOnce = new Set(["unauthorized", "forbidden"]);
/** The API not answering: an outage when several jobs meet it and nothing answers in between. */
const opensWhenRepeated = new Set(["api_unavailable", "api_timeout", "api_unreachable"]);

/** Whether a failure of this error class counts towards opening the circuit, and how. */
export function circuitTrip(errorClass: string): "at-once" | "counted" | null {
  if (opensAtOnce.has(errorClass)) return "at-once";
  if (opensWhenRepeated.has(errorClass)) return "counted";
  return null;
}

/** An HTTP status that shows the API up and taking our key (no answer is status 0). */
export function isAnswer(status: number): boolean {
  return status >= 100 && status < 500 && status !== 401 && status !== 403;
}

const nowMs = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS state, failures · ARGV windowMs, threshold, atOnce, member, reason, detail */
const failScript = `${nowMs}
local openedAt = redis.call('HGET', KEYS[1], 'openedAt')
if openedAt then
  local f = redis.call('HMGET', KEYS[1], 'reason', 'detail', 'paused')
  return {1, openedAt, f[1], f[2], 0, 0, f[3]}
end
if ARGV[3] == '0' then
  redis.call('ZADD', KEYS[2], now, ARGV[4])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[1]))
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
  local count = redis.call('ZCARD', KEYS[2])
  if count < tonumber(ARGV[2]) then return {0, count} end
end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'openedAt', now, 'reason', ARGV[5], 'detail', ARGV[6])
local alert = redis.call('HSETNX', KEYS[1], 'episodeAt', now)
return {1, tostring(now), ARGV[5], ARGV[6], 1, alert, redis.call('HGET', KEYS[1], 'paused')}`;

/** KEYS state · ARGV openedAt: closes only the opening the caller probed for */
const closeScript = `${nowMs}
if redis.call('HGET', KEYS[1], 'openedAt') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'openedAt')
redis.call('HSET', KEYS[1], 'closedAt', now)
return 1`;

/** KEYS state · ARGV episodeAt, settleMs: ends the episode once closed for settleMs */
const endEpisodeScript = `${nowMs}
if redis.call('HEXISTS', KEYS[1], 'openedAt') == 1 then return 0 end
if redis.call('HGET', KEYS[1], 'episodeAt') ~= ARGV[1] then return 0 end
local closedAt = tonumber(redis.call('HGET', KEYS[1], 'closedAt') or '0')
if closedAt == 0 or now - closedAt < tonumber(ARGV[2]) then return 0 end
redis.call('HDEL', KEYS[1], 'episodeAt', 'alerted')
return 1`;

/** KEYS state · ARGV episodeAt: the alert of this episode was raised */
const markAlertedScript = `if redis.call('HGET', KEYS[1], 'episodeAt') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'alerted', '1')
return 1`;

/** KEYS state: the circuit's pause ends only while the circuit is closed */
const releasePauseScript = `if redis.call('HEXISTS', KEYS[1], 'openedAt') == 1 then return 0 end
return redis.call('HDEL', KEYS[1], 'paused')`;

/** Answers are noted at most this often per process: the hot path stays free of Redis. */
const ANSWER_NOTE_INTERVAL_MS = 1_000;

export interface CircuitBreaker {
  readonly settings: CircuitSettings;
  /** The state as every process sees it. */
  read(): Promise<CircuitState>;
  /** The state with its outage bookkeeping (alerts, pause). */
  readEpisode(): Promise<CircuitEpisode>;
  /**
   * Counts a failed job (`jobKey`: the same job failing again counts once) of a class that trips
   * the circuit; opens the circuit when it should. Exactly one of any number of callers racing
   * gets `opened: true`.
   */
  recordFailure(failure: { jobKey: string; errorClass: string; detail: string }): Promise<FailureVerdict>;
  /** Called with every request's status: an answer clears the failures counted so far. */
  noteStatus(status: number): void;
  /** Closes the circuit opened at `since`; false when it is closed already or opened again since. */
  close(since: Date): Promise<boolean>;
  /** One probe per interval across all processes: true for the process whose turn it is. */
  takeProbeTurn(): Promise<boolean>;
  /** Ends the episode begun at `episodeAt` once the circuit has stayed closed for `settleMs`. */
  endEpisode(episodeAt: Date, settleMs: number): Promise<boolean>;
  markAlerted(episodeAt: Date): Promise<void>;
  /** Records that the circuit paused the teacher-records queue (not an operator); false if it had already. */
  claimPause(): Promise<boolean>;
  /** While the circuit is closed, gives up the circuit's pause: true when the caller must resume the queue. */
  releasePause(): Promise<boolean>;
}

export function createCircuitBreaker(options: {
  redis: RedisConnection;
  /** REDIS_PREFIX: the keys are `<prefix>:circuit…` */
  prefix: string;
  settings: CircuitSettings;
  /** a failed note of an answer is only logged */
  onError?: (error: Error) => void;
}): CircuitBreaker {
  const { redis, settings } = options;
  const stateKey = `${options.prefix}:circuit`;
  const failuresKey = `${options.prefix}:circuit:failures`;
  const probeKey = `${options.prefix}:circuit:probe`;
  let lastAnswerNoted = 0;

  const readEpisode = async (): Promise<CircuitEpisode> => {
    const fields = await redis.hgetall(stateKey);
    const date = (value: string | undefined) => (value ? new Date(Number(value)) : null);
    const state: CircuitState = fields.openedAt
      ? { open: true, since: new Date(Number(fields.openedAt)), reason: fields.reason ?? "", detail: fields.detail ?? "" }
      : { open: false, closedAt: date(fields.closedAt) };
    return {
      state,
      reason: fields.reason ?? null,
      detail: fields.detail ?? null,
      episodeAt: date(fields.episodeAt),
      alerted: fields.alerted === "1",
      pausedByCircuit: fields.paused === "1",
    };
  };

  return {
    settings,
    readEpisode,
    read: async () => (await readEpisode()).state,
    async recordFailure({ jobKey, errorClass, detail }) {
      const trip = circuitTrip(errorClass);
      if (!trip) throw new Error(`${errorClass} does not trip the circuit`);
      const answer = (await redis.eval(
        failScript,
        2,
        stateKey,
        failuresKey,
        settings.failureWindowMs,
        settings.failureThreshold,
        trip === "at-once" ? 1 : 0,
        jobKey,
        errorClass,
        detail,
      )) as [number, number | string, string?, string?, number?, number?, string?];
      if (answer[0] === 0) return { open: false, failures: Number(answer[1]) };
      return {
        open: true,
        since: new Date(Number(answer[1])),
        reason: answer[2] ?? "",
        detail: answer[3] ?? "",
        opened: answer[4] === 1,
        alert: answer[5] === 1,
        pausedByCircuit: answer[6] === "1",
      };
    },
    noteStatus(status) {
      if (!isAnswer(status)) return;
      const now = Date.now();
      if (now - lastAnswerNoted < ANSWER_NOTE_INTERVAL_MS) return;
      lastAnswerNoted = now;
      redis.del(failuresKey).catch((error: Error) => options.onError?.(error));
    },
    async close(since) {
      return (await redis.eval(closeScript, 1, stateKey, String(since.getTime()))) === 1;
    },
    async takeProbeTurn() {
      return (await redis.set(probeKey, String(process.pid), "PX", settings.probeIntervalMs, "NX")) === "OK";
    },
    async endEpisode(episodeAt, settleMs) {
      return (await redis.eval(endEpisodeScript, 1, stateKey, String(episodeAt.getTime()), settleMs)) === 1;
    },
    async markAlerted(episodeAt) {
      await redis.eval(markAlertedScript, 1, stateKey, String(episodeAt.getTime()));
    },
    async claimPause() {
      return (await redis.hsetnx(stateKey, "paused", "1")) === 1;
    },
    async releasePause() {
      return (await redis.eval(releasePauseScript, 1, stateKey)) === 1;
    },
  };
}
