/**
 * A throwaway Postgres cluster of a test file's own (initdb and pg_ctl in a temporary directory, on
 * a free port, fsync off), so that a test can stop and restart it without touching the Postgres
 * other test files share. As root, the server runs as the `postgres` user (Postgres refuses root).
 */
import { execFile } from "node:child_process";
import { chmod, chown, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./free-port.js";
import pg from "pg";

const run = promisify(execFile);

async function binDir(): Promise<string> {
  const versions = (await readdir("/usr/lib/postgresql")).sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) throw new Error("no Postgres binaries under /usr/lib/postgresql");
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

export interface PrivatePostgres {
  /** a URL for `database` on this cluster */
  url(database: string): string;
  start(): Promise<void>;
  /** pg_ctl stop -m immediate: every connection dropped, no clean shutdown */
  stop(): Promise<void>;
  /** stops the cluster and deletes its directory */
  destroy(): Promise<void>;
}

export async function privatePostgres(): Promise<PrivatePostgres> {
  const bin = await binDir();
  const dir = await mkdtemp(join(tmpdir(), "trs-sync-pg-"));
  const data = join(dir, "data");
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  await chmod(dir, 0o700);
  const pgRun = (tool: string, args: string[]) =>
    asRoot ? run("runuser", ["-u", "postgres", "--", join(bin, tool), ...args]) : run(join(bin, tool), args);
  await pgRun("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60`;
  const ctl = (args: string[]) => pgRun("pg_ctl", ["-D", data, "-w", "-t", "60", ...args]);
  const url = (database: string) => `postgresql://postgres@127.0.0.1:${port}/${database}`;
  let running = false;
  const cluster: PrivatePostgres = {
    url,
    async start() {
      if (running) return;
      await ctl(["-o", options, "-l", join(dir, "log"), "start"]);
      running = true;
    },
    async stop() {
      if (!running) return;
      await ctl(["-m", "immediate", "stop"]);
      running = false;
    },
    async destroy() {
      await cluster.stop().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}

/** Creates a database on the cluster. */
export async function createDatabase(cluster: PrivatePostgres, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: cluster.url("postgres") });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
}
