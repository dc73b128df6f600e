/**
 * What the worker process does about the circuit breaker (clients/circuit-breaker.ts):
 *
 * - a job whose failure trips the circuit reports it here; while the circuit is open the
 *   teacher-records queue is paused (BullMQ's pause holds for every worker) and the job goes back
 *   to waiting (jobs/run-task.ts);
 * - every CIRCUIT_PROBE_INTERVAL each worker process looks at the circuit; while it is open, the
 *   one whose turn it is (a lock in Redis) asks the API about a TRN request that does not exist,
 *   and any answer but a server error, 401 or 403 closes the circuit and resumes the queue;
 * - each outage gets one Slack alert when it begins and one "recovered" message once the API has
 *   answered for a whole probe interval, raised through the alerts outbox with a key per outage,
 *   so that a crash between the two steps, or every worker trying at once, still sends one each.
 *
 * A pause an operator made (Bull Board) before the circuit opened stays theirs: the circuit
 * resumes only a pause it made itself.
 */
import type { Queue } from "bullmq";
import type { Deps } from "../deps.js";
import type { CircuitEpisode, FailureVerdict } from "../clients/circuit-breaker.js";
import { circuitTrip, isAnswer } from "../clients/circuit-breaker.js";
import { isApiError } from "../clients/api-error.js";
import { errorClass } from "./classify.js";
import { raiseAlert } from "./slack-alert.js";

/** A request id TRS never holds: the probe's answer (404) shows the API up and our key accepted. */
export const PROBE_REQUEST_ID = "trs-sync-circuit-probe";

export interface CircuitMonitor {
  /**
   * A job failed with this error class: counts it when the class trips the circuit and, when the
   * circuit is open, makes sure the queue is paused (and raises the outage's alert when this
   * failure began it). Null when the class has nothing to do with the circuit.
   */
  failed(failure: { jobKey: string; errorClass: string; detail: string }): Promise<FailureVerdict | null>;
  /** one look at the circuit: pause, probe, close, resume, alerts (each worker, every probe interval) */
  tick(): Promise<void>;
  /** looks every probe interval until stopped */
  start(): void;
  stop(): Promise<void>;
}

export function createCircuitMonitor(deps: Deps, queue: Queue): CircuitMonitor {
  const { circuit, logger } = deps;
  const interval = circuit.settings.probeIntervalMs;
  // an outage is known by when it began; the prefix keeps two deployments sharing a database apart
  const prefix = deps.config.redisPrefix;

  const ensurePaused = async (episode: Pick<CircuitEpisode, "pausedByCircuit">) => {
    if (!episode.pausedByCircuit) {
      if (await queue.isPaused()) return; // an operator's pause: theirs to lift
      await circuit.claimPause();
    }
    await queue.pause();
  };

  const alertOpen = async (episodeAt: Date, state: { reason: string; detail: string }) => {
    const cls = errorClass(state.reason);
    await raiseAlert(deps.prisma, {
      dedupeKey: `circuit-open-${prefix}-${episodeAt.getTime()}`,
      kind: "circuit_open",
      text:
        `trs-sync stopped sending to the teacher records API at ${episodeAt.toISOString()}: ${cls.title.toLowerCase()} ` +
        `(${state.detail}). Nothing fails meanwhile: the work waits and resumes by itself once the API answers ` +
        `(probed every ${interval / 1000}s). ${cls.remediation}`,
      details: { link: `${deps.config.publicBaseUrl}/admin`, reason: state.reason },
    });
    await circuit.markAlerted(episodeAt);
  };

  const alertRecovered = async (episodeAt: Date, closedAt: Date) => {
    await raiseAlert(deps.prisma, {
      dedupeKey: `circuit-recovered-${prefix}-${episodeAt.getTime()}`,
      kind: "circuit_recovered",
      text:
        `The teacher records API answers again: trs-sync resumed sending at ${closedAt.toISOString()} ` +
        `after an outage that began at ${episodeAt.toISOString()}.`,
      details: { link: `${deps.config.publicBaseUrl}/admin` },
    });
  };

  /** true when the API answered the probe */
  const probe = async (): Promise<boolean> => {
    try {
      await deps.api.getTrnRequest(PROBE_REQUEST_ID);
      return true;
    } catch (error) {
      return isApiError(error) && isAnswer(error.status);
    }
  };

  const tick = async () => {
    let episode = await circuit.readEpisode();
    const { state } = episode;
    if (state.open) {
      await ensurePaused(episode);
      if (await circuit.takeProbeTurn()) {
        if ((await probe()) && (await circuit.close(state.since))) {
          logger.warn({ openedAt: state.since.toISOString(), reason: state.reason }, "circuit closed: the teacher records API answers");
          episode = await circuit.readEpisode();
        } else {
          logger.info({ openedAt: state.since.toISOString(), reason: state.reason }, "circuit still open: the API does not answer yet");
        }
      }
    }
    if (!episode.state.open && (await circuit.releasePause())) await queue.resume();
    // the outage's alerts, whoever raises them (raiseAlert keeps one per key): the opening job's
    // alert if it could not raise it, and "recovered" once the API has answered for an interval
    if (!episode.episodeAt) return;
    if (!episode.alerted) await alertOpen(episode.episodeAt, { reason: episode.reason ?? "api_unavailable", detail: episode.detail ?? "" });
    if (!episode.state.open && episode.state.closedAt) {
      if (episode.state.closedAt.getTime() + interval <= Date.now()) {
        await alertRecovered(episode.episodeAt, episode.state.closedAt);
        await circuit.endEpisode(episode.episodeAt, interval);
      }
    }
  };

  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = null;
      running = tick()
        .catch((error: Error) => logger.warn({ err: error.message }, "circuit check failed; will try again"))
        .finally(() => {
          running = null;
          schedule();
        });
    }, interval);
  };

  return {
    tick,
    start: () => {
      if (!timer && !running) schedule();
    },
    async failed({ jobKey, errorClass: name, detail }) {
      if (!circuitTrip(name)) return null;
      const verdict = await circuit.recordFailure({ jobKey, errorClass: name, detail });
      if (!verdict.open) return verdict;
      if (verdict.opened) logger.warn({ reason: verdict.reason, detail, jobId: jobKey }, "circuit opened: teacher-records work paused");
      await ensurePaused(verdict);
      if (verdict.alert) {
        await alertOpen(verdict.since, verdict).catch((error: Error) =>
          logger.warn({ err: error.message }, "could not raise the circuit's alert; the next check will"),
        );
      }
      return verdict;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
