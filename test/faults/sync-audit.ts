/**
 * The fault suite's closing check, from the sandbox's request log: one TRN request id per trainee,
 * accepted once; every distinct change to a trainee sent to TRS (a person PUT) in order, and TRS's
 * record ends equal to the last document. A PUT sent again with the same body after a fault (its
 * answer lost with the worker that sent it) is counted, not hidden.
 */
import { expect } from "vitest";
import type { Harness } from "../support/harness.js";

export interface Synced {
  slug: string;
  trn: string;
  /** the first names TRS is sent in person PUTs, one per document, in order: the TRN's arrival sends the first */
  edits: string[];
}

export async function auditSync(h: Harness, trainees: Synced[]): Promise<{ trnPosts: number; personPuts: number; resent: number }> {
  const log = h.sandbox.requestLog();
  const posts = log.filter((r) => r.method === "POST" && r.path === "/v3/trn-requests");
  const idOf = (r: (typeof posts)[number]) => (r.body as { requestId: string } | null)?.requestId;
  // a request whose answer was lost with a killed worker stays at status 0 in the log (it was handled)
  const arrived = posts.filter((r) => r.status === 0 || (r.status >= 200 && r.status < 300)).map(idOf);
  // one id per trainee, never accepted twice: the same id sent again is answered 409
  expect(new Set(posts.map(idOf)).size).toBe(trainees.length);
  expect(new Set(arrived).size).toBe(trainees.length);
  expect(posts.filter((r) => r.status >= 200 && r.status < 300).map(idOf).length).toBe(
    new Set(posts.filter((r) => r.status >= 200 && r.status < 300).map(idOf)).size,
  );
  expect(posts.filter((r) => r.status >= 300).map((r) => r.status)).toEqual(posts.filter((r) => r.status >= 300).map(() => 409));
  // and TRS made one person per trainee
  expect(h.sandbox.persons()).toHaveLength(trainees.length);
  const { prisma } = h.world.deps;
  for (const t of trainees) expect(await prisma.trnRequest.count({ where: { trainee: { slug: t.slug } } }), t.slug).toBe(1);
  expect(await prisma.syncTask.count({ where: { state: "failed" } })).toBe(0);

  let personPuts = 0;
  let resent = 0;
  const persons = new Map(h.sandbox.persons().map((p) => [p.trn, p]));
  for (const t of trainees) {
    const names = log
      .filter((r) => r.method === "PUT" && r.path === `/v3/persons/${t.trn}` && (r.status === 0 || (r.status >= 200 && r.status < 300)))
      .map((r) => (r.body as { firstName?: string } | null)?.firstName ?? "(answer lost)");
    const distinct = names.filter((name, i) => i === 0 || name !== names[i - 1]);
    expect(distinct, `${t.slug}: one PUT per change, in order`).toEqual(t.edits);
    personPuts += names.length;
    resent += names.length - distinct.length;
    expect(persons.get(t.trn)?.firstName, `${t.slug}: TRS holds the last document`).toBe(t.edits.at(-1));
  }
  return { trnPosts: posts.length, personPuts, resent };
}
