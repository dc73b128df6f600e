/**
 * API request counts and latency are measured in the worker processes but served by `web`
 * (CONTRACT.md §9), so each process aggregates in memory and adds its totals to one Redis hash
 * every few seconds; /metrics reads the hash. Counters only ever grow, as Prometheus expects.
 */
import type { Redis } from "ioredis";

const bucketsMs = [50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000] as const;

export interface ApiSample {
  endpoint: string;
  method: string;
  status: number;
  durationMs: number;
}

export interface Metrics {
  observeApiRequest(sample: ApiSample): void;
  /** adds what was observed since the last flush to the shared hash */
  flush(redis: Redis, key: string): Promise<void>;
}

export function createMetrics(): Metrics {
  let pending = new Map<string, number>();
  const add = (field: string, by: number) => pending.set(field, (pending.get(field) ?? 0) + by);
  return {
    observeApiRequest({ endpoint, method, status, durationMs }) {
      const labels = `${method} ${endpoint}|${status}`;
      add(`${labels}|count`, 1);
      add(`${labels}|sum`, durationMs / 1000);
      for (const bucket of bucketsMs) if (durationMs <= bucket) add(`${labels}|le=${bucket / 1000}`, 1);
    },
    async flush(redis, key) {
      if (pending.size === 0) return;
      const batch = pending;
      pending = new Map();
      const pipeline = redis.pipeline();
      for (const [field, value] of batch) pipeline.hincrbyfloat(key, field, value);
      try {
        await pipeline.exec();
      } catch {
        // Redis down: keep the numbers for the next flush rather than lose them.
        for (const [field, value] of batch) add(field, value);
      }
    },
  };
}

const escape = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"');

/** Renders the shared hash as Prometheus histogram lines for trs_sync_api_request_duration_seconds. */
export function renderApiMetrics(hash: Record<string, string>): string {
  const series = new Map<string, Map<string, number>>();
  for (const [field, value] of Object.entries(hash)) {
    const [endpoint, status, kind] = field.split("|");
    if (!endpoint || !status || !kind) continue;
    const key = `${endpoint}|${status}`;
    if (!series.has(key)) series.set(key, new Map());
    series.get(key)!.set(kind, Number(value));
  }
  const lines = [
    "# HELP trs_sync_api_request_duration_seconds Requests to the teacher records API by endpoint and status.",
    "# TYPE trs_sync_api_request_duration_seconds histogram",
  ];
  for (const [key, values] of [...series].sort(([a], [b]) => a.localeCompare(b))) {
    const [endpoint, status] = key.split("|") as [string, string];
    const labels = `endpoint="${escape(endpoint)}",status="${status}"`;
    for (const bucket of bucketsMs) {
      lines.push(`trs_sync_api_request_duration_seconds_bucket{${labels},le="${bucket / 1000}"} ${values.get(`le=${bucket / 1000}`) ?? 0}`);
    }
    lines.push(`trs_sync_api_request_duration_seconds_bucket{${labels},le="+Inf"} ${values.get("count") ?? 0}`);
    lines.push(`trs_sync_api_request_duration_seconds_sum{${labels}} ${values.get("sum") ?? 0}`);
    lines.push(`trs_sync_api_request_duration_seconds_count{${labels}} ${values.get("count") ?? 0}`);
  }
  return lines.join("\n") + "\n";
}
