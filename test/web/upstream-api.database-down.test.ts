import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDeps, type Deps } from "../../src/deps.js";
import { createQueues, type Queues } from "../../src/jobs/queues.js";
import { createApp } from "../../src/web/app.js";
import { testConfig } from "../support/context.js";
import { client, serve } from "../support/http.js";
import { traineeDoc } from "../support/documents.js";
import { answerProblems } from "../support/openapi-validator.js";

let deps: Deps;
let queues: Queues;
let server: Awaited<ReturnType<typeof serve>>;

beforeAll(async () => {
  // nothing listens on port 1
  deps = createDeps(testConfig({ DATABASE_URL: "postgresql://postgres@127.0.0.1:1/trs_sync" }));
  queues = createQueues(deps.redis, `test-db-down-${process.pid}`);
  server = await serve(createApp(deps, queues));
});
afterAll(async () => {
  await server.close();
  await queues.close();
  await deps.close();
});

describe("the upstream API while Postgres is down", () => {
  it("answers 503 with Retry-After, so upstream sends the document again", async () => {
    const doc = traineeDoc();
    const response = await client(server.url).put(doc.slug, doc);
    expect(response.status).toBe(503);
    expect(response.body.error).toMatch(/nothing was stored/);
    expect(answerProblems({ template: "/api/v1/trainees/{slug}", method: "PUT", ...response })).toEqual([]);
    const read = await client(server.url).get(doc.slug);
    expect(read.status).toBe(503);
    expect(answerProblems({ template: "/api/v1/trainees/{slug}", method: "GET", ...read })).toEqual([]);
  });
});
