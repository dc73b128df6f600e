/** The `web` process: the upstream API, the support dashboard, health and metrics. */
import { createServer } from "node:http";
import { loadConfigOrExit } from "./config.js";
import { createDeps } from "./deps.js";
import { createQueues } from "./jobs/queues.js";
import { createApp } from "./web/app.js";
import { onShutdown } from "./shutdown.js";
import { startTelemetry } from "./telemetry.js";

const config = loadConfigOrExit();
// before the Prisma client, the queues and the server exist, so that all of them are traced
const telemetry = startTelemetry({ serviceName: process.env.OTEL_SERVICE_NAME ?? "trs-sync-web", endpoint: config.otelEndpoint });
const deps = createDeps(config);
deps.metrics.collectProcessMetrics({ process: "web" });
const queues = createQueues(deps.redis, config.redisPrefix);
if (!config.apiTokens.length) deps.logger.warn("API_TOKENS is empty: the upstream API refuses every request");
const server = createServer(createApp(deps, queues));
server.listen(config.port, () => {
  // the port really bound (PORT=0 picks a free one)
  const address = server.address();
  deps.logger.info({ port: typeof address === "object" && address ? address.port : config.port }, "web listening");
});

onShutdown(deps.logger, async () => {
  // Stop accepting; answer the requests in flight; idle keep-alive connections would hold close() open.
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  await closed;
  await queues.close();
  await deps.close();
  await telemetry?.shutdown();
});
