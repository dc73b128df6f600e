/**
 * The trainees the throughput scenarios use: one definition, read by the seeding of trs-sync's
 * database and by the plain BullMQ baseline, so that both send the same calls.
 */
import { createHash } from "node:crypto";
import pg from "pg";
import type { Trainee } from "../src/generated/prisma/client.js";

const day = (iso: string) => new Date(`${iso}T00:00:00Z`);

/** Trainee number `n` of a scenario's `label`; its last name identifies it in the sandbox's request log. */
export function benchTrainee(label: string, n: number, overrides: Partial<Trainee> = {}): Trainee {
  const now = new Date();
  return {
    id: uuidOf(`${label}-${n}`),
    slug: `${label}-${n}`,
    trn: null,
    state: "submitted_for_trn",
    firstNames: "Bench",
    middleNames: null,
    lastName: lastNameOf(label, n),
    dateOfBirth: day(`19${70 + (n % 30)}-0${1 + (n % 9)}-1${n % 10}`),
    sex: n % 2 ? "female" : "male",
    email: `trainee${n}@example.com`,
    trainingRoute: "provider_led_postgrad",
    providerUkprn: "10000001",
    providerName: "Example Teacher Training",
    ittStartDate: day("2026-09-01"),
    ittEndDate: day("2027-07-31"),
    traineeStartDate: null,
    studyMode: "full_time",
    courseSubjects: ["100425"],
    courseMinAge: 11,
    courseMaxAge: 16,
    ittQualificationAim: "Postgraduate Certificate in Education",
    nationalInsuranceNumber: null,
    trainingCountry: null,
    outcomeDate: null,
    withdrawDate: null,
    documentHash: createHash("sha256").update(`${label}-${n}`).digest("hex"),
    submittedForTrnAt: now,
    trnReceivedAt: null,
    recommendedForAwardAt: null,
    awardedAt: null,
    discardedAt: null,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

/** Letters only: the sandbox reads `+word` markers from last names. */
export function lastNameOf(label: string, n: number): string {
  return `${label.replace(/[^a-z]/gi, "")}${n.toString(36)}`.replace(/\d/g, (d) => "abcdefghij"[Number(d)]!);
}

function uuidOf(text: string): string {
  const hex = createHash("md5").update(text).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Inserts rows (camelCase objects) into `table`, in one statement per 5,000 rows. */
export async function insertRows(client: pg.ClientBase, table: string, rows: object[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 5_000) {
    const chunk = rows.slice(i, i + 5_000).map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [snake(k), v])));
    const columns = Object.keys(chunk[0]!)
      .map((c) => `"${c}"`)
      .join(", ");
    await client.query(`INSERT INTO ${table} (${columns}) SELECT ${columns} FROM json_populate_recordset(NULL::${table}, $1::json)`, [
      JSON.stringify(chunk, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
    ]);
  }
}

/** The upstream document (PUT /api/v1/trainees/{slug}) of trainee `n`: a new trainee submitted for a TRN. */
export function benchDocument(label: string, n: number): Record<string, unknown> {
  const t = benchTrainee(label, n);
  const iso = (d: Date | null) => (d ? d.toISOString().slice(0, 10) : null);
  return {
    slug: t.slug,
    firstNames: t.firstNames,
    middleNames: null,
    lastName: t.lastName,
    dateOfBirth: iso(t.dateOfBirth),
    sex: t.sex,
    email: t.email,
    trainingRoute: t.trainingRoute,
    providerUkprn: t.providerUkprn,
    providerName: t.providerName,
    ittStartDate: iso(t.ittStartDate),
    ittEndDate: iso(t.ittEndDate),
    traineeStartDate: null,
    studyMode: t.studyMode,
    courseSubjects: t.courseSubjects,
    courseMinAge: t.courseMinAge,
    courseMaxAge: t.courseMaxAge,
    ittQualificationAim: t.ittQualificationAim,
    nationalInsuranceNumber: null,
    state: "submitted_for_trn",
  };
}

/** The rows a PUT of trainee `n` submitted for a TRN leaves behind: the trainee, its open TRN request and its register task. */
export function submittedRows(label: string, from: number, to: number) {
  const now = new Date();
  const trainees = [];
  const requests = [];
  const tasks = [];
  for (let n = from; n <= to; n++) {
    const trainee = benchTrainee(label, n);
    const requestRowId = uuidOf(`request-${label}-${n}`);
    trainees.push(trainee);
    requests.push({
      id: requestRowId,
      traineeId: trainee.id,
      requestId: uuidOf(`request-id-${label}-${n}-${now.getTime()}`),
      activeTraineeId: trainee.id,
      state: "requested",
      submittedAt: now,
      deadlineAt: new Date(now.getTime() + 4 * 86_400_000),
      pollCount: 0,
      createdAt: now,
      updatedAt: now,
    });
    tasks.push({
      traineeId: trainee.id,
      kind: "register_for_trn",
      phase: 0,
      state: "pending",
      trnRequestId: requestRowId,
      availableAt: now,
      createdAt: now,
      updatedAt: now,
    });
  }
  return { trainees, requests, tasks };
}
