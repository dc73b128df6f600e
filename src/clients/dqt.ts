/**
 * TeacherRecordsClient for the legacy DQT API v2 (reference/trs-api.md §3, the "DQT v2" parts;
 * removed from production on 2025-05-21, kept for the sandbox and any DQT-era fake). One TRN request
 * carries the ITT details; an update is one PATCH; withdrawal and award are the itt-outcome PUT,
 * whose answer carries the QTS date.
 */
import { z } from "zod";
import type { RequestGate } from "./request-gate.js";
import type { Trainee } from "../generated/prisma/client.js";
import { isoDate } from "../trainees/code-sets.js";
import { dqtIttOutcomeBody, dqtTrnRequestBody, dqtUpdateBody, requireTrn } from "../trainees/payloads.js";
import { createHttpClient, endpointTemplate, expectBody, expectTrnRequestBody, type EndpointPattern, type HttpResponse } from "./http.js";
import type { CallResult, PlannedCall, RequestObserver, SyncOperation, TeacherRecordsClient, TrnRequestResult } from "./teacher-records.js";

export interface DqtClientOptions {
  /** DQT_API_BASE_URL */
  baseUrl: string;
  /** DQT_API_KEY */
  apiKey: string;
  /** per-request timeout in ms (API_TIMEOUT) */
  timeoutMs: number;
  observe?: RequestObserver | undefined;
  /** the request limit shared by every process */
  gate?: RequestGate | undefined;
}

export const dqtEndpoints = {
  trnRequest: "/v2/trn-requests/{requestId}",
  update: "/v2/teachers/update/{trn}",
  ittOutcome: "/v2/teachers/{trn}/itt-outcome",
  teacher: "/v2/teachers/{trn}",
} as const;

const patterns: readonly EndpointPattern[] = [
  [/^\/v2\/trn-requests\/[^/]+$/, dqtEndpoints.trnRequest],
  [/^\/v2\/teachers\/update\/[^/]+$/, dqtEndpoints.update],
  [/^\/v2\/teachers\/[^/]+\/itt-outcome$/, dqtEndpoints.ittOutcome],
  [/^\/v2\/teachers\/[^/]+$/, dqtEndpoints.teacher],
];

const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);

/** DQT TrnRequestInfo (trs-api.md §3a DQT): potentialDuplicate is simply status == Pending. */
const trnRequestInfo = z
  .object({
    requestId: z.string().min(1),
    status: z.enum(["Pending", "Completed"]),
    trn: z
      .string()
      .regex(/^\d{7}$/)
      .nullable(),
    potentialDuplicate: z.boolean().optional(),
    qtsDate: date.nullable().optional(),
    slugId: z.string().nullable().optional(),
    accessYourTeachingQualificationsLink: z.string().nullable().optional(),
  })
  .refine((info) => info.status !== "Completed" || info.trn !== null, { path: ["trn"], message: "Completed without a TRN" });

/** `PUT /v2/teachers/{trn}/itt-outcome` 200 body (trs-api.md §3d DQT). */
export const ittOutcomeResponse = z.object({ trn: z.string(), qtsDate: date.nullable() });

const teacher = z.looseObject({ trn: z.string() });

function trnRequestResult(response: HttpResponse, requestId: string): TrnRequestResult {
  const info = expectTrnRequestBody(trnRequestInfo, response, requestId);
  return {
    requestId: info.requestId,
    status: info.status === "Completed" ? "completed" : "pending",
    trn: info.status === "Completed" ? info.trn : null,
    potentialDuplicate: info.potentialDuplicate ?? info.status === "Pending",
    raw: response.body,
  };
}

/**
 * DQT finds the teacher by slugId, then by TRN plus birthdate (trs-api.md §3c DQT). The update takes
 * `slugId`, the itt-outcome `slugid` (query binding is case-insensitive; these are the documented
 * spellings).
 */
function teacherQuery(trainee: Trainee, slugKey: "slugId" | "slugid"): string {
  return new URLSearchParams({ birthdate: isoDate(trainee.dateOfBirth), [slugKey]: trainee.slug }).toString();
}

export function createDqtClient(options: DqtClientOptions): TeacherRecordsClient {
  const http = createHttpClient({
    baseUrl: options.baseUrl,
    apiKey: options.apiKey,
    timeoutMs: options.timeoutMs,
    observe: options.observe,
    gate: options.gate,
    endpointOf: (path) => endpointTemplate(path, patterns),
  });

  const trnRequestPath = (requestId: string) => `/v2/trn-requests/${encodeURIComponent(requestId)}`;

  return {
    kind: "dqt",

    // PUT is idempotent on DQT: 201 the first time, 200 with the same body after.
    async requestTrn(requestId: string, trainee: Trainee) {
      const response = await http.request({ method: "PUT", path: trnRequestPath(requestId), body: dqtTrnRequestBody(trainee) });
      return trnRequestResult(response, requestId);
    },

    async getTrnRequest(requestId: string) {
      return trnRequestResult(await http.request({ method: "GET", path: trnRequestPath(requestId) }), requestId);
    },

    planSync(operation: SyncOperation, trainee: Trainee): PlannedCall[] {
      const trn = encodeURIComponent(requireTrn(trainee));
      if (operation === "update") {
        return [
          {
            endpoint: "dqt:update",
            method: "PATCH",
            path: `/v2/teachers/update/${trn}?${teacherQuery(trainee, "slugId")}`,
            body: dqtUpdateBody(trainee),
          },
        ];
      }
      return [
        {
          endpoint: "dqt:itt-outcome",
          method: "PUT",
          path: `/v2/teachers/${trn}/itt-outcome?${teacherQuery(trainee, "slugid")}`,
          body: dqtIttOutcomeBody(operation, trainee),
        },
      ];
    },

    async send(call: PlannedCall): Promise<CallResult> {
      const response = await http.request({ method: call.method, path: call.path, body: call.body });
      const body = call.endpoint === "dqt:itt-outcome" ? expectBody(ittOutcomeResponse, response) : response.body;
      return { status: response.status, body };
    },

    /** The `qtsDate` DQT set for an award (Register used it as the award date, §6.6). */
    awardDateFrom(results: CallResult[]): string | null {
      for (const result of [...results].reverse()) {
        const parsed = ittOutcomeResponse.safeParse(result.body);
        if (parsed.success) return parsed.data.qtsDate;
      }
      return null;
    },

    // `birthdate` was dropped from this endpoint in 2022 (trs-api.md §3e), so it is not sent.
    async getPerson(trn: string) {
      return expectBody(teacher, await http.request({ method: "GET", path: `/v2/teachers/${encodeURIComponent(trn)}` }));
    },
  };
}
