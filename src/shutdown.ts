/**
 * On SIGTERM or SIGINT: stop taking work, finish or release what is in flight, and exit within
 * 30 s (CONTRACT.md §1). A second signal exits at once.
 */
import type { Logger } from "./logger.js";

export const SHUTDOWN_DEADLINE_MS = 30_000;

export function onShutdown(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    const deadline = setTimeout(() => {
      logger.error("shutdown took longer than 30 s; exiting (unfinished jobs are recovered by the stall check)");
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS - 2_000);
    deadline.unref();
    stop()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error({ err: (error as Error).message }, "error while shutting down");
        process.exit(1);
      });
  };
  process.on("SIGTERM", () => handler("SIGTERM"));
  process.on("SIGINT", () => handler("SIGINT"));
}
