/**
 * PUTs of the same new slug started together, hundreds of times, through the one-statement path
 * and the general path at once (a web process on this build beside one on the previous). As the
 * general path alone answers: one PUT creates the trainee (201), every other one of the same
 * document finds it and answers 200 unchanged, and one of a different document updates it (200,
 * changed). Whatever the order: one trainee, one TRN request, one register task.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acceptTraineeDocument, type AcceptResult } from "../../src/trainees/accept-document.js";
import { traineeDocumentSchema, type TraineeDocument } from "../../src/trainees/document.js";
import { createTestWorld, type TestWorld } from "../support/context.js";
import { traineeDoc } from "../support/documents.js";

let world: TestWorld;
beforeAll(async () => {
  world = await createTestWorld({ env: { DATABASE_POOL_SIZE: "22" } });
});
afterAll(() => world.cleanup());

const ROUNDS = 50;
const RACES_PER_ROUND = 4;

function accept(doc: TraineeDocument, lean: boolean): Promise<AcceptResult> {
  return acceptTraineeDocument({
    prisma: world.deps.prisma,
    ...(lean ? { pool: world.deps.pool } : {}),
    doc,
    now: new Date(),
    trnPoll: world.config.trnPoll,
    updateDebounceMs: 0,
  });
}

const summary = (result: AcceptResult) =>
  result.status === 409 ? "409" : `${result.status} ${result.changed ? "changed" : "unchanged"} [${result.work.join(",")}]`;

/** One race: three PUTs of the same document (two lean, one general) and one of an edited copy (lean). */
async function race(): Promise<void> {
  const doc = traineeDocumentSchema.parse(traineeDoc());
  const edited = { ...doc, firstNames: "Augusta" };
  const answers = await Promise.all([accept(doc, true), accept(doc, true), accept(doc, false), accept(edited, true)]);
  const [trainee, ...others] = await world.deps.prisma.trainee.findMany({ where: { slug: doc.slug } });
  expect(others).toEqual([]);
  const traineeId = trainee!.id;
  expect(await world.deps.prisma.trnRequest.count({ where: { traineeId } })).toBe(1);
  expect(await world.deps.prisma.syncTask.findMany({ where: { traineeId }, select: { kind: true } })).toEqual([
    { kind: "register_for_trn" },
  ]);
  const events = await world.deps.prisma.syncEvent.findMany({ where: { traineeId }, orderBy: { id: "asc" } });

  const created = answers.filter((a) => a.status === 201);
  expect(created.map(summary)).toEqual(["201 changed [register_for_trn]"]);
  for (const answer of answers) if (answer.status !== 409) expect(answer.trainee.id).toBe(traineeId);
  const editedFirst = answers[3]!.status === 201;
  if (!editedFirst) expect(summary(answers[3]!)).toBe("200 changed []");
  // Copies of the document that come after the edit: the first changes the name back, the rest are unchanged.
  const copies = answers
    .slice(0, 3)
    .filter((a) => a.status !== 201)
    .map(summary);
  for (const copy of copies) expect(["200 unchanged []", "200 changed []"]).toContain(copy);
  const changedBack = copies.filter((c) => c === "200 changed []").length;
  expect(changedBack).toBe(editedFirst ? 1 : changedBack);
  expect(changedBack).toBeLessThanOrEqual(1);
  // every change is on the timeline: the creation, then one event per PUT that changed the row
  expect(events.map((e) => e.kind)).toEqual([
    "trainee_created",
    ...Array<string>(changedBack + (editedFirst ? 0 : 1)).fill("trainee_changed"),
  ]);
  const stored = await world.deps.prisma.trainee.findUniqueOrThrow({ where: { id: traineeId } });
  expect(stored.firstNames).toBe(changedBack ? doc.firstNames : edited.firstNames);
}

describe("PUTs of the same new slug started together", () => {
  it(`create one trainee, one TRN request and one register task (${ROUNDS * RACES_PER_ROUND} races)`, async () => {
    let races = 0;
    for (let round = 0; round < ROUNDS; round++) {
      await Promise.all(Array.from({ length: RACES_PER_ROUND }, () => race()));
      races += RACES_PER_ROUND;
    }
    expect(races).toBe(ROUNDS * RACES_PER_ROUND);
  }, 180_000);
});
