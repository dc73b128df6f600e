/**
 * The QTS race: the record at TRS (or DQT) already holds QTS or EYTS when trs-sync sends an update,
 * because the award reached it another way (Register before the cutover, the TRS console, an earlier
 * run whose answer was lost). The API then refuses the update (TRS 10052 on the route, DQT "Teacher
 * already has QTS/EYTS date"), though there may be nothing wrong: if the record holds exactly what
 * trs-sync would send, with the award it is about to send, the update has nothing left to do.
 *
 * This compares the record with the trainee as it will be once awarded, and names the fields that
 * differ. Only field names leave this module: the values are personal data, shown to support on the
 * trainee page's "Check the record at TRS", never written to the timeline or the logs.
 */
import type { Trainee } from "../generated/prisma/client.js";
import { dqtInitialTeacherTraining } from "./payloads.js";
import { compareWithRecord } from "./record-comparison.js";
import { isoDay } from "./records.js";

/** The trainee as trs-sync will send it: a trainee recommended for award is about to be awarded. */
function asItWillBe(trainee: Trainee): Trainee {
  return trainee.state === "recommended_for_award" ? { ...trainee, state: "awarded" } : trainee;
}

const text = (value: unknown): string => (typeof value === "string" ? value : "");
const object = (value: unknown): Record<string, unknown> => (value && typeof value === "object" ? (value as Record<string, unknown>) : {});

/**
 * Personal details an update does not carry, or the API does not show back, are no evidence either
 * way: DQT's update sends no National Insurance number and its GET shows no email.
 */
const notCompared: Record<"trs" | "dqt", Set<string>> = {
  trs: new Set(),
  dqt: new Set(["Email", "National Insurance number"]),
};

/** DQT: the ITT record of the trainee's provider, against what the update sends for it. */
function dqtTrainingDifferences(trainee: Trainee, held: Record<string, unknown>): string[] {
  let ours;
  try {
    ours = dqtInitialTeacherTraining(trainee);
  } catch {
    return ["Initial teacher training (the trainee's own details are incomplete)"];
  }
  const records = Array.isArray(held.initialTeacherTraining) ? held.initialTeacherTraining.map(object) : [];
  const theirs = records.find((itt) => text(object(itt.provider).ukprn) === ours.providerUkprn);
  if (!theirs) return ["Initial teacher training (none from the trainee's provider)"];
  const differing: string[] = [];
  if (text(theirs.programmeStartDate).slice(0, 10) !== ours.programmeStartDate) differing.push("Programme start date");
  if (text(theirs.programmeEndDate).slice(0, 10) !== ours.programmeEndDate) differing.push("Programme end date");
  if (text(theirs.programmeType) !== ours.programmeType) differing.push("Programme type");
  return differing;
}

/**
 * The fields in which the record differs from what trs-sync holds, as names; empty when the record
 * already says exactly what trs-sync would. A personal detail trs-sync does not hold is no difference
 * (an update sends back what TRS holds), but the route or ITT record and the award date always count.
 */
export function awardedRecordDifferences(trainee: Trainee, record: unknown, kind: "trs" | "dqt"): string[] {
  const expected = asItWillBe(trainee);
  const comparison = compareWithRecord(expected, record, kind);
  const differing = comparison.person
    .filter((field) => field.differs && field.ours !== "" && !notCompared[kind].has(field.field))
    .map((field) => field.field);
  if (kind === "trs") {
    if (comparison.route === null) differing.push("Route (TRS holds none of the trainee's route type)");
    else differing.push(...comparison.route.filter((field) => field.differs).map((field) => field.field));
    return differing;
  }
  const held = object(record);
  differing.push(...dqtTrainingDifferences(expected, held));
  const awardDate = expected.state === "awarded" ? (expected.awardedAt ?? expected.outcomeDate) : null;
  const ours = awardDate ? isoDay(awardDate) : "";
  if (ours !== (text(held.qtsDate) || text(held.eytsDate)).slice(0, 10)) differing.push("QTS/EYTS date");
  return differing;
}
