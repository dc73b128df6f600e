/** The `worker` process: BullMQ workers, the outbox dispatcher and the reconciler. */
import { loadConfigOrExit } from "./config.js";
import { createDeps } from "./deps.js";
import { createQueues } from "./jobs/queues.js";
import { startWorkerProcess } from "./worker-process.js";
import { onShutdown } from "./shutdown.js";
import { startTelemetry } from "./telemetry.js";
import { startMetricsServer } from "./metrics-server.js";

const config = loadConfigOrExit();
// before the Prisma client, the queues and the workers exist, so that all of them are traced
const telemetry = startTelemetry({ serviceName: process.env.OTEL_SERVICE_NAME ?? "trs-sync-worker", endpoint: config.otelEndpoint });
const deps = createDeps(config);
deps.metrics.collectProcessMetrics({ process: "worker" });
const metricsServer =
  config.metricsPort === null
    ? null
    : await startMetricsServer({ metrics: deps.metrics, port: config.metricsPort, token: config.metricsToken, logger: deps.logger });
const queues = createQueues(deps.redis, config.redisPrefix);
const running = await startWorkerProcess(deps, queues);
deps.logger.info({ api: config.api.kind, concurrency: config.workerConcurrency }, "worker started");

onShutdown(deps.logger, async () => {
  await running.stop();
  await metricsServer?.close();
  await queues.close();
  await deps.close();
  await telemetry?.shutdown();
});
