/**
 * Builds the one TeacherRecordsClient the process uses, chosen by TEACHER_RECORDS_API
 * (CONTRACT.md §3): TRS v3 or the legacy DQT v2. Jobs see only the interface.
 */
import { createDqtClient } from "./dqt.js";
import type { RequestGate } from "./request-gate.js";
import type { RequestObserver, TeacherRecordsClient } from "./teacher-records.js";
import { createTrsClient } from "./trs.js";

export interface TeacherRecordsClientOptions {
  kind: "trs" | "dqt";
  /** API root (TRS_API_BASE_URL or DQT_API_BASE_URL) */
  baseUrl: string;
  /** bearer key (TRS_API_KEY or DQT_API_KEY) */
  apiKey: string;
  /** X-Api-Version, yyyyMMdd (TRS_API_VERSION); TRS only, ignored for DQT */
  version: string;
  /** per-request timeout in ms (API_TIMEOUT, default 30 s) */
  timeoutMs: number;
  /** called once per request, for /metrics */
  observe?: RequestObserver;
  /** the request limit shared by every process (request-gate.ts) */
  gate?: RequestGate | undefined;
}

export function createTeacherRecordsClient(options: TeacherRecordsClientOptions): TeacherRecordsClient {
  const { kind, baseUrl, apiKey, version, timeoutMs, observe, gate } = options;
  return kind === "trs"
    ? createTrsClient({ baseUrl, apiKey, version, timeoutMs, observe, gate })
    : createDqtClient({ baseUrl, apiKey, timeoutMs, observe, gate });
}
