/**
 * Fault suite, case 1: thousands of generated invalid and hostile documents PUT to the real upstream
 * API (wrong types, huge strings, prototype-pollution keys, odd unicode, nested junk, bad dates,
 * bodies that are not JSON, bodies over the limit). Every answer is a 4xx, never a 5xx; nothing is
 * written; no prototype is polluted; and the process still takes a valid document afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import got from "got";
import { createApp } from "../../src/web/app.js";
import { createTestWorld, type TestWorld } from "../support/context.js";
import { client, serve } from "../support/http.js";
import { traineeDoc } from "../support/documents.js";

let world: TestWorld;
let server: Awaited<ReturnType<typeof serve>>;

beforeAll(async () => {
  world = await createTestWorld();
  server = await serve(createApp(world.deps, world.queues));
});
afterAll(async () => {
  await server.close();
  await world.cleanup();
});

const RUNS = 2_000;
const slug = "hostile-1";
const base = traineeDoc({ slug });
const fields = Object.keys(base).filter((k) => k !== "slug");

/** values that are never valid for any field of the document (no field is a boolean, an object or a list of these) */
const wrongType = fc.oneof(
  fc.boolean(),
  fc.constant({}),
  fc.array(fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.constant({})), { minLength: 1, maxLength: 3 }),
  fc.dictionary(fc.string(), fc.anything({ maxDepth: 3 }), { maxKeys: 4 }),
);
const oddString = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom("\u0000", "\uFEFF", "\u202E", "\uD800", "e\u0301", "👩‍🏫", "<script>", "'; DROP TABLE trainees; --", "${x}", "../../etc"),
  fc.integer({ min: 1_000, max: 60_000 }).map((n) => "A".repeat(n)),
);
const badDate = fc.oneof(
  fc.constantFrom("2026-02-30", "2026-13-01", "0000-00-00", "99999-01-01", "1990-12-10T00:00:00Z", "10/12/1990", "", " ", "NaN"),
  fc.integer({ min: -1e12, max: 1e12 }).map((n) => new Date(n).getTime()), // a number, not a day
);
const dateFields = ["dateOfBirth", "ittStartDate", "ittEndDate"] as const;
const pollutionKey = fc.constantFrom("__proto__", "constructor", "prototype", "__defineGetter__", "hasOwnProperty", "toString");

/** one mutation that makes the document invalid, as a JSON text (raw, so that `__proto__` stays a key) */
const hostileBody = fc.oneof(
  // a field of the wrong type
  fc.record({ field: fc.constantFrom(...fields), value: wrongType }).map(({ field, value }) => JSON.stringify({ ...base, [field]: value })),
  // a bad date
  fc
    .record({ field: fc.constantFrom(...dateFields), value: badDate })
    .map(({ field, value }) => JSON.stringify({ ...base, [field]: value })),
  // a required field missing, and odd strings elsewhere
  fc
    .record({
      missing: fc.constantFrom("lastName", "dateOfBirth", "trainingRoute", "state"),
      field: fc.constantFrom(...fields),
      value: oddString,
    })
    .map(({ missing, field, value }) => {
      const doc: Record<string, unknown> = { ...base, [field]: value };
      delete doc[missing];
      return JSON.stringify(doc);
    }),
  // enums given odd strings
  fc
    .record({ field: fc.constantFrom("sex", "trainingRoute", "studyMode", "state"), value: oddString })
    .map(({ field, value }) => JSON.stringify({ ...base, [field]: `${value}\u0000` })),
  // prototype-pollution keys, at the top and nested, with a wrong type beside them so the document stays invalid
  fc.record({ key: pollutionKey, field: fc.constantFrom(...fields), value: wrongType }).map(({ key, field, value }) => {
    const text = JSON.stringify({ ...base, [field]: value });
    return `{"${key}":{"polluted":true,"isAdmin":true},"courseSubjects":{"${key}":{"polluted":true}},${text.slice(1)}`;
  }),
  // nested junk in a field, deep
  fc
    .record({ field: fc.constantFrom(...fields), value: fc.anything({ maxDepth: 6, maxKeys: 6, withNullPrototype: true }) })
    .map(({ field, value }) => JSON.stringify({ ...base, [field]: { junk: value ?? null } })),
  // bodies that are not a JSON object
  fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: "binary", maxLength: 200 })).filter((s) => !/^\s*\{/.test(s)),
  fc
    .jsonValue({ maxDepth: 3 })
    .filter((v) => v === null || typeof v !== "object" || Array.isArray(v))
    .map((v) => JSON.stringify(v)),
  // truncated JSON
  fc.integer({ min: 1, max: 400 }).map((n) => JSON.stringify(base).slice(0, n)),
  // over the body limit (100 kB), valid otherwise
  fc.integer({ min: 101, max: 400 }).map((kb) => JSON.stringify({ ...base, middleNames: "M".repeat(kb * 1024) })),
);

const contentType = fc.constantFrom(
  "application/json",
  "application/json; charset=utf-8",
  "text/plain",
  "application/x-www-form-urlencoded",
);

describe("hostile documents", () => {
  it(`answers ${RUNS} of them with a 4xx, writes nothing, and still takes a valid document`, async () => {
    const statuses = new Map<number, number>();
    const serverErrors: { status: number; body: string; sent: string }[] = [];
    await fc.assert(
      fc.asyncProperty(hostileBody, contentType, async (body, type) => {
        const response = await got.put(`${server.url}/api/v1/trainees/${slug}`, {
          headers: { authorization: "Bearer test-token", "content-type": type },
          body,
          throwHttpErrors: false,
          retry: { limit: 0 },
        });
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
        if (response.statusCode >= 500) serverErrors.push({ status: response.statusCode, body: response.body, sent: body.slice(0, 300) });
        return response.statusCode >= 400 && response.statusCode < 500;
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    expect(serverErrors).toEqual([]);
    const { prisma } = world.deps;
    expect(await prisma.trainee.count()).toBe(0);
    expect(await prisma.syncTask.count()).toBe(0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();

    // the process is still up and takes a valid document
    const api = client(server.url);
    const valid = traineeDoc();
    expect((await api.put(valid.slug, valid)).status).toBe(201);
    expect(await prisma.trainee.count()).toBe(1);
    console.log(`hostile documents: ${RUNS} sent, answers ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
  });
});
