/**
 * A redis-server of a test file's own, on a free port, so that a test can stop it or FLUSHALL it
 * without touching the Redis other test files share.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { freePort } from "./free-port.js";
import { pingRedis } from "./services.js";

export interface PrivateRedis {
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function privateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  const waitUntil = async (up: boolean) => {
    for (let i = 0; i < 100; i++) {
      const answering = await pingRedis(url).then(
        () => true,
        () => false,
      );
      if (answering === up) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`private redis on ${port} did not ${up ? "start" : "stop"}`);
  };
  return {
    url,
    async start() {
      if (child && child.exitCode === null) return;
      child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
        stdio: "ignore",
      });
      await waitUntil(true);
    },
    async stop() {
      if (!child) return;
      const exited = child.exitCode !== null ? Promise.resolve() : new Promise((resolve) => child!.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
      child = null;
      await waitUntil(false);
    },
  };
}
