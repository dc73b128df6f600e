/**
 * Seeding the demo through the upstream API over HTTP, exactly as the upstream application would:
 * PUT each trainee's document, wait for its TRN, then send the follow-up changes a few seconds
 * apart. Re-running against the same database is safe: a trainee already where its story ends is
 * left alone, a repeated PUT is a no-op, and a change refused with 409 (the trainee moved on) is
 * reported and skipped.
 */
import { randomUUID } from "node:crypto";
import type { DemoTrainee, TraineeDocument, TraineeView } from "./trainees.js";

export type Say = (line: string) => void;

export interface UpstreamClient {
  put(document: TraineeDocument): Promise<{ status: number; body: unknown }>;
  /** null when the trainee does not exist */
  get(slug: string): Promise<TraineeView | null>;
}

export function upstreamClient(options: { apiBase: string; token: string }): UpstreamClient {
  const headers = { authorization: `Bearer ${options.token}`, "content-type": "application/json" };
  const traineeUrl = (slug: string) => `${options.apiBase}/trainees/${encodeURIComponent(slug)}`;
  return {
    async put(document) {
      const response = await fetch(traineeUrl(document.slug), { method: "PUT", headers, body: JSON.stringify(document) });
      return { status: response.status, body: await response.json().catch(() => null) };
    },
    async get(slug) {
      const response = await fetch(traineeUrl(slug), { headers });
      if (response.status === 404) return null;
      if (!response.ok) throw new Error(`GET ${traineeUrl(slug)} answered ${response.status}`);
      return (await response.json()) as TraineeView;
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function describeAnswer(answer: { status: number; body: unknown }): string {
  const body = (answer.body ?? {}) as { error?: string; errors?: unknown; state?: string };
  if (answer.status === 200 || answer.status === 201) return `${answer.status} (${body.state ?? "?"})`;
  if (answer.status === 409) return `409, skipped: ${body.error ?? "refused"} (the trainee moved on, e.g. in an earlier run)`;
  return `${answer.status}: ${JSON.stringify(body.errors ?? body.error ?? body)}`;
}

/**
 * The sandbox creates the person behind an imported record, so that the TRN is one it knows. On a
 * re-run the stored TRN is kept (a fresh sandbox does not know it: updates of that trainee from a
 * re-run then fail as "person not found", which a re-run does not send unless the story was cut short).
 */
async function existingTrn(options: { sandboxUrl: string; apiKey: string; document: TraineeDocument }): Promise<string> {
  const { document } = options;
  const response = await fetch(`${options.sandboxUrl}/v3/trn-requests`, {
    method: "POST",
    headers: { authorization: `Bearer ${options.apiKey}`, "x-api-version": "20250627", "content-type": "application/json" },
    body: JSON.stringify({
      requestId: `demo-import-${randomUUID()}`,
      person: {
        firstName: document.firstNames,
        middleName: document.middleNames ?? null,
        lastName: document.lastName,
        dateOfBirth: document.dateOfBirth,
        emailAddresses: document.email ? [document.email] : [],
      },
    }),
  });
  const body = (await response.json().catch(() => null)) as { trn?: string | null } | null;
  if (!response.ok || !body?.trn) throw new Error(`the sandbox did not create the imported person (${response.status})`);
  return body.trn;
}

export interface Seeded {
  trainee: DemoTrainee;
  /** the document as last sent */
  document: TraineeDocument;
  /** already where its story ends before this run: nothing is sent */
  alreadyDone: boolean;
}

/** Creates (or re-sends) each trainee's first document. */
export async function seedTrainees(options: {
  client: UpstreamClient;
  trainees: DemoTrainee[];
  sandboxUrl: string;
  sandboxKey: string;
  say: Say;
}): Promise<Seeded[]> {
  const { client, say } = options;
  const seeded: Seeded[] = [];
  for (const trainee of options.trainees) {
    const existing = await client.get(trainee.slug);
    if (existing && trainee.unmet(existing) === null) {
      say(
        `  ${trainee.slug}: already seeded in an earlier run (${existing.state}${existing.trn ? `, TRN ${existing.trn}` : ""}); left as it is`,
      );
      seeded.push({ trainee, document: trainee.document, alreadyDone: true });
      continue;
    }
    let document = trainee.document;
    if (trainee.importWithTrn) {
      const trn = existing?.trn ?? (await existingTrn({ sandboxUrl: options.sandboxUrl, apiKey: options.sandboxKey, document }));
      document = { ...document, trn };
    }
    const answer = await client.put(document);
    say(`  ${trainee.slug}: PUT ${document.state}${document.trn ? ` with TRN ${String(document.trn)}` : ""} → ${describeAnswer(answer)}`);
    if (answer.status >= 400 && answer.status !== 409) throw new Error(`seeding ${trainee.slug} failed: ${describeAnswer(answer)}`);
    seeded.push({ trainee, document, alreadyDone: false });
  }
  return seeded;
}

/** Waits until the trainee has a TRN; null when it has none after timeoutMs. */
async function waitForTrn(client: UpstreamClient, slug: string, timeoutMs: number): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await client.get(slug);
    if (view?.trn) return view.trn;
    if (Date.now() >= deadline) return null;
    await sleep(500);
  }
}

/** Sends one trainee's follow-up changes, in order, each after its pause. */
export async function runFollowUps(options: { client: UpstreamClient; seeded: Seeded; say: Say; trnTimeoutMs: number }): Promise<void> {
  const { client, seeded, say } = options;
  if (seeded.alreadyDone) return;
  let document = seeded.document;
  let trnSeen = false;
  for (const followUp of seeded.trainee.followUps) {
    if (followUp.afterTrn && !trnSeen) {
      const trn = await waitForTrn(client, document.slug, options.trnTimeoutMs);
      if (!trn) {
        say(`  ${document.slug}: no TRN after ${options.trnTimeoutMs / 1000} s; not sending "${followUp.label}" and what follows`);
        return;
      }
      trnSeen = true;
    }
    await sleep(followUp.delayMs);
    document = { ...document, ...followUp.changes };
    const answer = await client.put(document);
    say(`  ${document.slug}: ${followUp.label} → ${describeAnswer(answer)}`);
  }
}

/**
 * Polls every trainee until each is where its story ends or timeoutMs passed; returns what is still
 * unmet per slug (empty when all are done).
 */
export async function waitForStories(options: {
  client: UpstreamClient;
  trainees: DemoTrainee[];
  timeoutMs: number;
}): Promise<Map<string, string>> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const unmet = new Map<string, string>();
    for (const trainee of options.trainees) {
      const view = await options.client.get(trainee.slug);
      const problem = view ? trainee.unmet(view) : "not found";
      if (problem !== null) unmet.set(trainee.slug, problem);
    }
    if (unmet.size === 0 || Date.now() >= deadline) return unmet;
    await sleep(1_000);
  }
}
