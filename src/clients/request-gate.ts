/**
 * The request limit towards the teacher records API (API_RATE_LIMIT_PER_MINUTE requests in any
 * window of API_RATE_LIMIT_WINDOW, default a minute), shared by every worker and web process
 * through Redis. TRS allows each client 1,000 requests a minute; BullMQ's limiter counted jobs
 * started, not requests (an update makes two, a parked job none) in fixed windows (a burst at a
 * boundary doubled the rate), so every HTTP request now passes this gate instead.
 *
 * How a request is counted: a sorted set of slots, scored by the time the request left the window's
 * count. A request takes a slot before it is sent, provisionally scored `now + API_TIMEOUT` (it
 * cannot be answered later than that, so a process killed mid-request frees its slot by itself),
 * and is re-scored with the time its answer came back. TRS counts a request at some moment between
 * our sending it and its answer, so counting it until the answer is never too generous: no window
 * of the limit's length, as TRS sees it, ever holds more than the limit. Times are Redis's own
 * clock (TIME), the same for every process.
 *
 * TRS's 429 with Retry-After pauses every process until then (`pauseFor`).
 *
 * Waiting: within a process, requests wait in arrival order and only the first asks Redis, when
 * a slot should have freed. A request that would wait longer than `maxWaitMs` (its job holds the
 * trainee's lock meanwhile) is refused with RequestSlotWait, which the job runner turns into a
 * delay that spends no attempt.
 */
import { randomUUID } from "node:crypto";
import type { RedisConnection } from "../redis.js";

export interface RequestGateSettings {
  /** requests allowed in any window (API_RATE_LIMIT_PER_MINUTE) */
  limit: number;
  /** ms (API_RATE_LIMIT_WINDOW, default 60 000) */
  windowMs: number;
  /** ms a request may take at most (API_TIMEOUT): the provisional end of its slot */
  requestTimeoutMs: number;
  /** ms a request may wait for a slot before it is refused with RequestSlotWait (API_RATE_LIMIT_MAX_WAIT) */
  maxWaitMs: number;
}

/** A request that could not get a slot soon enough: send it again after `waitMs`, spending no attempt. */
export class RequestSlotWait extends Error {
  constructor(
    readonly waitMs: number,
    readonly reason: "limit" | "paused" | "unavailable",
  ) {
    super(
      reason === "paused"
        ? `the teacher records API asked us to wait (429): no request for ${Math.ceil(waitMs / 1000)} s`
        : reason === "limit"
          ? `the request limit is reached: a slot frees in ${Math.ceil(waitMs / 1000)} s`
          : "the request limit could not be consulted (Redis unreachable)",
    );
    this.name = "RequestSlotWait";
  }
}

export interface Slot {
  /** the answer came back (or the request failed): the slot counts until now, not until its timeout */
  answered(): void;
}

export interface RequestGateState {
  limit: number;
  windowMs: number;
  /** requests counted in the current window, in flight included */
  inWindow: number;
  /** ms until the pause after a 429 ends; 0 when not paused */
  pausedForMs: number;
}

export interface RequestGate {
  /** waits for a slot; throws RequestSlotWait when that would take longer than maxWaitMs */
  acquire(): Promise<Slot>;
  /** the API answered 429: no process sends anything for `ms` */
  pauseFor(ms: number): Promise<void>;
  state(): Promise<RequestGateState>;
}

const nowMs = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// KEYS: slots, paused-until. ARGV: limit, window ms, slot id, provisional ms.
// Returns {1, 0, 0} with the slot taken, or {0, the least ms to wait, 1 when paused}.
const acquireScript = `${nowMs}
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return {0, paused - now, 1} end
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window + tonumber(ARGV[4]) + 1000)
  return {1, 0, 0}
end
-- the slot that leaves first; one still in flight leaves a window after its answer, at the earliest now
local oldest = math.min(tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]), now)
return {0, math.max(1, oldest + window - now + 1), 0}`;

// KEYS: slots. ARGV: slot id. Only ever moves a slot's end earlier, and only a slot still there.
const answeredScript = `${nowMs}
redis.call('ZADD', KEYS[1], 'XX', 'LT', now, ARGV[1])
return 1`;

// KEYS: paused-until. ARGV: ms. Only ever lengthens the pause.
const pauseScript = `${nowMs}
local untilMs = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < untilMs then redis.call('SET', KEYS[1], untilMs, 'PX', tonumber(ARGV[1]) + 1000) end
return 1`;

// KEYS: slots, paused-until. ARGV: window ms. Returns {in window, ms paused}.
const stateScript = `${nowMs}
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
return {redis.call('ZCOUNT', KEYS[1], '(' .. (now - tonumber(ARGV[1])), '+inf'), math.max(0, paused - now)}`;

/** After Redis fails, a request waits this long (no attempt spent) rather than go unlimited. */
const unavailableWaitMs = 5_000;
/** Longest sleep before asking Redis again: a slot may free early when an answer comes back. */
const maxNapMs = 250;

interface Waiter {
  since: number;
  resolve(slot: Slot): void;
  reject(error: Error): void;
}

export function createRequestGate(options: {
  redis: RedisConnection;
  prefix: string;
  settings: RequestGateSettings;
  onError?: (error: Error) => void;
}): RequestGate {
  const { redis, settings } = options;
  // One hash tag: in a Redis Cluster both keys live on one node, as a script needs.
  const slotsKey = `${options.prefix}:{api-rate}:slots`;
  const pausedKey = `${options.prefix}:{api-rate}:paused-until`;
  const run = (script: string, keys: string[], args: (string | number)[]) => redis.eval(script, keys.length, ...keys, ...args.map(String));

  const waiters: Waiter[] = [];
  let pumping = false;

  const slot = (id: string): Slot => ({
    answered() {
      // If this fails the slot keeps its provisional end: counted too long, never too short.
      run(answeredScript, [slotsKey], [id]).catch((error: Error) => options.onError?.(error));
    },
  });

  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      while (waiters.length > 0) {
        const id = randomUUID();
        let answer: [number, number, number];
        try {
          answer = (await run(
            acquireScript,
            [slotsKey, pausedKey],
            [settings.limit, settings.windowMs, id, settings.requestTimeoutMs],
          )) as [number, number, number];
        } catch (error) {
          options.onError?.(error as Error);
          for (const waiter of waiters.splice(0)) waiter.reject(new RequestSlotWait(unavailableWaitMs, "unavailable"));
          return;
        }
        const [taken, waitMs, paused] = answer;
        if (taken === 1) {
          waiters.shift()!.resolve(slot(id));
          continue;
        }
        // Whoever cannot get a slot within their allowance stops waiting now; the rest nap.
        const ready = Date.now() + waitMs;
        for (let i = waiters.length - 1; i >= 0; i--) {
          if (ready - waiters[i]!.since > settings.maxWaitMs) {
            waiters.splice(i, 1)[0]!.reject(new RequestSlotWait(waitMs, paused === 1 ? "paused" : "limit"));
          }
        }
        if (waiters.length > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(waitMs, maxNapMs)));
      }
    } finally {
      pumping = false;
    }
  }

  return {
    acquire() {
      return new Promise<Slot>((resolve, reject) => {
        waiters.push({ since: Date.now(), resolve, reject });
        void pump();
      });
    },
    async pauseFor(ms) {
      await run(pauseScript, [pausedKey], [Math.max(1, Math.ceil(ms))]);
    },
    async state() {
      const [inWindow, pausedForMs] = (await run(stateScript, [slotsKey, pausedKey], [settings.windowMs])) as [number, number];
      return { limit: settings.limit, windowMs: settings.windowMs, inWindow, pausedForMs };
    },
  };
}
