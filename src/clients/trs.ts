/**
 * TeacherRecordsClient for the TRS API v3 at X-Api-Version 20250627 (reference/trs-api.md §3):
 * TRN requests, the PII update and the route-to-professional-status upsert, which carries update,
 * withdrawal and award alike.
 */
import { z } from "zod";
import type { RequestGate } from "./request-gate.js";
import type { Trainee } from "../generated/prisma/client.js";
import { trsPersonCall, trsRouteBody, trsRouteStatus, trsTrnRequestBody, requireTrn } from "../trainees/payloads.js";
import { createHttpClient, endpointTemplate, expectBody, expectTrnRequestBody, type EndpointPattern, type HttpResponse } from "./http.js";
import type { CallResult, PlannedCall, RequestObserver, SyncOperation, TeacherRecordsClient, TrnRequestResult } from "./teacher-records.js";

export interface TrsClientOptions {
  /** e.g. `https://teacher-qualifications-api.education.gov.uk` (TRS_API_BASE_URL) */
  baseUrl: string;
  /** TRS_API_KEY; its application user needs CreateTrn, UpdatePerson, SetProfessionalStatus and GetPerson */
  apiKey: string;
  /** X-Api-Version, yyyyMMdd (TRS_API_VERSION, default 20250627). Without it TRS serves 20240101, which lacks these endpoints. */
  version: string;
  /** per-request timeout in ms (API_TIMEOUT) */
  timeoutMs: number;
  observe?: RequestObserver | undefined;
  /** the request limit shared by every process */
  gate?: RequestGate | undefined;
}

export const trsEndpoints = {
  trnRequests: "/v3/trn-requests",
  person: "/v3/persons/{trn}",
  route: "/v3/persons/{trn}/routes-to-professional-statuses/{reference}",
} as const;

const patterns: readonly EndpointPattern[] = [
  [/^\/v3\/trn-requests$/, trsEndpoints.trnRequests],
  [/^\/v3\/persons\/[^/]+\/routes-to-professional-statuses\/[^/]+$/, trsEndpoints.route],
  [/^\/v3\/persons\/[^/]+$/, trsEndpoints.person],
];

/**
 * TrnRequestInfo at 20250627 (trs-api.md §3a): `trn` only when Completed. Rejected and Dormant
 * come from 20260416 on; at 20250627 they arrive as errorCode 10062 instead.
 */
const trnRequestInfo = z
  .object({
    requestId: z.string().min(1),
    status: z.enum(["Pending", "Completed", "Rejected", "Dormant"]),
    trn: z
      .string()
      .regex(/^\d{7}$/)
      .nullable(),
    potentialDuplicate: z.boolean().optional(),
    accessYourTeachingQualificationsLink: z.string().nullable().optional(),
  })
  .refine((info) => info.status !== "Completed" || info.trn !== null, { path: ["trn"], message: "Completed without a TRN" });

/** `GET /v3/persons/{trn}`: checked loosely, it is shown to support as it came. */
const person = z.looseObject({ trn: z.string() });

/** What a PII update must send back when trs-sync holds no value (GetPersonResponse, 20250627). */
const heldPersonalDetails = z.looseObject({
  trn: z.string(),
  emailAddress: z.string().nullable(),
  nationalInsuranceNumber: z.string().nullable(),
});

function trnRequestResult(response: HttpResponse, requestId: string): TrnRequestResult {
  const info = expectTrnRequestBody(trnRequestInfo, response, requestId);
  const status = info.status === "Completed" ? "completed" : info.status === "Pending" ? "pending" : "rejected";
  return {
    requestId: info.requestId,
    status,
    trn: status === "completed" ? info.trn : null,
    potentialDuplicate: info.potentialDuplicate ?? false,
    raw: response.body,
  };
}

export function createTrsClient(options: TrsClientOptions): TeacherRecordsClient {
  const http = createHttpClient({
    baseUrl: options.baseUrl,
    apiKey: options.apiKey,
    headers: { "x-api-version": options.version },
    timeoutMs: options.timeoutMs,
    observe: options.observe,
    gate: options.gate,
    endpointOf: (path) => endpointTemplate(path, patterns),
  });

  const personPath = (trn: string) => `/v3/persons/${encodeURIComponent(trn)}`;

  /**
   * A PUT persons whose planned body lacks values trs-sync does not hold: TRS's own values go back
   * in, read from `GET /v3/persons/{trn}` just before (it shows the email and NINO at 20250627).
   */
  const withHeldValues = async (call: PlannedCall) => {
    const held = expectBody(heldPersonalDetails, await http.request({ method: "GET", path: call.path }));
    const body = { ...(call.body as Record<string, unknown>) };
    for (const member of call.keep ?? []) body[member] = held[member as keyof typeof held] ?? null;
    return body;
  };

  return {
    kind: "trs",

    async requestTrn(requestId: string, trainee: Trainee) {
      // No trailing slash: Register posted to `/v3/trn-requests/` (register-trainee-teachers.md §5.1).
      const response = await http.request({ method: "POST", path: "/v3/trn-requests", body: trsTrnRequestBody(requestId, trainee) });
      return trnRequestResult(response, requestId);
    },

    async getTrnRequest(requestId: string) {
      const path = `/v3/trn-requests?${new URLSearchParams({ requestId }).toString()}`;
      return trnRequestResult(await http.request({ method: "GET", path }), requestId);
    },

    planSync(operation: SyncOperation, trainee: Trainee): PlannedCall[] {
      const trn = requireTrn(trainee);
      const route: PlannedCall = {
        endpoint: "trs:route",
        method: "PUT",
        path: `${personPath(trn)}/routes-to-professional-statuses/${encodeURIComponent(trainee.slug)}`,
        body: trsRouteBody(trainee, trsRouteStatus(operation, trainee)),
      };
      if (operation !== "update") return [route];
      // PII first, then the route: the same order as Register's two jobs (§6.5).
      const person = trsPersonCall(trainee);
      return [{ endpoint: "trs:person", method: "PUT", path: personPath(trn), ...person }, route];
    },

    async send(call: PlannedCall): Promise<CallResult> {
      const body = call.keep?.length ? await withHeldValues(call) : call.body;
      const response = await http.request({ method: call.method, path: call.path, body });
      return { status: response.status, body: response.body };
    },

    // TRS answers the route PUT with 204 and no date (trs-api.md §3d): the outcome date is the award date.
    awardDateFrom(): string | null {
      return null;
    },

    async getPerson(trn: string, options: { routes?: boolean } = {}) {
      const path = options.routes ? `${personPath(trn)}?include=RoutesToProfessionalStatuses` : personPath(trn);
      return expectBody(person, await http.request({ method: "GET", path }));
    },
  };
}
