/**
 * TRS v3 `PUT /v3/persons/{trn}/routes-to-professional-statuses/{reference}` (trs-api.md §3c, §3d):
 * an upsert keyed by (TRN, reference) that carries ITT details and the outcome. Validation follows
 * TRS's SetRouteToProfessionalStatusRequestValidator (V20250627) and its messages; the errorCode
 * checks follow SetRouteToProfessionalStatusHandler, in its order.
 */
import { randomUUID } from "node:crypto";
import type { RequestHandler } from "express";
import { z } from "zod";
import { answeredByMarkers, type SandboxContext } from "./context.js";
import { addError, dateOnly, jsonObject, parseWith, todayOf } from "./request-parsing.js";
import { type ErrorMap, sendEmpty, sendTrsError, sendValidationProblem } from "./problems.js";
import {
  assessmentOnlyRouteId,
  canBeExemptFromInduction,
  degreeTypes,
  findRouteType,
  internationalQtsRouteId,
  isKnownCountry,
  isKnownSubject,
  isKnownUkprn,
  northernIrishRecognitionRouteId,
  scottishRecognitionRouteId,
  welshRecognitionRouteId,
} from "./reference-data.js";

const guid = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i)
  .transform((id) => id.toLowerCase());
const statuses = ["InTraining", "Holds", "Deferred", "DeferredForSkillsTest", "Failed", "Withdrawn", "UnderAssessment"] as const;
const ageSpecialismTypes = ["Range", "FoundationStage", "FurtherEducation", "KeyStage1", "KeyStage2", "KeyStage3", "KeyStage4"] as const;

const setRouteSchema = jsonObject({
  routeToProfessionalStatusTypeId: guid,
  status: z.enum(statuses),
  holdsFrom: dateOnly.nullish(),
  trainingStartDate: dateOnly.nullish(),
  trainingEndDate: dateOnly.nullish(),
  trainingSubjectReferences: z.array(z.string()).nullish(),
  trainingAgeSpecialism: jsonObject({
    type: z.enum(ageSpecialismTypes),
    from: z.number().int().nullish(),
    to: z.number().int().nullish(),
  }).nullish(),
  trainingCountryReference: z.string().nullish(),
  trainingProviderUkprn: z.string().nullish(),
  degreeTypeId: guid.nullish(),
  isExemptFromInduction: z.boolean().nullish(),
});

type SetRoute = z.infer<typeof setRouteSchema>;

function validate(route: SetRoute, today: string): ErrorMap {
  const errors: ErrorMap = {};
  const typeId = route.routeToProfessionalStatusTypeId;
  const overseas = findRouteType(typeId)?.overseas ?? false;

  if (typeId === assessmentOnlyRouteId && route.status === "InTraining") {
    addError(errors, "status", `Status cannot be 'InTraining' when route type is '${assessmentOnlyRouteId}'.`);
  } else if (typeId !== assessmentOnlyRouteId && route.status === "UnderAssessment") {
    addError(errors, "status", `Status cannot be 'UnderAssessment' when route type is '${typeId}'.`);
  }

  const holdsFrom = route.holdsFrom ?? null;
  if (route.status === "Holds" && holdsFrom === null)
    addError(errors, "holdsFrom", "Holds from date must be specified when status is 'Holds'.");
  else if (route.status !== "Holds" && holdsFrom !== null)
    addError(errors, "holdsFrom", `Holds from date cannot be specified when status is '${route.status}'.`);
  else if (holdsFrom !== null && holdsFrom > today) addError(errors, "holdsFrom", "Holds from date cannot be in the future.");

  if (!route.trainingStartDate) addError(errors, "trainingStartDate", "Training start date must be specified.");
  if (!route.trainingEndDate) addError(errors, "trainingEndDate", "Training end date must be specified.");
  else if (route.trainingStartDate && route.trainingEndDate <= route.trainingStartDate) {
    addError(errors, "trainingEndDate", "Training end date cannot be before training start date.");
  }

  // Unconfirmed what TRS does with `null` here (trs-api.md §3c); refusing it keeps clients sending [] as register does.
  if (route.trainingSubjectReferences === null)
    addError(errors, "trainingSubjectReferences", "Training subject references cannot be null.");
  else if ((route.trainingSubjectReferences ?? []).length > 3)
    addError(errors, "trainingSubjectReferences", "A maximum of 3 training subject references are allowed.");

  validateAgeSpecialism(errors, route.trainingAgeSpecialism ?? null);
  const countryError = countryMessage(typeId, overseas, route.trainingCountryReference ?? null);
  if (countryError) addError(errors, "trainingCountryReference", countryError);

  const ukprn = route.trainingProviderUkprn ?? "";
  if (!overseas && ukprn.trim() === "")
    addError(errors, "trainingProviderUkprn", `Training provider UKPRN must be specified when route type is '${typeId}'.`);
  if (overseas && ukprn !== "")
    addError(errors, "trainingProviderUkprn", `Training provider UKPRN cannot be specified when route type is '${typeId}'.`);

  const exempt = route.isExemptFromInduction ?? null;
  if (canBeExemptFromInduction(typeId) && exempt === null)
    addError(errors, "isExemptFromInduction", `Is exempt from induction must be specified when route type is '${typeId}'.`);
  if (!canBeExemptFromInduction(typeId) && exempt !== null)
    addError(errors, "isExemptFromInduction", `Is exempt from induction cannot be specified when route type is '${typeId}'.`);
  return errors;
}

function validateAgeSpecialism(errors: ErrorMap, specialism: SetRoute["trainingAgeSpecialism"]): void {
  if (!specialism) return;
  const { type } = specialism;
  const from = specialism.from ?? null;
  const to = specialism.to ?? null;
  if (type !== "Range") {
    if (from !== null) addError(errors, "trainingAgeSpecialism.from", `From age cannot be specified for specialism type '${type}'.`);
    if (to !== null) addError(errors, "trainingAgeSpecialism.to", `To age cannot be specified for specialism type '${type}'.`);
    return;
  }
  if (from === null) addError(errors, "trainingAgeSpecialism.from", `From age must be specified for specialism type '${type}'.`);
  if (to === null) addError(errors, "trainingAgeSpecialism.to", `To age must be specified for specialism type '${type}'.`);
  else if (from !== null && to <= from)
    addError(errors, "trainingAgeSpecialism.to", `To age cannot be less than From age for specialism type '${type}'.`);
  if (from !== null && (from < 0 || from > 19))
    addError(errors, "trainingAgeSpecialism.from", `From age must be 0-19 inclusive for specialism type '${type}'.`);
  if (to !== null && (to < 0 || to > 19))
    addError(errors, "trainingAgeSpecialism.to", `To age must be 0-19 inclusive for specialism type '${type}'.`);
}

/** The first failing country rule, as FluentValidation's CascadeMode.Stop reports only one. */
function countryMessage(typeId: string, overseas: boolean, country: string | null): string | null {
  const prefix = "Training country reference";
  if (overseas) {
    if (!country) return `${prefix} must be specified when route type is '${typeId}'.`;
    if (["GB", "GB-ENG", "XF", "GB-WLS", "GB-CYM", "XI"].includes(country))
      return `${prefix} cannot be '${country}' when route type is '${typeId}'.`;
    const scottish = typeId === scottishRecognitionRouteId;
    if (scottish && country !== "GB-SCT") return `${prefix} must be 'GB-SCT' when route type is '${scottishRecognitionRouteId}'.`;
    if (!scottish && country === "GB-SCT") return `${prefix} cannot be 'GB-SCT' when route type is not '${scottishRecognitionRouteId}'.`;
    const northernIrish = typeId === northernIrishRecognitionRouteId;
    if (northernIrish && country !== "GB-NIR") return `${prefix} must be 'GB-NIR' when route type is '${northernIrishRecognitionRouteId}'.`;
    if (!northernIrish && country === "GB-NIR")
      return `${prefix} cannot be 'GB-NIR' when route type is not '${northernIrishRecognitionRouteId}'.`;
    return null;
  }
  const iqts = typeId === internationalQtsRouteId;
  if (iqts && !country) return `${prefix} must be specified when route type is '${typeId}'.`;
  if (country === "GB-WLS" || country === "GB-CYM")
    return `${prefix} cannot be '${country}' when route type is not '${welshRecognitionRouteId}'.`;
  if (!iqts && country !== "GB") return `${prefix} must be 'GB' when route type is '${typeId}'.`;
  return null;
}

export function setRouteToProfessionalStatus(ctx: SandboxContext): RequestHandler {
  return async (req, res) => {
    const trn = String(req.params.trn);
    const reference = String(req.params.reference);
    const found = ctx.store.markersFor(trn);
    if (await answeredByMarkers(ctx, found, res)) return;
    const parsed = parseWith(setRouteSchema, req.body);
    if (!parsed.ok) return sendValidationProblem(res, parsed.errors);
    const today = todayOf(ctx.now());
    const errors = validate(parsed.value, today);
    if (Object.keys(errors).length > 0) return sendValidationProblem(res, errors);

    const request = parsed.value;
    const person = found.has("notfound") ? undefined : ctx.store.persons.get(trn);
    if (!person) return sendTrsError(res, 10001, `TRN: '${trn}'`);
    const routeType = findRouteType(request.routeToProfessionalStatusTypeId);
    if (!routeType) return sendTrsError(res, 10043, `Route type: '${request.routeToProfessionalStatusTypeId}'`);
    const subjects = request.trainingSubjectReferences ?? [];
    const unknownSubject = subjects.find((subject) => !isKnownSubject(subject));
    if (unknownSubject !== undefined) return sendTrsError(res, 10045, `Training subject reference: '${unknownSubject}'`);
    const country = request.trainingCountryReference ?? null;
    if (country !== null && !isKnownCountry(country)) return sendTrsError(res, 10047, `Training country reference: '${country}'`);
    const ukprn = request.trainingProviderUkprn ?? null;
    if (ukprn !== null && (!isKnownUkprn(ukprn) || found.has("badukprn")))
      return sendTrsError(res, 10048, `Training provider UKPRN: '${ukprn}'`);
    const degreeTypeId = request.degreeTypeId ?? null;
    if (degreeTypeId !== null && !degreeTypes.has(degreeTypeId)) return sendTrsError(res, 10049, `Degree type: '${degreeTypeId}'`);
    if (found.has("awarded")) return sendTrsError(res, 10052);

    const existing = person.routes.get(reference);
    if (existing) {
      if (routeType.overseas) return sendTrsError(res, 10051, `Route type: '${routeType.id}'`);
      if (findRouteType(existing.routeToProfessionalStatusTypeId)?.professionalStatusType !== routeType.professionalStatusType)
        return sendTrsError(res, 10054);
      if (existing.status === "Holds") return sendTrsError(res, 10052);
      if (existing.status === "Failed" && ["Deferred", "InTraining", "UnderAssessment"].includes(request.status))
        return sendTrsError(res, 10055);
      if (existing.status === "Withdrawn" && request.status === "Deferred") return sendTrsError(res, 10056);
    }

    const holdsFrom = request.holdsFrom ?? null;
    person.routes.set(reference, {
      routeToProfessionalStatusId: existing?.routeToProfessionalStatusId ?? randomUUID(),
      reference,
      routeToProfessionalStatusTypeId: routeType.id,
      status: request.status,
      holdsFrom,
      trainingStartDate: request.trainingStartDate ?? null,
      trainingEndDate: request.trainingEndDate ?? null,
      trainingSubjectReferences: subjects,
      trainingAgeSpecialism: request.trainingAgeSpecialism ?? null,
      // TRS sets the country only when it creates the route: a later PUT cannot change it
      trainingCountryReference: existing ? existing.trainingCountryReference : country,
      trainingProviderUkprn: ukprn,
      degreeTypeId,
      isExemptFromInduction: request.isExemptFromInduction ?? null,
    });
    if (request.status === "Holds" && holdsFrom !== null) {
      ctx.store.recordAward(person, routeType.professionalStatusType === "EarlyYearsTeacherStatus" ? "eyts" : "qts", holdsFrom);
    }
    sendEmpty(res, 204);
  };
}
