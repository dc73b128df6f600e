/**
 * A Redis Cluster of three masters on loopback, for the scale-out run: three redis-server processes
 * in cluster mode (nothing on disk but their node files, in a temporary directory), joined with
 * `redis-cli --cluster create`, ready once every node says cluster_state:ok.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { freePort } from "./free-port.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "./context.js";

export interface RedisCluster {
  /** seed URLs, as REDIS_CLUSTER_NODES takes them */
  nodes: string[];
  stop(): Promise<void>;
}

export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), "trs-sync-cluster-"));
  // the cluster bus uses port + 10000: keep both free
  const ports: number[] = [];
  while (ports.length < masters) {
    const port = await freePort();
    if (port < 55_000 && !ports.includes(port)) ports.push(port);
  }
  const servers: ChildProcess[] = ports.map((port) =>
    spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        `nodes-${port}.conf`,
        "--cluster-node-timeout",
        "5000",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        dir,
      ],
      { stdio: "ignore" },
    ),
  );
  const stop = async () => {
    await Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            if (server.exitCode !== null || server.signalCode !== null) return resolve();
            server.once("exit", () => resolve());
            server.kill("SIGKILL");
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const cli = (...args: string[]) => spawnSync("redis-cli", args, { encoding: "utf8" });
    await eventually(async () => ports.every((port) => cli("-p", String(port), "ping").stdout.trim() === "PONG"), {
      what: "the cluster's redis-servers answering",
      timeoutMs: 20_000,
    });
    const created = cli("--cluster", "create", ...ports.map((port) => `127.0.0.1:${port}`), "--cluster-replicas", "0", "--cluster-yes");
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    await eventually(async () => ports.every((port) => cli("-p", String(port), "cluster", "info").stdout.includes("cluster_state:ok")), {
      what: "cluster_state:ok on every node",
      timeoutMs: 30_000,
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes: ports.map((port) => `redis://127.0.0.1:${port}`), stop };
}
