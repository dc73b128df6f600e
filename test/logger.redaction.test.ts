import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../src/logger.js";

describe("logs", () => {
  it("redact names, dates of birth, emails and secrets wherever they appear", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ level: "info", destination: sink });
    logger.info(
      {
        slug: "kept",
        firstNames: "Ada",
        lastName: "Lovelace",
        trainee: { dateOfBirth: "1990-12-10", email: "ada@example.com" },
        request: { headers: { authorization: "Bearer secret" }, body: { person: { firstName: "Ada" } } },
        apiKey: "secret",
      },
      "hello",
    );
    const line = lines.join("");
    expect(line).toContain('"slug":"kept"');
    for (const secret of ["Ada", "Lovelace", "1990-12-10", "ada@example.com", "Bearer secret", '"secret"'])
      expect(line).not.toContain(secret);
  });
});
