/**
 * The published contract (CONTRACT.md §10): docs/openapi.json is what the code generates, the web
 * process serves it without a token, and every answer the upstream API gives, for every documented
 * path, method and status, matches the document's schema as a JSON Schema validator reads it.
 */
import { readFileSync } from "node:fs";
import got from "got";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openApiFile, openApiText } from "../../scripts/openapi.js";
import { createTrainee, dashboardWorld, failFirstTask, type DashboardWorld } from "../dashboard/helpers.js";
import { traineeDoc } from "../support/documents.js";
import { answerProblems, documentedAnswers, publishedDocument } from "../support/openapi-validator.js";
import { client } from "../support/http.js";

let t: DashboardWorld;
beforeAll(async () => {
  t = await dashboardWorld();
});
afterAll(() => t.close());

describe("the OpenAPI document", () => {
  it("checked in is the one the schemas generate (run `npm run openapi` after changing them)", () => {
    expect(readFileSync(openApiFile, "utf8")).toBe(openApiText());
  });

  it("is served at /api/v1/openapi.json without a token", async () => {
    const answer = await got(`${t.url}/api/v1/openapi.json`, { throwHttpErrors: false, retry: { limit: 0 } });
    expect(answer.statusCode).toBe(200);
    expect(answer.headers["content-type"]).toMatch(/^application\/json/);
    expect(JSON.parse(answer.body)).toEqual(publishedDocument);
  });

  it("describes every answer the API gives, and the API gives every answer it describes", async () => {
    const seen = new Set<string>();
    const problems: string[] = [];
    const check = async (
      template: string,
      call: Promise<{ status: number; body: unknown }>,
      method: string,
      expected: number,
    ): Promise<{ status: number; body: unknown }> => {
      const answer = await call;
      expect(answer.status, `${method} ${template}`).toBe(expected);
      seen.add(`${method} ${template} ${answer.status}`);
      problems.push(...answerProblems({ template, method, status: answer.status, body: answer.body }));
      return answer;
    };
    const api = t.api;
    const trainee = "/api/v1/trainees/{slug}";
    const timeline = "/api/v1/trainees/{slug}/timeline";
    const cancel = "/api/v1/trainees/{slug}/tasks/{taskId}/cancel";

    // PUT: created, updated (with a failed job and work waiting behind it), invalid, conflicts, too large, no token
    const doc = traineeDoc({ state: "trn_received", trn: "1300001", ittQualificationAim: "020", nationalInsuranceNumber: "QQ123456C" });
    await check(trainee, api.put(doc.slug, doc), "PUT", 201);
    await failFirstTask(t.world, doc.slug);
    await check(trainee, api.put(doc.slug, { ...doc, lastName: "Changed" }), "PUT", 200);
    await check(trainee, api.put(doc.slug, { ...doc, dateOfBirth: "1990-02-30", surprise: 1 }), "PUT", 400);
    await check(trainee, api.call("PUT", `/api/v1/trainees/${doc.slug}`, "{not json"), "PUT", 400);
    await check(trainee, api.put(doc.slug, { ...doc, state: "draft" }), "PUT", 409);
    await check(trainee, api.put(doc.slug, { ...doc, lastName: "x".repeat(200_000) }), "PUT", 413);
    await check(trainee, client(t.url, "wrong-token").put(doc.slug, doc), "PUT", 401);

    // GET and the timeline
    const got200 = await check(trainee, api.get(doc.slug), "GET", 200);
    expect((got200.body as { sync: { failed: unknown[]; pending: unknown[] } }).sync.failed).toHaveLength(1);
    await check(trainee, api.get("no-such-trainee"), "GET", 404);
    await check(trainee, api.get("bad.slug"), "GET", 400);
    await check(trainee, client(t.url, "wrong-token").get(doc.slug), "GET", 401);
    await check(timeline, api.timeline(doc.slug), "GET", 200);
    await check(timeline, api.timeline("no-such-trainee"), "GET", 404);
    await check(timeline, api.timeline("bad.slug"), "GET", 400);
    await check(timeline, client(t.url, "wrong-token").timeline(doc.slug), "GET", 401);

    // cancelling a failed job
    const failed = (got200.body as { sync: { failed: { taskId: string }[] } }).sync.failed[0]!.taskId;
    const cancelPath = `/api/v1/trainees/${doc.slug}/tasks/${failed}/cancel`;
    await check(cancel, api.call("POST", cancelPath, {}), "POST", 400);
    await check(cancel, api.call("POST", `/api/v1/trainees/${doc.slug}/tasks/999999999/cancel`, { reason: "x" }), "POST", 404);
    await check(cancel, client(t.url, "wrong-token").call("POST", cancelPath, { reason: "x" }), "POST", 401);
    await check(cancel, api.call("POST", cancelPath, { reason: "sent by hand", by: "Provider" }), "POST", 200);
    await check(cancel, api.call("POST", cancelPath, { reason: "again" }), "POST", 409);

    // DELETE: discard, unknown, awarded, malformed, no token
    const other = await createTrainee(api, { lastName: "Discarded" });
    await check(trainee, api.call("DELETE", `/api/v1/trainees/${other}`, { by: "Provider", reason: "duplicate" }), "DELETE", 200);
    await check(trainee, api.call("DELETE", "/api/v1/trainees/no-such-trainee"), "DELETE", 404);
    await check(trainee, api.call("DELETE", "/api/v1/trainees/bad.slug"), "DELETE", 400);
    await check(trainee, client(t.url, "wrong-token").call("DELETE", `/api/v1/trainees/${other}`), "DELETE", 401);
    const awarded = await createTrainee(api, { state: "trn_received", trn: "1300002", lastName: "Awarded" });
    await t.world.deps.prisma.trainee.update({ where: { slug: awarded }, data: { state: "awarded", awardedAt: new Date() } });
    await check(trainee, api.call("DELETE", `/api/v1/trainees/${awarded}`), "DELETE", 409);

    expect(problems).toEqual([]);
    // 503 needs Postgres gone: test/web/upstream-api.database-down.test.ts checks that answer
    const elsewhere = new Set([`PUT ${trainee} 503`, `GET ${trainee} 503`]);
    expect([...seen].sort()).toEqual(
      documentedAnswers()
        .filter((answer) => !elsewhere.has(answer))
        .sort(),
    );
  });
});
