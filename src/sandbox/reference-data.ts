/**
 * The reference data the sandbox checks requests against: TRS API versions, route types, degree
 * types (trs-api.md §1 and §7) and the DQT v2 enums (dqt-api-v2.openapi.json). Everything here is
 * immutable data plus pure look-ups.
 */
import { trsCountryReferences } from "../reference-data/trs-countries.js";

/** The dated `X-Api-Version` values TRS serves (trs-api.md §1). `Next` is not exposed in production. */
export const trsApiVersions = [
  "20240101",
  "20240307",
  "20240412",
  "20240416",
  "20240606",
  "20240814",
  "20240912",
  "20240920",
  "20250203",
  "20250327",
  "20250425",
  "20250627",
  "20250804",
  "20250905",
  "20260120",
  "20260224",
  "20260416",
  "20260515",
  "20260612",
] as const;

/** The version each endpoint first appears in; earlier versions answer 404 like TRS does. */
export const trsEndpointSince = {
  trnRequests: "20240307",
  getPerson: "20240606",
  setPii: "20250425",
  routesToProfessionalStatuses: "20250627",
} as const;

/** True when `version` is a dated TRS version and is at least `since` (yyyyMMdd compares as text). */
export function versionServes(version: string | undefined, since: string): boolean {
  return version !== undefined && (trsApiVersions as readonly string[]).includes(version) && version >= since;
}

export type ProfessionalStatusType = "QualifiedTeacherStatus" | "EarlyYearsTeacherStatus";

export interface RouteType {
  id: string;
  name: string;
  professionalStatusType: ProfessionalStatusType;
  overseas: boolean;
}

export const assessmentOnlyRouteId = "57b86cef-98e2-4962-a74a-d47c7a34b838";
export const internationalQtsRouteId = "d0b60864-ab1c-4d49-a5c2-ff4bd9872ee1";
export const applyForQtsRouteId = "6f27bdeb-d00a-4ef9-b0ea-26498ce64713";
export const northernIrishRecognitionRouteId = "3604ef30-8f11-4494-8b52-a2f9c5371e03";
export const scottishRecognitionRouteId = "52835b1f-1f2e-4665-abc6-7fb1ef0a80bb";
/** Not permitted by the routes PUT, but named in its country messages. */
export const welshRecognitionRouteId = "877ba701-fe26-4951-9f15-171f3755d50d";

const qts = (id: string, name: string): RouteType => ({ id, name, professionalStatusType: "QualifiedTeacherStatus", overseas: false });
const eyts = (id: string, name: string): RouteType => ({ id, name, professionalStatusType: "EarlyYearsTeacherStatus", overseas: false });
const overseas = (id: string, name: string): RouteType => ({ id, name, professionalStatusType: "QualifiedTeacherStatus", overseas: true });

/** The route types the routes PUT permits (SetRouteToProfessionalStatusHandler._permittedRouteTypeIds). */
const permittedRouteTypes: RouteType[] = [
  qts("6987240e-966e-485f-b300-23b54937fb3a", "Postgraduate Teaching Apprenticeship"),
  qts(assessmentOnlyRouteId, "Assessment Only"),
  qts("4163c2fb-6163-409f-85fd-56e7c70a54dd", "Core"),
  qts("4bd7a9f0-28ca-4977-a044-a7b7828d469b", "Core Flexible"),
  qts("f85962c9-cf0c-415d-9de5-a397f95ae261", "Future Teaching Scholars"),
  qts("34222549-ed59-4c4a-811d-c0894e78d4c3", "Graduate Teacher Programme"),
  qts("10078157-e8c3-42f7-a050-d8b802e83f7b", "HEI"),
  qts("bfef20b2-5ac4-486d-9493-e5a4538e1be9", "High Potential ITT"),
  qts(internationalQtsRouteId, "International QTS"),
  qts("2b4862ca-bd30-4a3a-bfce-52b57c2946c7", "Licensed Teacher Programme"),
  qts("51756384-cfea-4f63-80e5-f193686e0f71", "Overseas Trained Teacher Programme"),
  qts("ef46ff51-8dc0-481e-b158-61ccea9943d9", "Primary and secondary postgraduate fee funded"),
  qts("321d5f9a-9581-4936-9f63-cfddd2a95fe2", "Primary and secondary undergraduate fee funded"),
  qts("97497716-5ac5-49aa-a444-27fa3e2c152a", "Provider led Postgrad"),
  qts("53a7fbda-25fd-4482-9881-5cf65053888d", "Provider led Undergrad"),
  qts("70368ff2-8d2b-467e-ad23-efe7f79995d7", "Registered Teacher Programme"),
  qts("d9490e58-acdc-4a38-b13e-5a5c21417737", "School Direct Training Programme"),
  qts("12a742c3-1cd4-43b7-a2fa-1000bd4cc373", "School Direct Salaried"),
  qts("97e1811b-d46c-483e-aec3-4a2dd51a55fe", "School Direct Self Funded"),
  qts("5b7f5e90-1ca6-4529-baa0-dfba68e698b8", "Teach First Programme"),
  qts("20f67e38-f117-4b42-bbfc-5812aa717b94", "Undergraduate Opt In"),
  qts("5d4c01c1-0841-4306-b49c-48ad6499fdc0", "Teacher Degree Apprenticeship"),
  eyts("d9eef3f8-fde6-4a3f-a361-f6655a42fa1e", "EY ITT Assessment Only"),
  eyts("4477e45d-c531-4c63-9f4b-e157766366fb", "EY ITT Graduate Employment Based"),
  eyts("dbc4125b-9235-41e4-abd2-baabbf63f829", "EY ITT Graduate Entry"),
  eyts("7f09002c-5dad-4839-9693-5e030d037ae9", "EY ITT School Direct"),
  eyts("c97c0fd2-fd84-4949-97c7-b0e2422fb3c8", "EY ITT Undergraduate"),
  eyts("11b66de5-4670-4c82-86aa-20e42df723b7", "EY Teacher Degree Apprenticeship"),
  overseas(applyForQtsRouteId, "Apply for QTS in England"),
  overseas("2b106b9d-ba39-4e2d-a42e-0ce827fdc324", "European Recognition"),
  overseas("ce61056e-e681-471e-af48-5ffbf2653500", "Overseas Trained Teacher Recognition"),
  overseas(northernIrishRecognitionRouteId, "Northern Irish Recognition"),
  overseas(scottishRecognitionRouteId, "Scottish Recognition"),
];

const routeTypesById = new Map(permittedRouteTypes.map((route) => [route.id, route]));

/** GUID comparison ignores case (trs-api.md §7). */
export function findRouteType(id: string): RouteType | undefined {
  return routeTypesById.get(id.toLowerCase());
}

/** Routes whose induction exemption must be stated (the validator's CanBeExemptFromInduction). */
export function canBeExemptFromInduction(routeTypeId: string): boolean {
  return [applyForQtsRouteId, northernIrishRecognitionRouteId, scottishRecognitionRouteId].includes(routeTypeId);
}

/** Degree types register sends (trs-api.md §7). */
export const degreeTypes: ReadonlyMap<string, string> = new Map([
  ["969c89e7-35b8-43d8-be07-17ef76c3b4bf", "BA"],
  ["dbb7c27b-8a27-4a94-908d-4b4404acebd5", "BA (Hons)"],
  ["b7b0635a-22c3-41e3-a420-77b9b58c51cd", "BEd"],
  ["9b35bdfa-cbd5-44fd-a45a-6167e7559de7", "BEd (Hons)"],
  ["35d04fbb-c19b-4cd9-8fa6-39d90883a52a", "BSc"],
  ["9959e914-f4f4-44cd-909f-e170a0f1ac42", "BSc (Hons)"],
  ["40a85dd0-8512-438e-8040-649d7d677d07", "PGCE"],
  ["63d80489-ee3d-43af-8c4a-1d6ae0d65f68", "PGDE"],
  ["dba69141-4101-4e05-80e0-524e3967d589", "Undergraduate Master of Teaching"],
  ["d8e267d2-ed85-4eee-8119-45d0c6cc5f6b", "Professional Graduate Certificate in Education"],
  ["9cf31754-5ac5-46a1-99e5-5c98cba1b881", "Masters, not by research"],
]);

/**
 * The sandbox has no provider, subject or country tables, so it accepts anything shaped like a
 * real reference and refuses one documented value of each, so that tests can provoke the lookup
 * errors: UKPRN `99999999` (10048 / "Organisation not found"), subject `999999` (10045 /
 * "Subject not found"), country `XX` (10047 / "Country not found").
 */
export const unknownUkprn = "99999999";
export const unknownSubject = "999999";
export const unknownCountry = "XX"; // not in TRS's list either

export function isKnownUkprn(ukprn: string): boolean {
  return /^\d{8}$/.test(ukprn) && ukprn !== unknownUkprn;
}

/** HESA subject codes are 6 digits; register's 999001–999003 fit that too (register §7.2). */
export function isKnownSubject(reference: string): boolean {
  return /^\d{6}$/.test(reference) && reference !== unknownSubject;
}

/** TRS's country reference data, compared exactly as TRS does (case included). */
export function isKnownCountry(reference: string): boolean {
  return trsCountryReferences.has(reference);
}

/** DQT v2 programme types: the openapi enum plus the names register sent after it was generated (register §7.3). */
export const dqtProgrammeTypes = [
  "Core",
  "HEI",
  "SchoolDirectTrainingProgrammeSelfFunded",
  "SchoolDirectTrainingProgrammeSalaried",
  "SchoolDirectTrainingProgramme",
  "TeachFirstProgrammeCC",
  "TeachFirstProgramme",
  "OverseasTrainedTeacherProgramme",
  "RegisteredTeacherProgramme",
  "GraduateTeacherProgramme",
  "AssessmentOnlyRoute",
  "CoreFlexible",
  "LicensedTeacherProgramme",
  "UndergraduateOptIn",
  "EYITTAssessmentOnly",
  "EYITTGraduateEntry",
  "EYITTGraduateEmploymentBased",
  "EYITTUndergraduate",
  "EYITTSchoolDirectEarlyYears",
  "Apprenticeship",
  "FutureTeachingScholars",
  "ProviderLedPostgrad",
  "ProviderLedUndergrad",
  "InternationalQualifiedTeacherStatus",
  "HighPotentialITT",
  "PrimaryAndSecondaryPostgraduateFeeFunded",
  "PrimaryAndSecondaryUndergraduateFeeFunded",
] as const;
export type DqtProgrammeType = (typeof dqtProgrammeTypes)[number];

export function isEarlyYearsProgramme(programmeType: string): boolean {
  return programmeType.startsWith("EYITT");
}

export const dqtGenders = ["Male", "Female", "Other", "NotProvided", "NotAvailable"] as const;

export const dqtIttOutcomes = [
  "Pass",
  "Fail",
  "Withdrawn",
  "Deferred",
  "DeferredForSkillsTests",
  "ApplicationReceived",
  "ApplicationUnsuccessful",
  "Approved",
  "Info",
  "InTraining",
  "NoResultSubmitted",
  "UnderAssessment",
] as const;
export type DqtIttOutcome = (typeof dqtIttOutcomes)[number];

export const dqtIttQualificationAims = [
  "ProfessionalStatusOnly",
  "ProfessionalStatusAndAcademicAward",
  "ProfessionalStatusByAssessmentOnly",
] as const;
