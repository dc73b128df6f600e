/** Everything the worker process runs, started and stopped together (also used by the demo and tests). */
import type { Deps } from "./deps.js";
import type { Queues } from "./jobs/queues.js";
import { startDispatcher } from "./jobs/dispatcher.js";
import { startReconciler } from "./jobs/reconciler.js";
import { startWorkers } from "./jobs/workers.js";
import { startRetention } from "./jobs/retention.js";
import { createCircuitMonitor } from "./jobs/circuit-monitor.js";
import { recordUpstreamWebhookSetting, startUpstreamWebhookSender } from "./jobs/upstream-webhooks.js";

/** BullMQ needs `maxmemory-policy noeviction`: an evicted job key is a lost job (until the reconciler runs). */
async function warnAboutEviction(deps: Deps): Promise<void> {
  try {
    const [, policy] = (await deps.redis.config("GET", "maxmemory-policy")) as [string, string];
    if (policy && policy !== "noeviction") {
      deps.logger.warn({ policy }, "Redis maxmemory-policy should be noeviction: evicted jobs are only restored by the reconciler");
    }
  } catch {
    // managed Redis often refuses CONFIG; nothing to check then
  }
}

export async function startWorkerProcess(deps: Deps, queues: Queues) {
  await warnAboutEviction(deps);
  // before anything runs: whether every process's writes record events for the upstream application
  await recordUpstreamWebhookSetting(deps);
  const circuit = createCircuitMonitor(deps, queues.teacherRecords);
  circuit.start();
  const workers = startWorkers(deps, { circuit });
  const dispatcher = await startDispatcher(deps, queues);
  const reconciler = startReconciler(deps);
  const retention = await startRetention(deps);
  const upstreamWebhooks = startUpstreamWebhookSender(deps);
  return {
    workers,
    dispatcher,
    circuit,
    upstreamWebhooks,
    async stop() {
      await circuit.stop();
      await reconciler.stop();
      await retention.stop();
      await upstreamWebhooks.stop();
      await dispatcher.stop();
      // Stops fetching; waits for jobs in flight (their lock is released if we are killed first).
      await workers.close();
    },
  };
}
