import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { hashPassword, safeNext, verifyPassword } from "../../src/dashboard/auth.js";

describe("hashPassword / verifyPassword", () => {
  it("writes scrypt$<salt>$<key> with a fresh salt each time", () => {
    const first = hashPassword("correct horse");
    expect(first).toMatch(/^scrypt\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(hashPassword("correct horse")).not.toBe(first);
  });

  it("accepts the right password and refuses a wrong one or a malformed hash", async () => {
    const hash = hashPassword("correct horse");
    expect(await verifyPassword("correct horse", hash)).toBe(true);
    expect(await verifyPassword("correct horsE", hash)).toBe(false);
    expect(await verifyPassword("", hash)).toBe(false);
    expect(await verifyPassword("correct horse", "correct horse")).toBe(false);
    expect(await verifyPassword("correct horse", hash.slice(0, -4))).toBe(false);
  });

  it("accepts the hashes that `npm run cli -- hash-password` prints (DASHBOARD_USERS)", async () => {
    const { stdout } = await promisify(execFile)("npx", ["tsx", "src/cli.ts", "hash-password", "from the cli"], { cwd: process.cwd() });
    const hash = stdout.trim();
    expect(await verifyPassword("from the cli", hash)).toBe(true);
    expect(await verifyPassword("from the CLI", hash)).toBe(false);
  });
});

describe("safeNext (where sign-in returns to)", () => {
  it("returns only into the dashboard, never to another site", () => {
    expect(safeNext("/admin/trainees/t-1?x=1")).toBe("/admin/trainees/t-1?x=1");
    expect(safeNext("/admin")).toBe("/admin");
    for (const bad of [
      "https://evil.example/admin",
      "//evil.example/admin",
      "/administrator",
      "/\\evil.example",
      "/admin\\..\\x",
      undefined,
      ["/admin"],
    ]) {
      expect(safeNext(bad)).toBe("/admin");
    }
    expect(safeNext("/api/v1/trainees/x")).toBe("/admin");
  });
});
