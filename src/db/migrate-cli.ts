// npm run migrate            apply pending migrations (creates the database if missing)
// npm run migrate:create -- NAME   write a migration from prisma/schema.prisma
import { applyMigrations, createMigration } from "./migrations.js";

const databaseUrl = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/trs_sync";
const [command, name] = process.argv.slice(2);

if (command === "deploy") {
  const applied = await applyMigrations({ databaseUrl });
  console.log(applied.length ? `applied: ${applied.join(", ")}` : "no pending migrations");
} else if (command === "create") {
  if (!name) {
    console.error("usage: npm run migrate:create -- NAME");
    process.exit(2);
  }
  const dir = await createMigration({ databaseUrl, name });
  console.log(dir ? `wrote ${dir}/migration.sql` : "schema and migrations agree: nothing to write");
} else {
  console.error("usage: migrate.ts deploy | create NAME");
  process.exit(2);
}
