import { describe, expect, it } from "vitest";
import { pendingSchemaDiff } from "../../src/db/migrations.js";
import { databaseUrl, templateDatabase } from "../support/services.js";

describe("migrations", () => {
  it("agree with prisma/schema.prisma (after a schema change, run `npm run migrate:create -- NAME`)", async () => {
    expect(await pendingSchemaDiff(databaseUrl(templateDatabase()))).toBe("");
  });
});
