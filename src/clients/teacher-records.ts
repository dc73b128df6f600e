/**
 * The teacher records API as the jobs see it: one interface, two adapters (trs.ts for TRS v3,
 * dqt.ts for the legacy DQT v2), chosen by TEACHER_RECORDS_API. Jobs never know which one runs.
 *
 * Payloads are planned by pure functions (`planSync`) so that a job can compare each call with
 * the hash of what the API last accepted and skip no-ops, and so that tests can check mappings
 * without HTTP.
 */
import type { Trainee } from "../generated/prisma/client.js";

export type TrnRequestStatus = "completed" | "pending" | "rejected";

/** A TRN request's state as the API reports it, normalised across TRS and DQT. */
export interface TrnRequestResult {
  requestId: string;
  status: TrnRequestStatus;
  /** set only when completed */
  trn: string | null;
  potentialDuplicate: boolean;
  /** the response body, for the TRN request's lastResponse (no secrets in it) */
  raw: unknown;
}

export type SyncOperation = "update" | "withdraw" | "award";

/** One HTTP call that brings the API in line with the trainee, built from the trainee alone. */
export interface PlannedCall {
  /**
   * Stable key under which the hash of the last accepted payload is kept, one per API resource:
   * `trs:person`, `trs:route`, `dqt:update`, `dqt:itt-outcome`.
   */
  endpoint: string;
  method: "GET" | "POST" | "PUT" | "PATCH";
  /** path and query string, relative to the base URL, e.g. `/v3/persons/1234567` */
  path: string;
  body: unknown;
  /**
   * Members of `body` that trs-sync holds no value for and that the API would clear if sent empty
   * (TRS's PUT persons replaces every member): the adapter reads the record first and sends back
   * the value the API holds. The hash of what was accepted covers `body` as planned, so a call is
   * skipped when trs-sync's own data has not changed.
   */
  keep?: readonly string[];
}

export interface CallResult {
  status: number;
  /** parsed JSON body, or null for an empty body (204) */
  body: unknown;
}

/** Called once per HTTP request, for /metrics. `status` is 0 when no answer came. */
export type RequestObserver = (sample: { endpoint: string; method: string; status: number; durationMs: number }) => void;

export interface TeacherRecordsClient {
  readonly kind: "trs" | "dqt";
  /**
   * Asks for a TRN with our persisted request id. TRS: `POST /v3/trn-requests`, whose 409 with
   * errorCode 10029 (id already used, so an earlier attempt got through) is thrown as an ApiError
   * for the job to handle. DQT: `PUT /v2/trn-requests/{id}`, idempotent.
   */
  requestTrn(requestId: string, trainee: Trainee): Promise<TrnRequestResult>;
  /** TRS: `GET /v3/trn-requests?requestId=`; DQT: `GET /v2/trn-requests/{id}`. */
  getTrnRequest(requestId: string): Promise<TrnRequestResult>;
  /**
   * The calls that carry `operation` for this trainee, in the order they must be sent. Pure.
   * Throws InvalidTraineeError when the trainee lacks what the API needs (e.g. no TRN, no route).
   */
  planSync(operation: SyncOperation, trainee: Trainee): PlannedCall[];
  /** Sends one planned call; any non-2xx becomes an ApiError. */
  send(call: PlannedCall): Promise<CallResult>;
  /**
   * The award date the API reports for an accepted award (DQT's `qtsDate`), or null when the API
   * reports none (TRS answers 204), in which case the trainee's outcome date is the award date.
   */
  awardDateFrom(results: CallResult[]): string | null;
  /**
   * TRS `GET /v3/persons/{trn}`, DQT `GET /v2/teachers/{trn}`: the record as the API holds it;
   * `routes` asks TRS for the routes to professional status too (DQT's record always has its ITT).
   */
  getPerson(trn: string, options?: { routes?: boolean }): Promise<unknown>;
}

/** The trainee cannot be sent as it is (missing TRN, route or dates); no request was made. */
export class InvalidTraineeError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "InvalidTraineeError";
  }
}
