/**
 * `npm run sandbox`: the sandbox TRS/DQT API alone, for running the web and worker against it.
 *
 * Environment:
 * - SANDBOX_PORT: port on 127.0.0.1; default 3100 (the demo's TRS_API_BASE_URL default)
 * - SANDBOX_API_KEY: the one API key accepted; default "sandbox-key"
 * - SANDBOX_PENDING_COMPLETES_AFTER: how long a `+pending` TRN request stays Pending, `<int><ms|s|m|h|d>`; default 30s
 * - LOG_LEVEL: pino level; default info
 */
import { z } from "zod";
import { formatDuration, parseDuration } from "../duration.js";
import { createLogger } from "../logger.js";
import { describeMarkers } from "./markers.js";
import { createSandbox } from "./server.js";

const envSchema = z.object({
  SANDBOX_PORT: z.coerce.number().int().min(0).max(65535).default(3100),
  SANDBOX_API_KEY: z.string().min(1).optional(),
  SANDBOX_PENDING_COMPLETES_AFTER: z
    .string()
    .default("30s")
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === null) ctx.addIssue({ code: "custom", message: `must be <integer><unit> with unit ms, s, m, h or d (got "${text}")` });
      return ms ?? 0;
    }),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** where to POST signed trn_request.completed webhooks, e.g. http://127.0.0.1:3000/webhooks/trs; none when unset */
  SANDBOX_WEBHOOK_URL: z.string().url().optional(),
});

async function main(): Promise<void> {
  const parsed = envSchema.safeParse(Object.fromEntries(Object.entries(process.env).filter(([, value]) => value !== "")));
  if (!parsed.success) {
    for (const issue of parsed.error.issues) console.error(`configuration: ${String(issue.path[0])}: ${issue.message}`);
    process.exit(78);
  }
  const env = parsed.data;
  const logger = createLogger({ level: env.LOG_LEVEL, name: "sandbox" });
  const sandbox = createSandbox({
    apiKey: env.SANDBOX_API_KEY,
    pendingCompletesAfterMs: env.SANDBOX_PENDING_COMPLETES_AFTER,
    logger,
    ...(env.SANDBOX_WEBHOOK_URL ? { webhookUrl: env.SANDBOX_WEBHOOK_URL } : {}),
  });
  const url = await sandbox.listen(env.SANDBOX_PORT);

  console.log(
    `Sandbox TRS v3 / DQT v2 API at ${url} (key "${env.SANDBOX_API_KEY ?? "sandbox-key"}", control endpoints under ${url}/__sandbox)`,
  );
  console.log(
    `Markers: put "+word" in a trainee's last name (e.g. "Smith +pending") to provoke an API behaviour; +pending completes after ${formatDuration(env.SANDBOX_PENDING_COMPLETES_AFTER)}:`,
  );
  for (const line of describeMarkers()) console.log(`  ${line}`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "sandbox stopping");
    sandbox.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "sandbox did not close cleanly");
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

await main();
