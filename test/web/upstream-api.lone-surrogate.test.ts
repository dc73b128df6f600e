/**
 * A lone UTF-16 surrogate passes validation (a JS string may hold one) but is not valid UTF-8: the
 * general path's text parameters store it as U+FFFD, and the one-statement PUT, which sends the
 * trainee as jsonb, must store the same and answer the same, for a new trainee and for a trainee
 * stored earlier with such a name.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/web/app.js";
import { acceptTraineeDocument } from "../../src/trainees/accept-document.js";
import { traineeDocumentSchema } from "../../src/trainees/document.js";
import { createTestWorld, type TestWorld } from "../support/context.js";
import { client, serve } from "../support/http.js";
import { traineeDoc } from "../support/documents.js";

let world: TestWorld;
let server: Awaited<ReturnType<typeof serve>>;
let api: ReturnType<typeof client>;
beforeAll(async () => {
  world = await createTestWorld();
  server = await serve(createApp(world.deps, world.queues));
  api = client(server.url);
});
afterAll(async () => {
  await server.close();
  await world.cleanup();
});

const storedFirstNames = async (slug: string) => (await world.deps.prisma.trainee.findUniqueOrThrow({ where: { slug } })).firstNames;

function acceptGeneral(doc: ReturnType<typeof traineeDoc>) {
  return acceptTraineeDocument({
    prisma: world.deps.prisma,
    doc: traineeDocumentSchema.parse(doc),
    now: new Date(),
    trnPoll: world.deps.config.trnPoll,
    updateDebounceMs: 0,
  });
}

describe("a document with a lone surrogate in a name", () => {
  it("is created by the one-statement PUT as the general path creates it", async () => {
    const lean = traineeDoc({ firstNames: "Ada\uD800" });
    const general = traineeDoc({ firstNames: "Ada\uD800" });
    expect((await api.put(lean.slug, lean)).status).toBe(201);
    expect((await acceptGeneral(general)).status).toBe(201);
    expect(await storedFirstNames(lean.slug)).toBe("Ada\uFFFD");
    expect(await storedFirstNames(lean.slug)).toBe(await storedFirstNames(general.slug));
    // the same document again is unchanged, not a 500
    expect((await api.put(lean.slug, lean)).status).toBe(200);
  });

  it("does not stop later PUTs of a trainee stored earlier with such a name", async () => {
    const doc = traineeDoc({ firstNames: "Ada\uD800" });
    expect((await acceptGeneral(doc)).status).toBe(201);
    expect((await api.put(doc.slug, doc)).status).toBe(200);
    expect((await api.put(doc.slug, { ...doc, lastName: "Byron" })).status).toBe(200);
    expect((await world.deps.prisma.trainee.findUniqueOrThrow({ where: { slug: doc.slug } })).lastName).toBe("Byron");
  });
});
