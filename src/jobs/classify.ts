/**
 * Error classes (CONTRACT.md §7): every failure gets a stable snake_case class, a short title, a
 * kind that tells the job layer what to do, and a remediation text for support staff. The list
 * lives in the one table below, which also says which errors fall into each class: first match
 * wins, so specific error codes and DQT field messages come before the status ranges they fall back
 * to. Codes and bodies: reference/trs-api.md §3–§5; remediations quote Register's support playbook
 * (reference/seeds/support-playbook.txt) where it has one.
 */
import { ApiError, isApiError } from "../clients/api-error.js";
import { SlackError } from "../clients/slack.js";
import { InvalidTraineeError, type SyncOperation } from "../clients/teacher-records.js";
import { isDatabaseUnavailable, isDeterministicDatabaseError, SyncError } from "../errors.js";

/**
 * transient: retried with backoff; permanent: fails at once and waits for support; ignorable: the
 * API already has what we sent, counts as success; waiting: nothing is wrong yet, the work waits
 * (for a TRN, for a rate limit window, or for support to extend polling).
 */
export type ErrorKind = "transient" | "permanent" | "ignorable" | "waiting";

export interface ErrorClass {
  /** stable snake_case name, stored on tasks and events and used in filters: never rename */
  name: string;
  title: string;
  kind: ErrorKind;
  /** what support staff do about it, 1–3 sentences */
  remediation: string;
  /**
   * The API answers the same for this trainee whatever is sent later (an ignorable refusal that
   * cannot change): the call is not sent again, which spares the rate limit.
   */
  refusedForGood?: true;
}

export interface Classified {
  errorClass: ErrorClass;
  /** null when no HTTP answer came */
  httpStatus: number | null;
  errorCode: number | null;
  /** for logs, tasks and the dashboard: never names, dates of birth or emails */
  message: string;
  retryAfterMs: number | null;
}

/** One way an ApiError falls into a class; every condition given must hold. */
interface ApiErrorMatch {
  /** a status, or an inclusive range */
  status?: number | readonly [number, number];
  /** the body's numeric errorCode (trs-api.md §4) */
  errorCodes?: readonly number[];
  withoutErrorCode?: true;
  /** DQT v2 reports most failures only as messages in a 400 `errors` map (trs-api.md §3c DQT); case-insensitive substring */
  fieldMessages?: readonly string[];
  withFieldErrors?: true;
  /** for status 0 */
  networkCodes?: readonly string[];
  /** the endpoint template */
  endpoint?: RegExp;
  /** what the job was doing when it failed (an error can mean success for one and not another) */
  operations?: readonly SyncOperation[];
}

interface Row extends ErrorClass {
  /** ApiErrors that fall into the class (any one matching); none for classes raised by name or type */
  when?: readonly ApiErrorMatch[];
}

const dqtTrnRequest = /^\/v2\/trn-requests\//;
const dqtTeacher = /^\/v2\/teachers\//;
const personEndpoint = /^\/v3\/(persons|trns)\//;

const table: readonly Row[] = [
  // -- No answer, rate limits, keys -------------------------------------------------------------
  {
    name: "api_timeout",
    title: "The API did not answer in time",
    kind: "transient",
    remediation:
      "The teacher records API did not answer within the timeout. trs-sync retries this by itself; if every retry timed out, check whether TRS is having an outage and retry the job once it is back.",
    when: [{ status: 0, networkCodes: ["ETIMEDOUT", "ESOCKETTIMEDOUT", "ECONNABORTED"] }],
  },
  {
    name: "api_unreachable",
    title: "Could not connect to the API",
    kind: "transient",
    remediation:
      "trs-sync could not reach the teacher records API (connection refused or reset, or the address was not found). It retries by itself; if it keeps failing, ask the operators to check TRS_API_BASE_URL and the network, then retry the job.",
    when: [{ status: 0 }],
  },
  {
    name: "rate_limited",
    title: "Rate limited by the API",
    kind: "waiting",
    remediation:
      "TRS limits how many calls we make per minute (1000 for our key). Nothing to do: the queue pauses for the time TRS asks and then carries on.",
    when: [{ status: 429 }],
  },
  {
    name: "unauthorized",
    title: "API key refused",
    kind: "permanent",
    remediation:
      "The teacher records API refused our API key (401). Ask the operators to check TRS_API_KEY (or DQT_API_KEY): it may have expired or been replaced. Retry the job once it is fixed.",
    when: [{ status: 401 }],
  },
  {
    name: "forbidden",
    title: "API key lacks a role",
    kind: "permanent",
    remediation:
      "Our API key is valid but lacks the role this call needs: CreateTrn (TRN requests), UpdatePerson (personal details), SetProfessionalStatus (training status and award) or GetPerson (looking a record up). Ask the TRS team to add the role to our key, then retry the job.",
    when: [{ status: 403 }],
  },
  {
    name: "api_unavailable",
    title: "The API had a server error",
    kind: "transient",
    remediation:
      "This is a server error at the teacher records API; you can usually just re-run the job and it will succeed. If it keeps failing, speak with the TRS team about the trainee: a 500 with no body can mean a duplicate provider record on their side.",
    when: [{ status: [500, 599] }],
  },

  // -- TRN requests (trs-api.md §3a, §3b) -------------------------------------------------------
  {
    name: "trn_request_exists",
    title: "TRN request already received by TRS",
    kind: "ignorable",
    remediation:
      "TRS already holds a TRN request with our request id, so an earlier attempt got through. Nothing to do: the job goes on polling for the TRN.",
    when: [{ errorCodes: [10029] }],
  },
  {
    name: "trn_request_unknown",
    title: "TRS does not know the TRN request",
    kind: "permanent",
    remediation:
      "TRS has no TRN request with our request id: it never arrived, or was made with another API key. Use “Re-submit for TRN” on the trainee page (or `npm run cli -- resubmit-trn SLUG --actor NAME`), which sends a new request.",
    when: [{ errorCodes: [10031] }, { status: 404, withoutErrorCode: true, endpoint: dqtTrnRequest }],
  },
  {
    name: "trn_request_rejected",
    title: "TRN request rejected",
    kind: "permanent",
    remediation:
      "TRS rejected the TRN request or marked it dormant, so no TRN will come from it. Ask the TRS team why; once the trainee's details are corrected upstream, use “Re-submit for TRN” on the trainee page (or `npm run cli -- resubmit-trn SLUG --actor NAME`).",
    when: [{ errorCodes: [10062] }],
  },
  {
    name: "trn_request_unconfirmed",
    title: "TRN request sent, answer unclear",
    kind: "transient",
    remediation:
      "TRS answered the TRN request in a way trs-sync could not read (an unreadable success, a redirect, or a request timeout), so it may have received it. trs-sync sends the same request id again by itself, never a new one; if every attempt failed, retry the job once TRS answers normally.",
  },
  {
    name: "trn_request_timed_out",
    title: "No TRN before the polling deadline",
    kind: "waiting",
    remediation:
      "TRS has not allocated a TRN before our polling deadline. Ask the TRS team why the TRN is taking a while (a potential duplicate waits for manual review); if there is no issue, use “Restart TRN polling” on the trainee page (or `npm run cli -- poll-trn SLUG --for 4d --actor NAME`), which sets a new deadline.",
  },
  {
    name: "trn_missing",
    title: "Waiting for a TRN",
    kind: "waiting",
    remediation:
      "This work needs a TRN and the trainee has none yet; it is sent by itself once the TRN arrives. If the trainee has no TRN request pending (see TRN requests on the trainee page), use “Re-submit for TRN” there.",
  },
  {
    name: "trn_conflict",
    title: "TRS allocated a different TRN",
    kind: "permanent",
    remediation:
      "TRS gave this trainee a different TRN from the one we already hold, which may mean a duplicate record. Ask the TRS team which TRN is right, correct the trainee's TRN upstream, then retry the job, or cancel it (`npm run cli -- cancel TASK_ID --reason … --actor NAME`) if nothing must be sent.",
  },

  // -- The person record (trs-api.md §3c, §3e) --------------------------------------------------
  {
    name: "person_not_found",
    title: "Teacher record not found",
    kind: "permanent",
    remediation:
      "The teacher records API has no active record with the trainee's TRN: at TRS the record was deactivated or merged into another (its updates check no date of birth); on DQT the date of birth we hold may also differ from theirs. Ask the TRS team which record the trainee should have, correct the TRN (or the date of birth) upstream, then retry the job.",
    when: [{ errorCodes: [10001] }, { status: 404, withoutErrorCode: true, endpoint: dqtTeacher }],
  },
  {
    name: "multiple_teachers",
    title: "More than one teacher record matches",
    kind: "permanent",
    remediation:
      "DQT found more than one teacher record for this TRN and date of birth. Ask the TRS team to resolve the duplicate records, then retry the job.",
    when: [{ errorCodes: [10002] }],
  },
  {
    name: "record_inactive",
    title: "Teacher record deactivated",
    kind: "permanent",
    remediation:
      "The trainee's TRN belongs to a record TRS has deactivated. Ask the TRS team which record the trainee should have, correct the TRN upstream, then retry the job.",
    when: [{ errorCodes: [10058] }],
  },
  {
    name: "record_merged",
    title: "Teacher record merged into another",
    kind: "permanent",
    remediation:
      "TRS merged the trainee's record into another one. Ask the TRS team for the retained TRN (the error detail may name it), correct the TRN upstream, then retry the job.",
    when: [{ errorCodes: [10059] }, { status: [300, 399], endpoint: personEndpoint }],
  },
  {
    name: "pii_update_not_permitted",
    title: "Personal details cannot be changed at TRS",
    kind: "ignorable",
    // TRS sets "allow updates from the source application" for no person it creates now (SetPii.cs),
    // and QTS or EYTS once held is not taken away through the API
    refusedForGood: true,
    remediation:
      "TRS does not take personal-detail changes for this record (we did not create it, or the person already holds QTS or EYTS). This counts as success, as it did in Register: nothing to do. If the details really must change, ask the TRS team.",
    when: [{ errorCodes: [10041, 10042, 10057] }],
  },

  // -- Route to professional status, TRS (trs-api.md §3c, §3d) ----------------------------------
  {
    name: "already_awarded",
    title: "Route already awarded at TRS",
    kind: "ignorable",
    remediation: "TRS already shows the route as awarded (Holds). For an award this counts as success: nothing to do.",
    when: [{ errorCodes: [10052], operations: ["award"] }],
  },
  {
    name: "route_already_awarded",
    title: "Route awarded at TRS: change refused",
    kind: "permanent",
    remediation:
      "TRS holds QTS or EYTS on this route, so it refuses any other status (a withdrawal or an update after the award): nothing was changed there. Check with the provider what is right; an award can only be undone by the TRS team in their console. Cancel the job once that is settled.",
    when: [{ errorCodes: [10052] }],
  },
  {
    name: "invalid_route_type",
    title: "Route type not accepted",
    kind: "permanent",
    remediation:
      "TRS does not accept the route type sent for the trainee's training route. Check the training route upstream; if it is right, pass the job to the developers (the route table may need updating), then retry.",
    when: [{ errorCodes: [10043] }],
  },
  {
    name: "invalid_subject",
    title: "Training subject not recognised",
    kind: "permanent",
    remediation:
      "TRS does not recognise one of the trainee's course subject codes. Check the HESA subject codes on the trainee (the agreed codes 999001, 999002 and 999003 are valid), correct them upstream, then retry.",
    when: [{ errorCodes: [10045] }],
  },
  {
    name: "invalid_country",
    title: "Training country not accepted",
    kind: "permanent",
    remediation:
      "TRS does not know the training country sent for this iQTS trainee. Correct the trainee's training country upstream (a TRS country code such as FR; UK routes are always sent as GB), then retry the job.",
    when: [{ errorCodes: [10047] }],
  },
  {
    name: "invalid_provider_ukprn",
    title: "Provider UKPRN not known to TRS",
    kind: "permanent",
    remediation:
      "TRS does not know the provider UKPRN on the trainee. Check the UKPRN upstream; if it is right, send the UKPRN and the provider's details to the TRS team so they can add it, then re-run the job.",
    when: [{ errorCodes: [10048] }],
  },
  {
    name: "invalid_degree_type",
    title: "Degree type not recognised",
    kind: "permanent",
    remediation:
      "The API does not recognise the degree type sent for the trainee's ITT qualification aim. Check the aim upstream; if it is right, pass the job to the developers (the degree-type table may need updating), then retry.",
    when: [{ errorCodes: [10049, 10012] }, { fieldMessages: ["ITT qualification not found"] }],
  },
  {
    name: "route_not_updatable",
    title: "Overseas route cannot be changed",
    kind: "permanent",
    remediation:
      "The record's route is an overseas recognition route, which TRS does not let anyone change once created. Ask the TRS team whether this trainee's route belongs on that record; cancel the job (`npm run cli -- cancel TASK_ID --reason … --actor NAME`) if nothing must change.",
    when: [{ errorCodes: [10051] }],
  },
  {
    name: "route_type_change",
    title: "Cannot switch between QTS and EYTS routes",
    kind: "permanent",
    remediation:
      "TRS does not allow a route to change between QTS and EYTS. If the trainee's training route really changed, ask the TRS team to change it on their side, then retry the job.",
    when: [{ errorCodes: [10054] }],
  },
  {
    name: "failed_status_locked",
    title: "Route is Failed at TRS",
    kind: "permanent",
    remediation:
      "The route is recorded as Failed at TRS and cannot go back to in training, under assessment or deferred. Check with the provider what the state should be and ask the TRS team to correct their record, then retry the job, or cancel it if nothing must change.",
    when: [{ errorCodes: [10055, 10027] }, { fieldMessages: ["Unable to change Failed Result"] }],
  },
  {
    name: "withdrawn_status_locked",
    title: "Route is Withdrawn at TRS",
    kind: "permanent",
    remediation:
      "The route is recorded as Withdrawn at TRS and cannot be deferred. Check with the provider: if the trainee should be training again, undo the withdrawal upstream (that is sent as in training); otherwise cancel the job.",
    when: [{ errorCodes: [10056, 10026] }, { fieldMessages: ["Result cannot be unwithdrawn to deferred"] }],
  },

  // -- ITT and QTS records, DQT (trs-api.md §3c, §3d DQT) --------------------------------------
  {
    name: "already_has_qts",
    title: "Record already holds QTS/EYTS",
    kind: "permanent",
    remediation:
      "The record already holds QTS or EYTS, so its training details can no longer be updated. trs-sync sends an update before the award that follows it, so the award most likely reached the record another way or in an earlier run. Ask the TRS team for the record and compare it with the trainee page: if there are no differences, cancel the job (`npm run cli -- cancel TASK_ID --reason … --actor NAME`); if there are, speak to the TRS team and maybe the provider about what needs updating.",
    when: [{ fieldMessages: ["Teacher already has QTS/EYTS date"] }],
  },
  {
    name: "awarded_record_differs",
    title: "Record already awarded, and it differs from ours",
    kind: "permanent",
    remediation:
      'The record already holds QTS or EYTS (the award reached it another way), so it refused the update, and it differs from ours in the fields the message names: open "Check the record at TRS" on the trainee page to see both. If the record is right, correct the trainee upstream; if ours is, ask the TRS team to correct theirs. Then retry the job once the two agree, or cancel it.',
  },
  {
    name: "qts_date_mismatch",
    title: "Different QTS/EYTS date already recorded",
    kind: "permanent",
    remediation:
      "The record already holds a QTS/EYTS date that differs from the outcome date we sent. Compare the two: if the record is right, correct the outcome date upstream; otherwise ask the TRS team to correct theirs, then retry.",
    when: [{ errorCodes: [10003] }],
  },
  {
    name: "multiple_itt_records",
    title: "Several ITT records in progress",
    kind: "permanent",
    remediation:
      "The teacher record has more than one ITT record in progress, so the API cannot tell which to change. Ask the TRS team to close the extra one, then retry the job.",
    when: [{ errorCodes: [10004] }, { fieldMessages: ["Teacher has multiple incomplete ITT records"] }],
  },
  {
    name: "no_incomplete_itt_record",
    title: "No ITT record in progress",
    kind: "permanent",
    remediation:
      "If this came from an award, the trainee may already be awarded at TRS: if everything matches on their side (trainee details, the provider), cancel the job and award the trainee upstream. From a withdrawal, cross-reference with TRS; if in any doubt, check with the provider what state the trainee should be in.",
    when: [{ errorCodes: [10005] }, { fieldMessages: ["Teacher has no incomplete ITT record"] }],
  },
  {
    name: "no_qts_record",
    title: "No QTS record",
    kind: "permanent",
    remediation:
      "The state of the record at TRS may not match ours; we have seen this when a trainee was withdrawn there and awarded here. Check whether support already has comms about the trainee, and check with the provider what state the record should be in, then retry the job or cancel it.",
    when: [{ errorCodes: [10006] }, { fieldMessages: ["Teacher has no QTS record"] }],
  },
  {
    name: "multiple_qts_records",
    title: "Several QTS records",
    kind: "permanent",
    remediation: "The teacher record has more than one QTS record. Ask the TRS team to resolve the duplicate, then retry the job.",
    when: [{ errorCodes: [10007, 10053] }, { fieldMessages: ["Teacher has multiple QTS records"] }],
  },
  {
    name: "status_not_permitted_for_route",
    title: "Training status does not fit the route",
    kind: "permanent",
    remediation:
      "DQT accepts “under assessment” only on the assessment-only route and “in training” only on the others, and its ITT record has a different route from the trainee. Check the training route upstream and with the TRS team, then retry.",
    when: [
      { errorCodes: [10024, 10025] },
      { fieldMessages: ["InTraining not permitted for AssessmentOnlyRoute", "UnderAssessment only permitted for AssessmentOnlyRoute"] },
    ],
  },
  {
    name: "organisation_not_found",
    title: "Organisation not found",
    kind: "permanent",
    remediation:
      "DQT has no organisation with the UKPRN we sent. Check the provider's UKPRN on the trainee; if it is right, send the UKPRN and the provider's details to the TRS team so they can add it on their side, then re-run the job.",
    when: [{ errorCodes: [10008] }, { fieldMessages: ["Organisation not found"] }],
  },
  {
    name: "subject_not_found",
    title: "Subject not found",
    kind: "permanent",
    remediation:
      "DQT does not recognise one of the trainee's course subject codes. Check the HESA subject codes on the trainee (the agreed codes 999001, 999002 and 999003 are valid), correct them upstream, then retry.",
    when: [{ errorCodes: [10009] }, { fieldMessages: ["Subject not found"] }],
  },
  {
    name: "country_not_found",
    title: "Country not found",
    kind: "permanent",
    remediation:
      "DQT does not recognise the country code sent. Check the trainee's route and country upstream and ask the TRS team which code they expect, then retry.",
    when: [{ errorCodes: [10010] }, { fieldMessages: ["Country not found"] }],
  },
  {
    name: "programme_type_change",
    title: "Programme type cannot change",
    kind: "permanent",
    remediation:
      "DQT does not let the training route (programme type) of an existing ITT record change. Check that the route change upstream is right; if it is, ask the TRS team to change it on their side, then retry.",
    // "cannot be change" also matches the 2022 DQT spelling
    when: [{ errorCodes: [10011] }, { fieldMessages: ["ProgrammeType cannot be change"] }],
  },

  // -- Fallbacks by status range ----------------------------------------------------------------
  {
    name: "endpoint_not_found",
    title: "API address or version not found",
    kind: "permanent",
    remediation:
      "The API answered 404 with no error code: the address or API version we call does not exist. Ask the operators to check TRS_API_BASE_URL and TRS_API_VERSION (sent as X-Api-Version, normally 20250627), then retry.",
    when: [{ status: 404, withoutErrorCode: true }],
  },
  {
    name: "validation_failed",
    title: "The API refused the data",
    kind: "permanent",
    remediation:
      "The API refused the data we sent; the message names the fields and the response excerpt on the trainee page says why. Correct those fields on the trainee upstream and retry; if the data looks right, pass the job to the developers.",
    when: [{ status: [400, 499], withoutErrorCode: true, withFieldErrors: true }],
  },
  {
    name: "bad_request",
    title: "The API refused the request",
    kind: "permanent",
    remediation:
      "The API refused the request with an answer this list does not know. Read the response excerpt on the trainee page: if it points at data, correct the trainee upstream and retry the job; otherwise pass the job to the developers.",
    when: [{ status: [400, 499] }],
  },
  {
    name: "unexpected_response",
    title: "Unexpected answer from the API",
    kind: "permanent",
    remediation:
      "The API answered, but not in the documented shape, so trs-sync did not trust the answer. Pass the job with its response excerpt to the developers, and retry it once they say so.",
    when: [{ status: [200, 399] }],
  },

  // -- Raised by trs-sync itself ----------------------------------------------------------------
  {
    name: "invalid_trainee_data",
    title: "Trainee data incomplete for the API",
    kind: "permanent",
    remediation:
      "The trainee lacks data the API needs (the message names it: training route, provider UKPRN, start date, outcome date or TRN). Fix the trainee upstream, then retry the job.",
  },
  {
    name: "slack_unavailable",
    title: "Slack did not take the alert",
    kind: "transient",
    remediation:
      "Slack did not accept an alert; it is kept and sent again by itself, so there is nothing to do. If it keeps failing, ask the operators to check SLACK_WEBHOOK_URL.",
  },
  {
    name: "job_stalled",
    title: "The job kept stopping mid-run",
    kind: "permanent",
    remediation:
      "The job was interrupted several times in a row before it could finish (its worker was killed or crashed each time). Check with the operators that the workers are healthy (memory, restarts), then retry the job; if it stops again, pass the job id to the developers.",
  },
  {
    name: "database_unavailable",
    title: "Database unavailable",
    kind: "transient",
    remediation:
      "trs-sync could not reach its own database (PostgreSQL) to record this job. It retries by itself; if it keeps failing, ask the operators to check the database, then retry the job.",
  },
  {
    name: "database_error",
    title: "trs-sync could not store the data",
    kind: "permanent",
    remediation:
      "The database refused what trs-sync tried to store for this job (a duplicate or invalid value), and trying again would fail the same way. Pass the job id and message to the developers; retry the job once they say so.",
  },
  {
    name: "internal_error",
    title: "Unexpected error in trs-sync",
    kind: "transient",
    remediation:
      "Something unexpected went wrong inside trs-sync; it is retried by itself. If it keeps failing, pass the job id and message to the developers and retry the job once they say so.",
  },
];

/** Every error class, in a stable order (the order of the table, which is also the match order). */
export const errorClasses: readonly ErrorClass[] = table.map(({ name, title, kind, remediation, refusedForGood }) =>
  Object.freeze({ name, title, kind, remediation, ...(refusedForGood ? { refusedForGood } : {}) }),
);

const byName = new Map(errorClasses.map((errorClass) => [errorClass.name, errorClass]));

/** The class of that name; throws on an unknown name (a programming error). */
export function errorClass(name: string): ErrorClass {
  const found = byName.get(name);
  if (!found) throw new Error(`unknown error class "${name}"`);
  return found;
}

function inStatus(status: number, wanted: number | readonly [number, number]): boolean {
  return typeof wanted === "number" ? status === wanted : status >= wanted[0] && status <= wanted[1];
}

function matches(match: ApiErrorMatch, error: ApiError, operation: SyncOperation | undefined): boolean {
  if (match.operations && (!operation || !match.operations.includes(operation))) return false;
  if (match.status !== undefined && !inStatus(error.status, match.status)) return false;
  if (match.errorCodes && (error.errorCode === undefined || !match.errorCodes.includes(error.errorCode))) return false;
  if (match.withoutErrorCode && error.errorCode !== undefined) return false;
  if (match.fieldMessages && !match.fieldMessages.some((text) => error.hasFieldMessage(text))) return false;
  if (match.withFieldErrors && !error.fieldErrors) return false;
  if (match.networkCodes && !match.networkCodes.includes(error.networkCode ?? "")) return false;
  if (match.endpoint && !match.endpoint.test(error.endpoint)) return false;
  return true;
}

function classOfApiError(error: ApiError, operation: SyncOperation | undefined): ErrorClass {
  const row = table.find((candidate) => candidate.when?.some((match) => matches(match, error, operation)));
  return errorClass(row?.name ?? "internal_error");
}

const maxMessageLength = 500;

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > maxMessageLength ? `${text.slice(0, maxMessageLength - 1)}…` : text;
}

/**
 * The class of any thrown value, with what the task, event and logs record about it. `operation`
 * is what the job was sending: TRS's 10052 means success for an award and a refusal otherwise.
 */
export function classify(error: unknown, context: { operation?: SyncOperation | undefined } = {}): Classified {
  if (isApiError(error)) {
    return {
      errorClass: classOfApiError(error, context.operation),
      httpStatus: error.status === 0 ? null : error.status,
      errorCode: error.errorCode ?? null,
      message: messageOf(error),
      retryAfterMs: error.retryAfterMs ?? null,
    };
  }
  const plain = (name: string, message = messageOf(error)): Classified => ({
    errorClass: errorClass(name),
    httpStatus: null,
    errorCode: null,
    message,
    retryAfterMs: null,
  });
  if (error instanceof SyncError) {
    return byName.has(error.errorClassName)
      ? plain(error.errorClassName)
      : plain("internal_error", messageOf(`unknown error class ${error.errorClassName}: ${error.message}`));
  }
  if (error instanceof InvalidTraineeError) {
    return plain("invalid_trainee_data", error.field ? `${error.field}: ${error.message}` : error.message);
  }
  if (error instanceof SlackError) {
    const classified = plain("slack_unavailable");
    return { ...classified, httpStatus: error.status === 0 ? null : error.status };
  }
  // Database messages may quote the values (personal data): only the code is kept.
  if (isDatabaseUnavailable(error)) return plain("database_unavailable", databaseMessage(error));
  if (isDeterministicDatabaseError(error)) return plain("database_error", databaseMessage(error));
  return plain("internal_error");
}

function databaseMessage(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const cause = (error as { meta?: { driverAdapterError?: { cause?: { originalCode?: unknown; kind?: unknown } } } }).meta
    ?.driverAdapterError?.cause;
  const detail = [cause?.kind, cause?.originalCode].filter((part) => typeof part === "string").join(" ");
  return `database error ${typeof code === "string" ? code : "(no code)"}${detail ? ` (${detail})` : ""}`;
}

/** BullMQ's reason for a job that stalled more times than maxStalledCount allows. */
const bullmqStalledReason = "job stalled more than allowable limit";

/**
 * The class of a job's failure reason as BullMQ stores it (the reconciler has only that text): the
 * runner's reasons start with the class (`validation_failed: …`), BullMQ's own stall reason is
 * job_stalled, anything else is internal_error.
 */
export function classifyFailureReason(reason: string): Classified {
  const name = /^([a-z][a-z0-9_]*): /.exec(reason)?.[1];
  const found = name !== undefined && byName.has(name) ? name : reason.includes(bullmqStalledReason) ? "job_stalled" : "internal_error";
  return { errorClass: errorClass(found), httpStatus: null, errorCode: null, message: messageOf(reason), retryAfterMs: null };
}

/** A thrown value that ended a job: the runner's own (UnrecoverableError with a class prefix), or any other. */
export function classifyJobFailure(error: Error): Classified {
  if (error.name === "UnrecoverableError" || error.message.includes(bullmqStalledReason)) return classifyFailureReason(error.message);
  return classify(error);
}
