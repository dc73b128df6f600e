/**
 * Runs once before the suite: checks that Postgres and Redis answer (printing the exact command to
 * start whichever does not), and migrates a template database that every test file copies. The
 * template is this run's own, so that two test runs on one machine (CI beside a developer, or a
 * busy-machine check) never drop each other's; it is dropped when the run ends.
 */
import type { TestProject } from "vitest/node";
import { applyMigrations } from "../../src/db/migrations.js";
import { databaseUrl, pingRedis, startCommands, templatePrefix, withAdminClient } from "./services.js";

declare module "vitest" {
  export interface ProvidedContext {
    templateDatabase: string;
  }
}

/** Templates of runs whose process is gone (killed before their teardown). */
function isStale(name: string): boolean {
  const pid = Number(name.slice(templatePrefix.length));
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const template = `${templatePrefix}${process.pid}`;
  try {
    await withAdminClient(async (client) => {
      const { rows } = await client.query<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE datname LIKE 'trs_sync_test_template%'`,
      );
      for (const { datname } of rows) {
        if (datname === template || isStale(datname)) await client.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
      }
      await client.query(`CREATE DATABASE ${template}`);
    });
  } catch (error) {
    throw new Error(
      `Postgres does not answer at 127.0.0.1:5432 (${(error as Error).message}). Start it with:\n  ${startCommands.postgres}`,
    );
  }
  try {
    await pingRedis();
  } catch (error) {
    throw new Error(`Redis does not answer at 127.0.0.1:6379 (${(error as Error).message}). Start it with:\n  ${startCommands.redis}`);
  }
  await applyMigrations({ databaseUrl: databaseUrl(template) });
  project.provide("templateDatabase", template);
  return async () => {
    await withAdminClient((client) => client.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`)).catch(() => {});
  };
}
