/**
 * Runs once before the suite: checks that Postgres and Redis answer (printing the exact command to
 * start whichever does not), and migrates a template database that every test file copies.
 */
import { applyMigrations } from "../../src/db/migrations.js";
import { databaseUrl, pingRedis, startCommands, templateDatabase, withAdminClient } from "./services.js";

export default async function setup(): Promise<void> {
  try {
    await withAdminClient(async (client) => {
      await client.query(`DROP DATABASE IF EXISTS ${templateDatabase} WITH (FORCE)`);
      await client.query(`CREATE DATABASE ${templateDatabase}`);
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
  await applyMigrations({ databaseUrl: databaseUrl(templateDatabase) });
}
