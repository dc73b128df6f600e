/**
 * The record TRS holds beside what trs-sync holds, field by field, with the differences marked:
 * support's "retrieve the teacher" recipe (support playbook) without a Rails console. For TRS the
 * route trs-sync sends is compared with TRS's route of the same type (TRS does not show which
 * client's route is which); for DQT, the personal details.
 */
import type { Trainee } from "../generated/prisma/client.js";
import { trsRouteTypeIds, isTrainingRoute } from "./code-sets.js";
import { trsPersonCall, trsRouteBody, trsRouteStatus, type TrsRouteStatus } from "./payloads.js";

export interface ComparedField {
  field: string;
  ours: string;
  theirs: string;
  differs: boolean;
}

export interface Comparison {
  person: ComparedField[];
  /** null when TRS holds no route of the trainee's route type */
  route: ComparedField[] | null;
  differences: number;
  /** the record as the API answered, for the curious */
  raw: string;
}

const text = (value: unknown): string => {
  if (value === null || value === undefined || value === "") return "";
  if (Array.isArray(value)) return value.map(text).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
};

function compare(field: string, ours: unknown, theirs: unknown): ComparedField {
  const a = text(ours);
  const b = text(theirs);
  return { field, ours: a, theirs: b, differs: a.toLowerCase() !== b.toLowerCase() };
}

type Record_ = Record<string, unknown>;
const object = (value: unknown): Record_ => (value && typeof value === "object" ? (value as Record_) : {});

/** What trs-sync would send for the route now (the award's Holds once awarded). */
function expectedRoute(trainee: Trainee) {
  const status: TrsRouteStatus =
    trainee.state === "awarded" ? "Holds" : trsRouteStatus(trainee.state === "withdrawn" ? "withdraw" : "update", trainee);
  try {
    return trsRouteBody({ ...trainee, outcomeDate: trainee.outcomeDate ?? trainee.awardedAt }, status);
  } catch {
    return null;
  }
}

export function compareWithRecord(trainee: Trainee, record: unknown, kind: "trs" | "dqt"): Comparison {
  const held = object(record);
  const person: ComparedField[] = [
    compare("First name", trainee.firstNames, held.firstName),
    compare("Middle name", trainee.middleNames ?? "", held.middleName ?? ""),
    compare("Last name", trainee.lastName, held.lastName),
    compare("Date of birth", trainee.dateOfBirth.toISOString().slice(0, 10), held.dateOfBirth ?? held.birthDate),
    compare("Email", trainee.email, held.emailAddress ?? held.email),
    compare("National Insurance number", trainee.nationalInsuranceNumber, held.nationalInsuranceNumber),
  ];
  if (kind === "trs") {
    const gender = (() => {
      try {
        return trsPersonCall(trainee).body.gender;
      } catch {
        return null;
      }
    })();
    // TRS never shows the gender back: nothing to compare, but support sees what we send
    person.push({ field: "Gender (TRS does not show it)", ours: text(gender), theirs: "", differs: false });
  }
  let route: ComparedField[] | null = null;
  if (kind === "trs" && isTrainingRoute(trainee.trainingRoute)) {
    const typeId = trsRouteTypeIds[trainee.trainingRoute];
    const routes = Array.isArray(held.routesToProfessionalStatuses) ? (held.routesToProfessionalStatuses as unknown[]).map(object) : [];
    const theirs = routes.find(
      (r) => text(object(r.routeToProfessionalStatusType).routeToProfessionalStatusTypeId).toLowerCase() === typeId,
    );
    const ours = expectedRoute(trainee);
    if (theirs) {
      const age = object(theirs.trainingAgeSpecialism);
      route = [
        compare("Route status", ours?.status, theirs.status),
        compare("Holds from", ours?.holdsFrom, theirs.holdsFrom),
        compare("Training start", ours?.trainingStartDate, theirs.trainingStartDate),
        compare("Training end", ours?.trainingEndDate, theirs.trainingEndDate),
        compare(
          "Subjects",
          ours?.trainingSubjectReferences,
          (Array.isArray(theirs.trainingSubjects) ? theirs.trainingSubjects : []).map((s) => object(s).reference),
        ),
        compare(
          "Age range",
          ours?.trainingAgeSpecialism ? `${ours.trainingAgeSpecialism.from}-${ours.trainingAgeSpecialism.to}` : "",
          age.from !== undefined && age.from !== null ? `${text(age.from)}-${text(age.to)}` : "",
        ),
        compare("Provider UKPRN", ours?.trainingProviderUkprn, object(theirs.trainingProvider).ukprn),
        compare("Degree type", ours?.degreeTypeId, object(theirs.degreeType).degreeTypeId),
        compare("Training country", ours?.trainingCountryReference, object(theirs.trainingCountry).reference),
      ];
    }
  }
  const differences = [...person, ...(route ?? [])].filter((f) => f.differs).length;
  return { person, route, differences, raw: JSON.stringify(record, null, 2) };
}
