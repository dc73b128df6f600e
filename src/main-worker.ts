/** The `worker` process: BullMQ workers, the outbox dispatcher and the reconciler. */
import { loadConfigOrExit } from "./config.js";
import { createDeps } from "./deps.js";
import { createQueues } from "./jobs/queues.js";
import { startWorkerProcess } from "./worker-process.js";
import { onShutdown } from "./shutdown.js";

const config = loadConfigOrExit();
const deps = createDeps(config);
const queues = createQueues(deps.redis, config.redisPrefix);
const running = await startWorkerProcess(deps, queues);
deps.logger.info({ api: config.api.kind, concurrency: config.workerConcurrency }, "worker started");

onShutdown(deps.logger, async () => {
  await running.stop();
  await queues.close();
  await deps.close();
});
