import { defineConfig } from "prisma/config";

// Only `prisma generate` uses this file: migrations run through scripts/migrate.ts (Prisma's
// WebAssembly schema engine), because the CLI's native engine cannot be downloaded everywhere.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
});
