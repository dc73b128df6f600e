/**
 * TRS v3 `PUT /v3/persons/{trn}` (personal details, trs-api.md §3c) and `GET /v3/persons/{trn}`
 * (the 20250627 response shape, §3e, served for every version that has the endpoint).
 */
import type { RequestHandler } from "express";
import { z } from "zod";
import { answeredByMarkers, type SandboxContext } from "./context.js";
import { sendJson, sendEmpty, sendTrsError, sendValidationProblem } from "./problems.js";
import { degreeTypes, findRouteType, type ProfessionalStatusType } from "./reference-data.js";
import { dateOnly, isDateOnly, jsonObject, parseWith, peekString, queryValue } from "./request-parsing.js";
import type { PersonRecord, RouteRecord } from "./state.js";

/** SetPiiRequest: no validator, only required members; `middleName` must be present (null means ""). */
const setPiiSchema = jsonObject({
  firstName: z.string(),
  middleName: z.string().nullable(),
  lastName: z.string(),
  dateOfBirth: dateOnly,
  emailAddress: z.string().nullish(),
  nationalInsuranceNumber: z.string().nullish(),
  gender: z.enum(["Male", "Female", "Other"]).nullish(),
});

export function setPersonDetails(ctx: SandboxContext): RequestHandler {
  return async (req, res) => {
    const trn = String(req.params.trn);
    const found = ctx.store.markersFor(trn, peekString(req.body, "lastName"));
    if (await answeredByMarkers(ctx, found, res)) return;
    const parsed = parseWith(setPiiSchema, req.body);
    if (!parsed.ok) return sendValidationProblem(res, parsed.errors);

    const person = found.has("notfound") ? undefined : ctx.store.persons.get(trn);
    if (!person) return sendTrsError(res, 10001, `TRN: '${trn}'`);
    if (!person.allowPiiUpdates || found.has("pii")) return sendTrsError(res, 10041);
    if (person.qtsDate !== null || found.has("awarded")) return sendTrsError(res, 10042);
    if (person.eytsDate !== null) return sendTrsError(res, 10057);

    const details = parsed.value;
    // TRS parses these in the handler and throws on a bad one: a 500, not a validation problem.
    const nino = details.nationalInsuranceNumber == null ? null : normalisedNino(details.nationalInsuranceNumber);
    if (nino === undefined || (details.emailAddress != null && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(details.emailAddress))) {
      return sendEmpty(res, 500);
    }
    // SetPii.cs replaces every member: one left out, or null, is cleared (a middle name becomes "").
    person.firstName = details.firstName;
    person.middleName = details.middleName ?? "";
    person.lastName = details.lastName;
    person.dateOfBirth = details.dateOfBirth;
    person.emailAddress = details.emailAddress ?? null;
    person.nationalInsuranceNumber = nino;
    person.gender = details.gender ?? null;
    sendEmpty(res, 204);
  };
}

/** NationalInsuranceNumber.Parse: spaces and hyphens dropped, upper case; undefined when TRS would throw. */
export function normalisedNino(text: string): string | undefined {
  const nino = text.replace(/[\s-]/g, "").toUpperCase();
  const valid =
    /^(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PQR-TW-Z][A-CEGHJ-NPQR-TW-Z][0-9]{6}[A-DFMU]$/.test(nino) || /^[0-9]{2}[A-Z][0-9]{5}$/.test(nino);
  return valid ? nino : undefined;
}

export function getPerson(ctx: SandboxContext): RequestHandler {
  return async (req, res) => {
    const trn = String(req.params.trn);
    const found = ctx.store.markersFor(trn);
    if (await answeredByMarkers(ctx, found, res)) return;
    const dateOfBirth = queryValue(req, "dateOfBirth");
    if (dateOfBirth !== undefined && !isDateOnly(dateOfBirth)) {
      return sendValidationProblem(res, { dateOfBirth: [`The value '${dateOfBirth}' is not valid.`] });
    }
    const person = found.has("notfound") ? undefined : ctx.store.persons.get(trn);
    if (!person || (dateOfBirth !== undefined && dateOfBirth !== person.dateOfBirth)) {
      return sendTrsError(res, 10001, dateOfBirth === undefined ? `TRN: '${trn}'` : `TRN: '${trn}'\nDate of birth: '${dateOfBirth}'`);
    }
    const include = (queryValue(req, "include") ?? "")
      .toLowerCase()
      .split(",")
      .map((part) => part.trim());
    const withRoutes = include.includes("routestoprofessionalstatuses") || include.includes("all");
    sendJson(res, 200, personView(person, withRoutes));
  };
}

function personView(person: PersonRecord, withRoutes: boolean): Record<string, unknown> {
  const routes = [...person.routes.values()];
  const view: Record<string, unknown> = {
    trn: person.trn,
    firstName: person.firstName,
    middleName: person.middleName ?? "",
    lastName: person.lastName,
    dateOfBirth: person.dateOfBirth,
    nationalInsuranceNumber: person.nationalInsuranceNumber,
    emailAddress: person.emailAddress,
    qts: professionalStatus(person.qtsDate, routes, "QualifiedTeacherStatus"),
    eyts: professionalStatus(person.eytsDate, routes, "EarlyYearsTeacherStatus"),
    qtlsStatus: "None",
  };
  // An Option property: present only when asked for with `include` (trs-api.md §2, §3e).
  if (withRoutes) view.routesToProfessionalStatuses = routes.map(routeView);
  return view;
}

function routeTypeView(routeTypeId: string) {
  const type = findRouteType(routeTypeId);
  return {
    routeToProfessionalStatusTypeId: routeTypeId,
    name: type?.name ?? "",
    professionalStatusType: type?.professionalStatusType ?? "QualifiedTeacherStatus",
  };
}

function professionalStatus(holdsFrom: string | null, routes: RouteRecord[], kind: ProfessionalStatusType) {
  if (holdsFrom === null) return null;
  const holding = routes.filter(
    (route) => route.status === "Holds" && findRouteType(route.routeToProfessionalStatusTypeId)?.professionalStatusType === kind,
  );
  return {
    holdsFrom,
    routes: holding.map((route) => ({ routeToProfessionalStatusType: routeTypeView(route.routeToProfessionalStatusTypeId) })),
  };
}

/** The sandbox has no subject, country or provider names, so each reference doubles as its name. */
function routeView(route: RouteRecord) {
  return {
    routeToProfessionalStatusId: route.routeToProfessionalStatusId,
    routeToProfessionalStatusType: routeTypeView(route.routeToProfessionalStatusTypeId),
    status: route.status,
    holdsFrom: route.holdsFrom,
    trainingStartDate: route.trainingStartDate,
    trainingEndDate: route.trainingEndDate,
    trainingSubjects: route.trainingSubjectReferences.map((reference) => ({ reference, name: reference })),
    trainingAgeSpecialism: route.trainingAgeSpecialism,
    trainingCountry: route.trainingCountryReference
      ? { reference: route.trainingCountryReference, name: route.trainingCountryReference }
      : null,
    trainingProvider: route.trainingProviderUkprn ? { ukprn: route.trainingProviderUkprn, name: route.trainingProviderUkprn } : null,
    degreeType: route.degreeTypeId ? { degreeTypeId: route.degreeTypeId, name: degreeTypes.get(route.degreeTypeId) ?? "" } : null,
    inductionExemption: { isExempt: route.isExemptFromInduction ?? false, exemptionReasons: [] },
  };
}
