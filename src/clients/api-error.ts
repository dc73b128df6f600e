/**
 * Every non-2xx answer (and every request that got no answer) from the teacher records API becomes
 * one ApiError. Its message names the method, the endpoint template, the status, the error code
 * and TRS's title, and never personal data: the body excerpt is kept separately for support.
 */
export interface ApiErrorFields {
  /** HTTP status; 0 when no answer came (timeout, connection refused, reset) */
  status: number;
  method: string;
  /** the endpoint with identifiers replaced, e.g. `PUT /v3/persons/{trn}` → `/v3/persons/{trn}` */
  endpoint: string;
  /** TRS/DQT numeric errorCode (trs-api.md §4), when the body has one */
  errorCode?: number | undefined;
  title?: string | undefined;
  detail?: string | undefined;
  /** validation errors, `{camelCased.path: [messages]}` */
  fieldErrors?: Record<string, string[]> | undefined;
  /** the first 500 characters of the body, for support (may hold personal data: not for logs) */
  bodyExcerpt?: string | undefined;
  /** from Retry-After on 429/503, in ms */
  retryAfterMs?: number | undefined;
  /** for status 0: the network error code, e.g. ETIMEDOUT, ECONNREFUSED */
  networkCode?: string | undefined;
}

export class ApiError extends Error {
  readonly status: number;
  readonly method: string;
  readonly endpoint: string;
  readonly errorCode: number | undefined;
  readonly title: string | undefined;
  readonly detail: string | undefined;
  readonly fieldErrors: Record<string, string[]> | undefined;
  readonly bodyExcerpt: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly networkCode: string | undefined;

  constructor(fields: ApiErrorFields) {
    const what = fields.status === 0 ? `no answer (${fields.networkCode ?? "network error"})` : `${fields.status}`;
    const code = fields.errorCode !== undefined ? ` errorCode ${fields.errorCode}` : "";
    const title = fields.title ? `: ${fields.title}` : "";
    const keys = fields.fieldErrors ? ` [${Object.keys(fields.fieldErrors).join(", ")}]` : "";
    super(`${fields.method} ${fields.endpoint} → ${what}${code}${title}${keys}`);
    this.name = "ApiError";
    this.status = fields.status;
    this.method = fields.method;
    this.endpoint = fields.endpoint;
    this.errorCode = fields.errorCode;
    this.title = fields.title;
    this.detail = fields.detail;
    this.fieldErrors = fields.fieldErrors;
    this.bodyExcerpt = fields.bodyExcerpt;
    this.retryAfterMs = fields.retryAfterMs;
    this.networkCode = fields.networkCode;
  }

  /**
   * true when a message of any field error contains `text`, ignoring case (DQT reports most error
   * codes only as their titles there, trs-api.md §3c)
   */
  hasFieldMessage(text: string): boolean {
    const wanted = text.toLowerCase();
    return Object.values(this.fieldErrors ?? {}).some((messages) => messages.some((m) => m.toLowerCase().includes(wanted)));
  }
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError;
}
