/**
 * The worker's own HTTP endpoint, on METRICS_PORT: GET /metrics (its job and API request metrics,
 * with METRICS_TOKEN when set) and GET /healthz for the orchestrator's liveness probe.
 */
import { createServer, type Server } from "node:http";
import express from "express";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";
import { processMetricsRoutes } from "./web/health.js";

export async function startMetricsServer(options: {
  metrics: Metrics;
  port: number;
  token: string | undefined;
  logger: Logger;
}): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  app.disable("x-powered-by");
  app.use(processMetricsRoutes(options.metrics, options.token));
  app.use((_req, res) => {
    res.status(404).json({ error: "not found" });
  });
  const server: Server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, () => resolve());
  });
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : options.port}`;
  options.logger.info({ url: `${url}/metrics` }, "worker metrics listening");
  return {
    url,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
