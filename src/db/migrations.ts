/**
 * Migrations on Prisma's WebAssembly schema engine (`@prisma/schema-engine-wasm`), so that no
 * native engine has to be downloaded. It reads and writes `prisma/migrations/<name>/migration.sql`
 * and records applied migrations in `_prisma_migrations`, exactly as `prisma migrate deploy` does,
 * so production may use either tool.
 */
import { readFile, readdir, mkdir, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";

import { findProjectRoot } from "../project-root.js";

const require = createRequire(import.meta.url);

const root = findProjectRoot();
export const schemaPath = path.join(root, "prisma/schema.prisma");
export const migrationsDir = path.join(root, "prisma/migrations");
/** Idempotent functions and triggers, run after the migrations (see the file's header). */
export const functionsPath = path.join(root, "prisma/functions.sql");

const noFilters = { externalTables: [], externalEnums: [] };

type Engine = {
  applyMigrations(input: unknown): Promise<{ appliedMigrationNames: string[] }>;
  diff(input: unknown): Promise<{ exitCode: number; stdout: string | null }>;
  free(): void;
};

/**
 * The engine reads catalog columns of Postgres' one-byte type "char" (oid 18), which the pg driver
 * adapter refuses ("Column type 'char' could not be deserialized"). Those values arrive as text
 * anyway, so they are reported as text. Only pg clients created by this module's engine are affected
 * in practice: the application never selects "char" columns.
 */
let charPatched = false;
function reportCharColumnsAsText() {
  if (charPatched) return;
  charPatched = true;
  // the adapter queries through Pool#query (and Client#query inside transactions)
  for (const proto of [pg.Pool.prototype, pg.Client.prototype] as unknown as { query: (...a: unknown[]) => unknown }[]) {
    const original = proto.query;
    proto.query = function patchedQuery(this: unknown, ...args: unknown[]) {
      const result = original.apply(this, args);
      if (result && typeof (result as Promise<unknown>).then === "function") {
        return (result as Promise<{ fields?: { dataTypeID: number }[] }>).then((value) => {
          for (const field of value?.fields ?? []) if (field.dataTypeID === 18) field.dataTypeID = 25;
          return value;
        });
      }
      return result;
    };
  }
}

async function loadEngine(databaseUrl: string, log: (line: string) => void): Promise<{ engine: Engine; close(): Promise<void> }> {
  reportCharColumnsAsText();
  const dir = path.dirname(require.resolve("@prisma/schema-engine-wasm"));
  const bg = (await import(path.join(dir, "schema_engine_bg.js"))) as Record<string, unknown> & {
    __wbg_set_wasm(exports: Record<string, unknown>): void;
    SchemaEngine: { new: (...args: unknown[]) => Promise<Engine> };
  };
  const bytes = await readFile(path.join(dir, "schema_engine_bg.wasm"));
  // (lib "ES2023" has no WebAssembly types; Node has the global)
  const wasm = (
    globalThis as unknown as {
      WebAssembly: { instantiate(b: Uint8Array, i: unknown): Promise<{ instance: { exports: Record<string, unknown> } }> };
    }
  ).WebAssembly;
  const { instance } = await wasm.instantiate(bytes, { "./schema_engine_bg.js": bg });
  bg.__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as () => void)();
  const schema = await readFile(schemaPath, "utf8");
  // Our own pool, so that its connections are closed when we are done (the engine leaves them open).
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPg(pool));
  const engine = await bg.SchemaEngine.new({ datamodels: [[schemaPath, schema]] }, (message: string) => log(message), adapter);
  return {
    engine,
    async close() {
      engine.free();
      await pool.end();
    },
  };
}

async function migrationsList() {
  const names = existsSync(migrationsDir)
    ? (await readdir(migrationsDir, { withFileTypes: true }))
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort()
    : [];
  const lockPath = path.join(migrationsDir, "migration_lock.toml");
  return {
    baseDir: migrationsDir,
    lockfile: { path: "migration_lock.toml", content: existsSync(lockPath) ? await readFile(lockPath, "utf8") : null },
    shadowDbInitScript: "",
    migrationDirectories: await Promise.all(
      names.map(async (name) => ({
        path: name,
        migrationFile: {
          path: "migration.sql",
          content: { tag: "ok", value: await readFile(path.join(migrationsDir, name, "migration.sql"), "utf8") },
        },
      })),
    ),
  };
}

/** Runs `work` on the server's `postgres` database, given the name of the database in the URL. */
async function onServer(databaseUrl: string, work: (client: pg.Client, name: string) => Promise<void>): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = "/postgres";
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await work(client, name);
  } finally {
    await client.end();
  }
}

/** Creates the database named in the URL when it does not exist yet. */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  await onServer(databaseUrl, async (client, name) => {
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`).catch((error: { code?: string }) => {
        if (error.code !== "42P04") throw error; // created meanwhile by another process
      });
    }
  });
}

/** Applies every pending migration; returns the names applied. */
export async function applyMigrations(options: { databaseUrl: string; log?: (line: string) => void }): Promise<string[]> {
  await ensureDatabase(options.databaseUrl);
  const { engine, close } = await loadEngine(options.databaseUrl, options.log ?? (() => {}));
  try {
    const result = await engine.applyMigrations({ migrationsList: await migrationsList(), filters: noFilters });
    await applyFunctions(options.databaseUrl);
    return result.appliedMigrationNames;
  } finally {
    await close();
  }
}

async function applyFunctions(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock(7318001)"); // two migrating processes at once
    await client.query(await readFile(functionsPath, "utf8"));
  } finally {
    await client.end();
  }
}

/**
 * The SQL that would bring a database built from prisma/migrations in line with
 * prisma/schema.prisma; empty when they agree.
 */
export async function pendingSchemaDiff(databaseUrl: string): Promise<string> {
  // The engine replays the migrations into a shadow database; give it a scratch one of its own.
  const scratch = new URL(databaseUrl);
  scratch.pathname = `/trs_sync_migrate_${process.pid}_${Date.now()}`;
  await ensureDatabase(scratch.toString());
  const { engine, close } = await loadEngine(scratch.toString(), () => {});
  try {
    const schema = await readFile(schemaPath, "utf8");
    const result = await engine.diff({
      from: { tag: "migrations", ...(await migrationsList()) },
      to: { tag: "schemaDatamodel", files: [{ path: schemaPath, content: schema }] },
      script: true,
      exitCode: null,
      filters: noFilters,
    });
    const sql = result.stdout ?? "";
    return !sql.trim() || /^-- This is an empty migration\.?\s*$/.test(sql.trim()) ? "" : sql;
  } finally {
    await close();
    await dropDatabase(scratch.toString());
  }
}

/** Writes a migration for the difference between the migrations and the schema; null when none. */
export async function createMigration(options: { databaseUrl: string; name: string; now?: Date }): Promise<string | null> {
  if (!/^[a-z0-9_]+$/.test(options.name)) throw new Error("migration name: use lower-case letters, digits and _");
  const sql = await pendingSchemaDiff(options.databaseUrl);
  if (!sql) return null;
  const stamp = (options.now ?? new Date()).toISOString().replace(/\D/g, "").slice(0, 14);
  const dir = path.join(migrationsDir, `${stamp}_${options.name}`);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "migration.sql"), sql);
  return dir;
}

async function dropDatabase(databaseUrl: string): Promise<void> {
  await onServer(databaseUrl, async (client, name) => {
    await client.query(`DROP DATABASE IF EXISTS "${name.replaceAll('"', '""')}" WITH (FORCE)`);
  });
}
