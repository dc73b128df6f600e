/**
 * The trainee document the upstream application sends (CONTRACT.md §4), validated at the boundary.
 * Everything inside trs-sync works on the parsed type.
 */
import { z } from "zod";
import { trsCountryReferences, welshCountryReferences } from "../reference-data/trs-countries.js";
import { acceptedAimsText, findQualificationAim } from "./qualification-aims.js";

/** The states a document may carry. */
export const documentStates = [
  "draft",
  "submitted_for_trn",
  "trn_received",
  "recommended_for_award",
  "withdrawn",
  "deferred",
  "awarded",
] as const;
/** Every stored state: a trainee is discarded by DELETE, never by a document. */
export const traineeStates = [...documentStates, "discarded"] as const;
export type TraineeStateName = (typeof traineeStates)[number];

/** Route keys of Register (reference/register-trainee-teachers.md §7.3). */
export const trainingRoutes = [
  "assessment_only",
  "early_years_assessment_only",
  "early_years_postgrad",
  "early_years_salaried",
  "early_years_undergrad",
  "hpitt_postgrad",
  "iqts",
  "opt_in_undergrad",
  "pg_teaching_apprenticeship",
  "provider_led_postgrad",
  "provider_led_undergrad",
  "school_direct_salaried",
  "school_direct_tuition_fee",
  "teach_first",
  "teacher_degree_apprenticeship",
] as const;
export type TrainingRoute = (typeof trainingRoutes)[number];

export const sexes = ["male", "female", "other", "prefer_not_to_say", "sex_not_provided"] as const;

/** Dates outside these years are typing mistakes (and Postgres has no year 0). */
const earliestDate = "1900-01-01";
const latestDate = "2099-12-31";

/** A calendar date `YYYY-MM-DD` that exists (no 2025-02-30), from 1900 to 2099. */
export const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date YYYY-MM-DD")
  .refine((text) => {
    const date = new Date(`${text}T00:00:00Z`);
    return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
  }, "must be a real calendar date")
  .refine((text) => text >= earliestDate && text <= latestDate, `must be between ${earliestDate} and ${latestDate}`);

/** Control characters (NUL above all, which Postgres cannot store) never belong in a name or an address. */
const controlCharacters = /[\u0000-\u001f\u007f]/;
const text = () =>
  z
    .string()
    .trim()
    .refine((value) => !controlCharacters.test(value), "must not contain control characters");

const name = text().min(1, "is required").max(100, "must be at most 100 characters");
const optionalText = (max: number) => text().max(max, `must be at most ${max} characters`).nullish();

export const slugPattern = /^[A-Za-z0-9_-]{1,100}$/;

/**
 * A National Insurance number as TRS parses it (NationalInsuranceNumber.cs): spaces and hyphens
 * removed, upper case, a valid prefix and suffix, or a temporary reference. TRS throws on anything
 * else (a 500, not a 400), so trs-sync refuses it at intake.
 */
const ninoPattern = /^(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PQR-TW-Z][A-CEGHJ-NPQR-TW-Z][0-9]{6}[A-DFMU]$|^[0-9]{2}[A-Z][0-9]{5}$/;
const nationalInsuranceNumber = z
  .string()
  .transform((text) => text.replace(/[\s-]/g, "").toUpperCase())
  .refine((nino) => ninoPattern.test(nino), "must be a National Insurance number, e.g. QQ123456C");

/** A TRS training-country reference (ISO 3166 code), upper-cased: TRS compares them exactly. */
const countryReference = z
  .string()
  .transform((text) => text.trim().toUpperCase())
  .refine((code) => trsCountryReferences.has(code), "must be a country code TRS knows (ISO 3166, e.g. FR or GB-SCT)");

/** Any HESA aim code or Register wording, stored as the wording. */
const qualificationAim = z.string().transform((value, ctx) => {
  const aim = findQualificationAim(value);
  if (!aim) {
    ctx.addIssue({ code: "custom", message: `must be ${acceptedAimsText}` });
    return z.NEVER;
  }
  return aim.wording;
});

export const traineeDocumentSchema = z
  .object({
    slug: z.string().regex(slugPattern, "must be 1-100 letters, digits, - or _"),
    firstNames: name,
    middleNames: text().max(100, "must be at most 100 characters").nullish(),
    lastName: name,
    dateOfBirth: isoDate.meta({ description: "from 1940-01-01, before today" }),
    sex: z.enum(sexes).nullish().meta({ description: "required once the trainee is past draft" }),
    email: text().email("must be an email address").max(100).nullish(),
    trainingRoute: z.enum(trainingRoutes).nullish().meta({ description: "required once the trainee is past draft" }),
    providerUkprn: z
      .string()
      .regex(/^\d{8}$/, "must be 8 digits")
      .nullish(),
    providerName: optionalText(200),
    ittStartDate: isoDate.nullish(),
    ittEndDate: isoDate.nullish(),
    traineeStartDate: isoDate.nullish(),
    studyMode: z.enum(["full_time", "part_time"]).nullish(),
    courseSubjects: z
      .array(z.string().regex(/^\d{6}$/, "must be a 6-digit HESA subject code"))
      .max(3, "at most 3 subjects")
      .default([]),
    courseMinAge: z.number().int().min(0).max(19).nullish(),
    courseMaxAge: z.number().int().min(0).max(19).nullish(),
    ittQualificationAim: qualificationAim
      .nullish()
      .meta({ description: 'a HESA ITT qualification aim code (e.g. "020") or Register\'s wording; stored as the wording' }),
    nationalInsuranceNumber: nationalInsuranceNumber
      .nullish()
      .meta({ description: "spaces and hyphens ignored; null never clears the one TRS holds" }),
    trainingCountry: countryReference
      .nullish()
      .meta({ description: "ISO 3166 code TRS knows; required for iqts, refused for other routes and for Wales; TRS keeps the first one" }),
    state: z.enum(documentStates),
    outcomeDate: isoDate.nullish().meta({ description: "required with recommended_for_award; the award date, not in the future" }),
    withdrawDate: isoDate.nullish().meta({ description: "required with withdrawn" }),
    trn: z
      .string()
      .regex(/^\d{7}$/, "must be 7 digits")
      .nullish()
      .meta({ description: "when the upstream already knows it; null never clears a stored TRN, a different one is a 409" }),
  })
  .strict()
  .meta({
    description:
      "The trainee document (CONTRACT.md §4). Past draft, trainingRoute, providerUkprn, sex and ittStartDate or " +
      "traineeStartDate are required; courseMaxAge must exceed courseMinAge and ittEndDate follow ittStartDate.",
  })
  .superRefine(
    (doc, ctx) => {
      const issue = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
      if (doc.state === "recommended_for_award" && !doc.outcomeDate) issue("outcomeDate", "is required with recommended_for_award");
      if (doc.state === "withdrawn" && !doc.withdrawDate) issue("withdrawDate", "is required with withdrawn");
      if (doc.courseMinAge != null && doc.courseMaxAge != null && doc.courseMaxAge <= doc.courseMinAge) {
        issue("courseMaxAge", "must be greater than courseMinAge");
      }
      if (doc.ittStartDate && doc.ittEndDate && doc.ittEndDate <= doc.ittStartDate) issue("ittEndDate", "must be after ittStartDate");
      if (doc.dateOfBirth < "1940-01-01") issue("dateOfBirth", "must be on or after 1940-01-01");
      // Everything past draft is sent to the teacher records API, which needs these (trs-api.md §3c).
      if (doc.state !== "draft") {
        if (!doc.trainingRoute) issue("trainingRoute", "is required once the trainee is submitted");
        if (!doc.providerUkprn) issue("providerUkprn", "is required once the trainee is submitted");
        if (!doc.ittStartDate && !doc.traineeStartDate)
          issue("ittStartDate", "ittStartDate or traineeStartDate is required once the trainee is submitted");
        // TRS replaces the gender on every personal-details update and never shows it back, so
        // trs-sync must hold one to send: "prefer_not_to_say" and "sex_not_provided" are values too.
        if (!doc.sex) issue("sex", "is required once the trainee is submitted (prefer_not_to_say and sex_not_provided are accepted)");
        if (doc.trainingRoute === "iqts" && !doc.trainingCountry) issue("trainingCountry", "is required for the iqts route");
      }
      // TRS keeps the first training country it receives for a route and wants "GB" for UK routes.
      if (doc.trainingCountry && doc.trainingRoute && doc.trainingRoute !== "iqts") {
        issue("trainingCountry", "is only for the iqts route: UK routes are sent to TRS as GB");
      }
      if (doc.trainingCountry && welshCountryReferences.has(doc.trainingCountry)) {
        issue("trainingCountry", "cannot be Wales (GB-WLS, GB-CYM): TRS refuses it for iQTS");
      }
    },
    // also when fields failed, so that one 400 lists every problem (fields not parsed keep their raw value)
    { when: (payload) => typeof payload.value === "object" && payload.value !== null },
  );

export type TraineeDocument = z.infer<typeof traineeDocumentSchema>;

/** zod issues as `{field: [messages]}` (CONTRACT.md §4, 400 body). */
export function fieldErrors(error: z.ZodError): Record<string, string[]> {
  const errors: Record<string, string[]> = {};
  for (const issue of error.issues) {
    const key = issue.path.length ? issue.path.join(".") : "document";
    const message = issue.code === "unrecognized_keys" ? `unknown field(s): ${issue.keys.join(", ")}` : issue.message;
    (errors[key] ??= []).push(message);
  }
  return errors;
}

/**
 * Rules that depend on today's date (the API would refuse them later, after the document was
 * stored): TRS wants a date of birth before today and an award date (holdsFrom, DQT
 * assessmentDate) that is not in the future (trs-api.md §3a, §3c, §3d).
 */
export function dateProblems(doc: TraineeDocument, now: Date): Record<string, string[]> {
  const today = now.toISOString().slice(0, 10);
  const problems: Record<string, string[]> = {};
  if (doc.dateOfBirth >= today) problems.dateOfBirth = ["must be before today"];
  if (doc.state === "recommended_for_award" && doc.outcomeDate && doc.outcomeDate > today) {
    problems.outcomeDate = ["must not be in the future: it becomes the award date"];
  }
  return problems;
}
