import { expect } from "vitest";
import { ApiError } from "../../src/clients/api-error.js";
/**
 * Named nock scenarios for the TRS v3 and DQT v2 APIs, with the exact bodies of
 * reference/trs-api.md (§3 endpoints, §4 codes, §5 error shapes, §6 rate limits). Each call sets up
 * one interceptor and returns its scope, so a test can `expect(scope.isDone()).toBe(true)`.
 *
 *   trsScenario(baseUrl, "pending")                      // POST /v3/trn-requests → 200 Pending
 *   trsScenario(baseUrl, "rateLimited", { on: "route" }) // any scenario can answer another call
 *   dqtScenario(baseUrl, "noIncompleteItt10005")         // PUT …/itt-outcome → 400 10005
 *
 * Bodies echo the request id (from the body, query or path) and the TRN (from the path), so the
 * clients' checks that the answer is about what they asked pass.
 */
import nock from "nock";

export const defaultTrn = "1234567";

export interface ScenarioOptions<Call extends string> {
  /** the call the scenario answers; every scenario has a default */
  on?: Call;
  /** match only this request id (query or path); otherwise any */
  requestId?: string;
  /** match only this TRN in the path; also the TRN in answers (default 1234567 or the path's) */
  trn?: string;
  /** match only this route reference (TRS) */
  slug?: string;
  /** match exactly this query string (DQT update and itt-outcome); otherwise any */
  query?: Record<string, string>;
  /** `timeout`: ms before any answer comes (default 1000; give the client a smaller timeoutMs) */
  delayMs?: number;
  /** `rateLimited`: the Retry-After header (default "30") */
  retryAfter?: string;
  /** DQT `passWithQtsDate`: the qtsDate answered (default 2026-07-20) */
  qtsDate?: string | null;
}

interface Seen {
  requestId: string;
  trn: string;
}

type Answer = { status: number; body?: unknown; headers?: Record<string, string> };
type Scenario<Call extends string> = {
  on: Call;
  answer: ((seen: Seen, options: ScenarioOptions<Call>) => Answer) | { networkError: string } | "delayed";
};

const json = { "content-type": "application/json; charset=utf-8" };
const problemJson = { "content-type": "application/problem+json; charset=utf-8" };
const ok = (body: unknown, status = 200): Answer => ({ status, body, headers: json });
const problem = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): Answer => ({
  status,
  body: { ...body, status },
  headers: { ...problemJson, ...headers },
});
const coded = (status: number, errorCode: number, title: string, detail?: string): Answer =>
  problem(status, { title, ...(detail === undefined ? {} : { detail }), errorCode });
const validation = (errors: Record<string, string[]>): Answer =>
  problem(400, { type: "https://tools.ietf.org/html/rfc9110#section-15.5.1", title: "One or more validation errors occurred.", errors });
const empty = (status: number): Answer => ({ status });

const common = {
  rateLimited: (per: string) => (_: Seen, o: ScenarioOptions<string>) =>
    problem(
      429,
      { title: "API calls quota exceeded", detail: `A maximum of ${per} are permitted.` },
      { "retry-after": o.retryAfter ?? "30" },
    ),
  serverError: () => empty(500),
  serviceUnavailable: () => empty(503),
  unauthorized: () => empty(401),
  forbidden: () => empty(403),
  endpointNotFound: () => empty(404),
  notJson: () => ({ status: 200, body: "<html><body>Service maintenance</body></html>", headers: { "content-type": "text/html" } }),
};

// ---------------------------------------------------------------------------------------------
// TRS v3 (X-Api-Version 20250627)

export type TrsCall = "requestTrn" | "getTrnRequest" | "person" | "route" | "getPerson";

const trnInfo = (seen: Seen, status: "Completed" | "Pending" | "Rejected", trn: string | null) => ({
  requestId: seen.requestId,
  status,
  trn,
  potentialDuplicate: status === "Pending",
  accessYourTeachingQualificationsLink: trn ? `https://access-your-teaching-qualifications.education.gov.uk/?trn_token=abc` : null,
});
const trnDetail = (seen: Seen) => `TRN: '${seen.trn}'`;

const trsScenarios = {
  completed: { on: "requestTrn", answer: (s) => ok(trnInfo(s, "Completed", s.trn)) },
  pending: { on: "requestTrn", answer: (s) => ok(trnInfo(s, "Pending", null)) },
  /** 20260416+ only; at 20250627 a rejected request is 10062 */
  rejected: { on: "getTrnRequest", answer: (s) => ok(trnInfo(s, "Rejected", null)) },
  duplicateRequest10029: {
    on: "requestTrn",
    answer: (s) => coded(409, 10029, "TRN request has already been created.", `TRN request ID: '${s.requestId}'`),
  },
  unknownRequest10031: {
    on: "getTrnRequest",
    answer: (s) => coded(404, 10031, "TRN request does not exist.", `TRN request ID: '${s.requestId}'`),
  },
  unsupportedStatus10062: {
    on: "getTrnRequest",
    answer: (s) => coded(400, 10062, "Unsupported TRN request status.", `TRN request ID: '${s.requestId}'`),
  },
  validationError: { on: "requestTrn", answer: () => validation({ "person.dateOfBirth": ["Birth date is out of expected range."] }) },
  /** 2xx whose body is not a TrnRequestInfo */
  malformed: { on: "requestTrn", answer: (s) => ok({ requestId: s.requestId, status: "Done", trn: 1234567 }) },
  notJson: { on: "requestTrn", answer: common.notJson },
  noContent: { on: "route", answer: () => empty(204) },
  notFound10001: { on: "route", answer: (s) => coded(404, 10001, "Person not found.", trnDetail(s)) },
  holdsFromMissing: { on: "route", answer: () => validation({ holdsFrom: ["Holds from date must be specified when status is 'Holds'."] }) },
  alreadyAwarded10052: { on: "route", answer: () => coded(400, 10052, "Route to professional status already awarded.", "") },
  invalidRouteType10043: {
    on: "route",
    answer: () => coded(400, 10043, "Invalid route type.", "Route type: '00000000-0000-0000-0000-000000000000'"),
  },
  invalidSubject10045: {
    on: "route",
    answer: () => coded(400, 10045, "Invalid training subject reference.", "Training subject reference: '100425'"),
  },
  invalidCountry10047: {
    on: "route",
    answer: () => coded(400, 10047, "Invalid training country reference.", "Training country reference: 'GB'"),
  },
  invalidUkprn10048: {
    on: "route",
    answer: () => coded(400, 10048, "Invalid training provider UKPRN.", "Training provider UKPRN: '10007799'"),
  },
  invalidDegreeType10049: {
    on: "route",
    answer: () => coded(400, 10049, "Invalid degree type.", "Degree type: '00000000-0000-0000-0000-000000000000'"),
  },
  routeNotUpdatable10051: { on: "route", answer: () => coded(400, 10051, "Updates not allowed for route type.", "") },
  routeTypeChange10054: { on: "route", answer: () => coded(400, 10054, "Unable to change route type.", "") },
  failedLocked10055: { on: "route", answer: () => coded(400, 10055, "Unable to change fail professional status status.", "") },
  withdrawnLocked10056: { on: "route", answer: () => coded(400, 10056, "Unable to change withdrawn professional status status.", "") },
  piiNotPermitted10041: { on: "person", answer: (s) => coded(400, 10041, "Updates to PII data is not permitted.", trnDetail(s)) },
  hasQts10042: { on: "person", answer: (s) => coded(400, 10042, "Updates to PII data is not permitted. Person has QTS.", trnDetail(s)) },
  hasEyts10057: { on: "person", answer: (s) => coded(400, 10057, "Updates to PII data is not permitted. Person has EYTS.", trnDetail(s)) },
  person: {
    on: "getPerson",
    answer: (s) =>
      ok({
        trn: s.trn,
        firstName: "Ada",
        middleName: "",
        lastName: "Lovelace",
        dateOfBirth: "1990-05-17",
        nationalInsuranceNumber: null,
        emailAddress: null,
        qts: null,
        eyts: null,
        qtlsStatus: "None",
      }),
  },
  recordInactive10058: { on: "getPerson", answer: (s) => coded(404, 10058, `Record ${s.trn} is not active.`, trnDetail(s)) },
  recordMerged10059: { on: "getPerson", answer: (s) => coded(404, 10059, `Record ${s.trn} has been merged with 7654321.`, trnDetail(s)) },
  rateLimited: { on: "requestTrn", answer: common.rateLimited("1000 calls per 60 seconds") },
  serverError: { on: "requestTrn", answer: common.serverError },
  serviceUnavailable: { on: "requestTrn", answer: common.serviceUnavailable },
  unauthorized: { on: "requestTrn", answer: common.unauthorized },
  forbidden: { on: "requestTrn", answer: common.forbidden },
  endpointNotFound: { on: "requestTrn", answer: common.endpointNotFound },
  timeout: { on: "requestTrn", answer: "delayed" },
  connectionRefused: { on: "requestTrn", answer: { networkError: "ECONNREFUSED" } },
  connectionReset: { on: "requestTrn", answer: { networkError: "ECONNRESET" } },
} satisfies Record<string, Scenario<TrsCall>>;

export type TrsScenarioName = keyof typeof trsScenarios;
export const trsScenarioNames = Object.keys(trsScenarios) as TrsScenarioName[];

const anySegment = "[^/?]+";
const segment = (value: string | undefined) => (value ? escapeRegExp(encodeURIComponent(value)) : anySegment);

function trsInterceptor(scope: nock.Scope, call: TrsCall, o: ScenarioOptions<TrsCall>): nock.Interceptor {
  switch (call) {
    case "requestTrn":
      return scope.post("/v3/trn-requests");
    case "getTrnRequest":
      return scope.get("/v3/trn-requests").query(o.requestId ? { requestId: o.requestId } : true);
    case "person":
      return scope.put(new RegExp(`^/v3/persons/${segment(o.trn)}$`));
    case "route":
      return scope.put(new RegExp(`^/v3/persons/${segment(o.trn)}/routes-to-professional-statuses/${segment(o.slug)}$`));
    case "getPerson":
      return scope.get(new RegExp(`^/v3/persons/${segment(o.trn)}(\\?.*)?$`));
  }
}

/** One TRS answer, by name; see trsScenarioNames. */
export function trsScenario(baseUrl: string, name: TrsScenarioName, options: ScenarioOptions<TrsCall> = {}): nock.Scope {
  const scenario: Scenario<TrsCall> = trsScenarios[name];
  const call = options.on ?? scenario.on;
  const scope = nock(baseUrl);
  answerWith(trsInterceptor(scope, call, options), scenario, options);
  return scope;
}

// ---------------------------------------------------------------------------------------------
// DQT v2 (legacy)

export type DqtCall = "requestTrn" | "getTrnRequest" | "update" | "ittOutcome" | "getPerson";

const dqtInfo = (seen: Seen, status: "Completed" | "Pending", trn: string | null) => ({
  requestId: seen.requestId,
  status,
  trn,
  potentialDuplicate: status === "Pending",
  qtsDate: null,
  slugId: "AbCdEf123456GhJkLmNoPqRs",
});
const dqtCoded = (status: number, errorCode: number, title: string) => problem(status, { title, errorCode });

const dqtScenarios = {
  completed: { on: "requestTrn", answer: (s) => ok(dqtInfo(s, "Completed", s.trn), 201) },
  /** the same request id again: 200 with the same body */
  alreadyCreated: { on: "requestTrn", answer: (s) => ok(dqtInfo(s, "Completed", s.trn), 200) },
  pending: { on: "requestTrn", answer: (s) => ok(dqtInfo(s, "Pending", null), 201) },
  pollCompleted: { on: "getTrnRequest", answer: (s) => ok(dqtInfo(s, "Completed", s.trn)) },
  pollPending: { on: "getTrnRequest", answer: (s) => ok(dqtInfo(s, "Pending", null)) },
  /** DQT's 404 for an unknown request id has no errorCode */
  requestNotFound: { on: "getTrnRequest", answer: () => empty(404) },
  malformed: { on: "ittOutcome", answer: () => ok({ trn: 1234567, qtsDate: "20 July 2026" }) },
  updated: { on: "update", answer: () => empty(204) },
  passWithQtsDate: { on: "ittOutcome", answer: (s, o) => ok({ trn: s.trn, qtsDate: o.qtsDate === undefined ? "2026-07-20" : o.qtsDate }) },
  withdrawn: { on: "ittOutcome", answer: (s) => ok({ trn: s.trn, qtsDate: null }) },
  teacherNotFound10001: { on: "update", answer: () => dqtCoded(404, 10001, "Teacher with specified TRN not found") },
  multipleTeachers10002: { on: "update", answer: () => dqtCoded(409, 10002, "Multiple teachers found") },
  qtsDateMismatch10003: { on: "ittOutcome", answer: () => dqtCoded(400, 10003, "Teacher already has QTS/EYTS date") },
  multipleItt10004: { on: "ittOutcome", answer: () => dqtCoded(400, 10004, "Teacher has multiple incomplete ITT records") },
  noIncompleteItt10005: { on: "ittOutcome", answer: () => dqtCoded(400, 10005, "Teacher has no incomplete ITT record") },
  noQts10006: { on: "ittOutcome", answer: () => dqtCoded(400, 10006, "Teacher has no QTS record") },
  multipleQts10007: { on: "ittOutcome", answer: () => dqtCoded(400, 10007, "Teacher has multiple QTS records") },
  organisationNotFound: { on: "update", answer: () => validation({ "initialTeacherTraining.providerUkprn": ["Organisation not found"] }) },
  subjectNotFound: { on: "update", answer: () => validation({ "initialTeacherTraining.subject1": ["Subject not found"] }) },
  countryNotFound: { on: "update", answer: () => validation({ "initialTeacherTraining.trainingCountryCode": ["Country not found"] }) },
  programmeTypeChange: {
    on: "update",
    answer: () => validation({ "initialTeacherTraining.programmeType": ["ProgrammeType cannot be changed"] }),
  },
  alreadyHasQts: {
    on: "update",
    answer: () => validation({ "initialTeacherTraining.programmeType": ["Teacher already has QTS/EYTS date"] }),
  },
  teacher: {
    on: "getPerson",
    answer: (s) =>
      ok({
        trn: s.trn,
        firstName: "Ada",
        lastName: "Lovelace",
        middleName: "",
        dateOfBirth: "1990-05-17",
        qtsDate: null,
        eytsDate: null,
        initialTeacherTraining: [],
      }),
  },
  teacherMissing: { on: "getPerson", answer: () => empty(404) },
  rateLimited: { on: "requestTrn", answer: common.rateLimited("300 calls per 60s") },
  /** Dataverse service protection: 429 with no body */
  rateLimitedEmpty: { on: "requestTrn", answer: () => empty(429) },
  serverError: { on: "requestTrn", answer: common.serverError },
  unauthorized: { on: "requestTrn", answer: common.unauthorized },
  timeout: { on: "requestTrn", answer: "delayed" },
  connectionRefused: { on: "requestTrn", answer: { networkError: "ECONNREFUSED" } },
} satisfies Record<string, Scenario<DqtCall>>;

export type DqtScenarioName = keyof typeof dqtScenarios;
export const dqtScenarioNames = Object.keys(dqtScenarios) as DqtScenarioName[];

function dqtInterceptor(scope: nock.Scope, call: DqtCall, o: ScenarioOptions<DqtCall>): nock.Interceptor {
  const query = o.query ?? true;
  switch (call) {
    case "requestTrn":
      return scope.put(new RegExp(`^/v2/trn-requests/${segment(o.requestId)}$`));
    case "getTrnRequest":
      return scope.get(new RegExp(`^/v2/trn-requests/${segment(o.requestId)}$`));
    case "update":
      return scope.patch(new RegExp(`^/v2/teachers/update/${segment(o.trn)}$`)).query(query);
    case "ittOutcome":
      return scope.put(new RegExp(`^/v2/teachers/${segment(o.trn)}/itt-outcome$`)).query(query);
    case "getPerson":
      return scope.get(new RegExp(`^/v2/teachers/${segment(o.trn)}(\\?.*)?$`));
  }
}

/** One DQT answer, by name; see dqtScenarioNames. */
export function dqtScenario(baseUrl: string, name: DqtScenarioName, options: ScenarioOptions<DqtCall> = {}): nock.Scope {
  const scenario: Scenario<DqtCall> = dqtScenarios[name];
  const call = options.on ?? scenario.on;
  const scope = nock(baseUrl);
  answerWith(dqtInterceptor(scope, call, options), scenario, options);
  return scope;
}

// ---------------------------------------------------------------------------------------------

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The request id (JSON body, `requestId` query or /trn-requests/{id}) and the TRN (path) of a request. */
async function seenIn(request: Request, options: ScenarioOptions<string>): Promise<Seen> {
  const url = new URL(request.url);
  let requestId = url.searchParams.get("requestId") ?? /\/trn-requests\/([^/?]+)/.exec(url.pathname)?.[1] ?? "";
  if (!requestId && request.method === "POST") {
    const body = (await request.json().catch(() => ({}))) as { requestId?: unknown };
    if (typeof body.requestId === "string") requestId = body.requestId;
  }
  const trn = /\/(?:persons|teachers(?:\/update)?)\/(\d{7})/.exec(url.pathname)?.[1] ?? options.trn ?? defaultTrn;
  return { requestId: decodeURIComponent(requestId), trn };
}

function answerWith<Call extends string>(interceptor: nock.Interceptor, scenario: Scenario<Call>, options: ScenarioOptions<Call>): void {
  const { answer } = scenario;
  if (typeof answer === "object") {
    interceptor.replyWithError(Object.assign(new Error(`simulated ${answer.networkError}`), { code: answer.networkError }));
    return;
  }
  if (answer === "delayed") {
    // Headers and body both wait. nock's .delay() holds back only the body, and a request aborted
    // while that body waits leaves an unhandled rejection inside @mswjs/interceptors.
    interceptor.reply(async () => {
      await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 1000));
      return [200, "{}", json] as const;
    });
    return;
  }
  interceptor.reply(async (request: Request) => {
    const reply = answer(await seenIn(request, options), options);
    const body = reply.body === undefined ? "" : typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
    return [reply.status, body, reply.headers ?? {}] as const;
  });
}

/** The ApiError a call rejected with (fails the test when it resolved or threw something else). */
export async function apiError(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}
