/** Starts a real `worker` process (src/main-worker.ts) against a harness's database, Redis and sandbox. */
import { spawn, type ChildProcess } from "node:child_process";
import type { Harness } from "./harness.js";

export async function spawnWorker(h: Harness, env: Record<string, string> = {}): Promise<ChildProcess> {
  const config = h.world.config;
  const child = spawn(process.execPath, ["--import", "tsx", "src/main-worker.ts"], {
    env: {
      ...process.env,
      DATABASE_URL: config.databaseUrl,
      REDIS_URL: config.redisUrl,
      REDIS_PREFIX: config.redisPrefix,
      TEACHER_RECORDS_API: config.api.kind,
      TRS_API_BASE_URL: config.api.baseUrl,
      TRS_API_KEY: "sandbox-key",
      DQT_API_BASE_URL: config.api.baseUrl,
      DQT_API_KEY: "sandbox-key",
      TRN_POLL_FIRST_DELAY: "100ms",
      JOB_RETRY_BASE_DELAY: "50ms",
      UPDATE_DEBOUNCE: "0ms",
      WORKER_CONCURRENCY: "6",
      DATABASE_POOL_SIZE: "10",
      JOB_LOCK_DURATION: "2s",
      LOG_LEVEL: "info",
      METRICS_PORT: "0", // several workers run side by side
      ...env,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    // a worker that never says it started (LOG_LEVEL above info hides the line) is not left running
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error("the worker did not log 'worker started' within 60 s (LOG_LEVEL must be info or lower)"));
    }, 60_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("worker started")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code}`));
    });
  });
  return child;
}
