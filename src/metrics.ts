/**
 * Prometheus metrics (prom-client), one registry per process (CONTRACT.md §9).
 *
 * Each process counts what it does and serves its own numbers, the way Prometheus expects: the
 * web process at GET /metrics, each worker at GET /metrics on METRICS_PORT. Counters live in the
 * process that increments them (a restart resets them and `rate()` copes), so nothing is summed
 * twice across replicas and nothing touches Redis on the hot path. What belongs to the whole
 * service rather than to a process (jobs waiting by state, failed jobs by class, BullMQ's queue
 * metrics) is read at scrape time by web, from indexes that cover unfinished work only.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

export interface ApiSample {
  endpoint: string;
  method: string;
  status: number;
  durationMs: number;
}

export interface JobSample {
  queue: string;
  name: string;
  /** completed, failed (will retry), or failed_for_good */
  outcome: "completed" | "failed" | "failed_for_good";
  durationMs: number;
  /** a first run's wait, from when the job could run to when a worker took it */
  waitMs?: number;
  /** the error class of a failure */
  errorClass?: string;
}

export interface Metrics {
  registry: Registry;
  observeApiRequest(sample: ApiSample): void;
  observeJob(sample: JobSample): void;
  /** the process's CPU, memory, event loop and GC metrics (once per process: main-*.ts) */
  collectProcessMetrics(labels: { process: "web" | "worker" }): void;
}

const seconds = (ms: number) => Math.max(0, ms) / 1000;

export function createMetrics(): Metrics {
  const registry = new Registry();
  const apiRequests = new Histogram({
    name: "trs_sync_api_request_duration_seconds",
    help: "Requests to the teacher records API by endpoint and status (0: no answer).",
    labelNames: ["endpoint", "status"],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const jobDuration = new Histogram({
    name: "trs_sync_job_duration_seconds",
    help: "Time a job ran, by queue, job name and outcome.",
    labelNames: ["queue", "name", "outcome"],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const jobWait = new Histogram({
    name: "trs_sync_job_wait_seconds",
    help: "Time a job waited in the queue after it could run, by queue and job name.",
    labelNames: ["queue", "name"],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [registry],
  });
  const jobFailures = new Counter({
    name: "trs_sync_job_failures_total",
    help: "Failed job attempts by queue, job name and error class.",
    labelNames: ["queue", "name", "error_class"],
    registers: [registry],
  });
  let processMetrics = false;
  return {
    registry,
    observeApiRequest({ endpoint, method, status, durationMs }) {
      apiRequests.observe({ endpoint: `${method} ${endpoint}`, status: String(status) }, seconds(durationMs));
    },
    observeJob(sample) {
      jobDuration.observe({ queue: sample.queue, name: sample.name, outcome: sample.outcome }, seconds(sample.durationMs));
      if (sample.waitMs !== undefined) jobWait.observe({ queue: sample.queue, name: sample.name }, seconds(sample.waitMs));
      if (sample.outcome !== "completed") {
        jobFailures.inc({ queue: sample.queue, name: sample.name, error_class: sample.errorClass ?? "unknown" });
      }
    },
    collectProcessMetrics(labels) {
      if (processMetrics) return;
      processMetrics = true;
      registry.setDefaultLabels(labels);
      collectDefaultMetrics({ register: registry });
    },
  };
}

/** A gauge whose value is read at scrape time. */
export function scrapeGauge<L extends string>(options: {
  registry: Registry;
  name: string;
  help: string;
  labelNames: readonly L[];
  collect: (gauge: Gauge<L>) => Promise<void>;
}): Gauge<L> {
  return new Gauge<L>({
    name: options.name,
    help: options.help,
    labelNames: options.labelNames,
    registers: [options.registry],
    async collect() {
      this.reset();
      await options.collect(this);
    },
  });
}

/**
 * The circuit breaker's state, read from Redis at scrape time (the same on every web replica:
 * aggregate with `max`): `trs_sync_circuit_open` 1 while open, and
 * `trs_sync_circuit_open_since_seconds` the Unix time it opened (0 while closed), so that
 * `time() - trs_sync_circuit_open_since_seconds` is how long the outage has lasted.
 */
export function circuitGauges(registry: Registry, read: () => Promise<{ open: boolean; since?: Date }>): void {
  let latest: Promise<{ open: boolean; since?: Date }> | null = null;
  // both gauges of one scrape come from one read
  const state = () => (latest ??= read().finally(() => setImmediate(() => (latest = null))));
  new Gauge({
    name: "trs_sync_circuit_open",
    help: "1 while the circuit breaker in front of the teacher records API is open (work paused), else 0.",
    registers: [registry],
    async collect() {
      this.set((await state()).open ? 1 : 0);
    },
  });
  new Gauge({
    name: "trs_sync_circuit_open_since_seconds",
    help: "Unix time at which the open circuit opened; 0 while closed.",
    registers: [registry],
    async collect() {
      const current = await state();
      this.set(current.open && current.since ? current.since.getTime() / 1000 : 0);
    },
  });
}

/**
 * The request limit's state, read from Redis at scrape time (the same on every web replica:
 * aggregate with `max`): requests counted in the current window, the limit, and how long the
 * pause after TRS's 429 still lasts. `trs_sync_api_rate_limit_requests_in_window /
 * trs_sync_api_rate_limit` near 1 for long means the work is running at the ceiling.
 */
export function requestGateGauges(
  registry: Registry,
  read: () => Promise<{ limit: number; windowMs: number; inWindow: number; pausedForMs: number }>,
): void {
  let latest: ReturnType<typeof read> | null = null;
  const state = () => (latest ??= read().finally(() => setImmediate(() => (latest = null))));
  const gauge = (name: string, help: string, value: (s: Awaited<ReturnType<typeof read>>) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.set(value(await state()));
      },
    });
  gauge(
    "trs_sync_api_rate_limit",
    "Requests to the teacher records API allowed in any window (API_RATE_LIMIT_PER_MINUTE).",
    (s) => s.limit,
  );
  gauge(
    "trs_sync_api_rate_limit_window_seconds",
    "The window the request limit counts in (API_RATE_LIMIT_WINDOW).",
    (s) => s.windowMs / 1000,
  );
  gauge(
    "trs_sync_api_rate_limit_requests_in_window",
    "Requests to the teacher records API counted in the current window, those in flight included.",
    (s) => s.inWindow,
  );
  gauge(
    "trs_sync_api_rate_limit_paused_seconds",
    "How long every process still waits after the API answered 429 (Retry-After); 0 when not paused.",
    (s) => s.pausedForMs / 1000,
  );
}
