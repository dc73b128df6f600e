/**
 * The got plumbing shared by the TRS and DQT adapters: one request function that never throws got
 * errors. Every answer outside 2xx, and every request that got no answer, becomes one ApiError
 * (api-error.ts); a 2xx body is parsed (JSON or empty) and left for the adapter to validate.
 *
 * got's own retry is off: only the job layer retries, with the error class deciding how
 * (STYLE.md "Errors are data"). Redirects are not followed: TRS answers a merged record with 308
 * (trs-api.md §3e, 20260120+), and silently writing to another TRN is not ours to decide.
 */
import { performance } from "node:perf_hooks";
import got, { RequestError, TimeoutError } from "got";
import { z } from "zod";
import { ApiError } from "./api-error.js";
import type { RequestGate } from "./request-gate.js";
import { inClientSpan } from "../trace-context.js";
import type { RequestObserver } from "./teacher-records.js";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH";

export interface HttpClientOptions {
  /** API root, e.g. `https://teacher-qualifications-api.education.gov.uk`; a path prefix is kept */
  baseUrl: string;
  /** sent as `Authorization: Bearer <apiKey>` */
  apiKey: string;
  /** extra headers, e.g. `X-Api-Version` for TRS */
  headers?: Record<string, string>;
  /** ms allowed for the whole request and for the response to start; connecting gets min(5000, this) */
  timeoutMs: number;
  /** called once per request, answered or not */
  observe?: RequestObserver | undefined;
  /** the endpoint template of a concrete path, for errors and metrics (no ids, no query) */
  endpointOf: (path: string) => string;
  /** the request limit shared by every process (request-gate.ts); none when API_RATE_LIMIT_PER_MINUTE is off */
  gate?: RequestGate | undefined;
}

export interface HttpRequest {
  method: HttpMethod;
  /** path and query string relative to the base URL, starting with `/` */
  path: string;
  /** sent as JSON when defined */
  body?: unknown;
}

export interface HttpResponse {
  status: number;
  /** parsed JSON, or null for an empty body */
  body: unknown;
  method: HttpMethod;
  endpoint: string;
  /** the raw text, for error excerpts */
  text: string;
}

export interface HttpClient {
  /** Resolves only for 2xx with an empty or JSON body; everything else throws ApiError. */
  request(request: HttpRequest): Promise<HttpResponse>;
}

/** How long a 429 without a usable Retry-After pauses every process. */
const defaultRetryAfterMs = 60_000;

/** Characters of a body kept on an ApiError for support. */
export const bodyExcerptLength = 500;

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const client = got.extend({
    prefixUrl: options.baseUrl,
    headers: {
      authorization: `Bearer ${options.apiKey}`,
      accept: "application/json",
      "content-type": "application/json",
      "user-agent": "trs-sync",
      ...options.headers,
    },
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
    responseType: "text",
    timeout: {
      connect: Math.min(5000, options.timeoutMs),
      response: options.timeoutMs,
      request: options.timeoutMs,
    },
  });

  return {
    async request({ method, path, body }) {
      const endpoint = options.endpointOf(path);
      // may throw RequestSlotWait: nothing was sent, and the job waits without spending an attempt
      const slot = await options.gate?.acquire();
      const started = performance.now();
      let status = 0;
      try {
        // a client span (tracing on) whose context travels as `traceparent`
        const headers: Record<string, string> = {};
        const response = await inClientSpan({ method, endpoint, headers }, async (span) => {
          const answer = await client(path.replace(/^\/+/, ""), {
            method,
            headers,
            ...(body === undefined ? {} : { json: body }),
          });
          span.setAttribute("http.response.status_code", answer.statusCode);
          return answer;
        });
        status = response.statusCode;
        const text = response.body;
        if (status < 200 || status > 299) {
          const error = apiErrorFromResponse({
            status,
            method,
            endpoint,
            text,
            retryAfter: header(response.headers["retry-after"]),
            location: header(response.headers.location),
          });
          // TRS counts every client's requests: its 429 pauses every process, not just this job
          if (status === 429) await options.gate?.pauseFor(error.retryAfterMs ?? defaultRetryAfterMs).catch(() => undefined);
          throw error;
        }
        const parsed = parseJson(text);
        if (!parsed.ok) throw unexpectedResponse({ status, method, endpoint, text }, "the body is not JSON");
        return { status, body: parsed.value, method, endpoint, text };
      } catch (error) {
        if (error instanceof ApiError) throw error;
        // No answer: timeout, refused, reset, DNS. got's own message names the URL, whose query
        // string may hold a date of birth (DQT), so only the code is kept. got aborts the request
        // when timeoutMs has passed, and the abort can surface as a reset of the half-read
        // response (ReadError ECONNRESET) rather than a TimeoutError: anything failing after
        // timeoutMs is our timeout.
        const elapsed = performance.now() - started;
        const code = error instanceof RequestError ? error.code : (errorCode(error) ?? "ERR_UNKNOWN");
        const networkCode = error instanceof TimeoutError || elapsed >= options.timeoutMs ? "ETIMEDOUT" : code;
        throw new ApiError({ status: 0, method, endpoint, networkCode });
      } finally {
        slot?.answered();
        options.observe?.({ endpoint, method, status, durationMs: performance.now() - started });
      }
    },
  };
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  if (text.trim() === "") return { ok: true, value: null };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/**
 * The fields of a problem body (trs-api.md §5): `{title, status, detail, errorCode}` or a
 * ValidationProblemDetails with `errors`. Each field is read on its own, so one odd field does not
 * hide the others.
 */
const problemSchema = z.object({
  title: z.string().optional().catch(undefined),
  detail: z.string().optional().catch(undefined),
  errorCode: z
    .union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)])
    .optional()
    .catch(undefined),
  errors: z
    .record(z.string(), z.union([z.array(z.string()), z.string().transform((message) => [message])]))
    .optional()
    .catch(undefined),
});

export function apiErrorFromResponse(answer: {
  status: number;
  method: string;
  endpoint: string;
  text: string;
  retryAfter?: string | undefined;
  location?: string | undefined;
  now?: number;
}): ApiError {
  const parsed = parseJson(answer.text);
  const problem = parsed.ok && parsed.value !== null && typeof parsed.value === "object" ? problemSchema.safeParse(parsed.value) : null;
  const fields = problem?.success ? problem.data : {};
  const fieldErrors = fields.errors && Object.keys(fields.errors).length > 0 ? fields.errors : undefined;
  const redirect = answer.status >= 300 && answer.status < 400 && answer.location ? `redirected to ${answer.location}` : undefined;
  return new ApiError({
    status: answer.status,
    method: answer.method,
    endpoint: answer.endpoint,
    errorCode: fields.errorCode,
    title: fields.title,
    detail: fields.detail ?? redirect,
    fieldErrors,
    bodyExcerpt: answer.text ? answer.text.slice(0, bodyExcerptLength) : undefined,
    retryAfterMs: retryAfterMs(answer.retryAfter, answer.now ?? Date.now()),
  });
}

/** The title the classifier recognises as `unexpected_response` (any 2xx ApiError is one). */
export const unexpectedResponseTitle = "unexpected response body";

/** A 2xx answer whose body is not what trs-api.md documents. `why` must hold no personal data. */
export function unexpectedResponse(response: Pick<HttpResponse, "status" | "method" | "endpoint" | "text">, why: string): ApiError {
  return new ApiError({
    status: response.status,
    method: response.method,
    endpoint: response.endpoint,
    title: unexpectedResponseTitle,
    detail: why,
    bodyExcerpt: response.text ? response.text.slice(0, bodyExcerptLength) : undefined,
  });
}

/** Validates a 2xx body; a mismatch is an ApiError naming the paths that failed (not the values). */
export function expectBody<T>(schema: z.ZodType<T>, response: HttpResponse): T {
  const result = schema.safeParse(response.body);
  if (result.success) return result.data;
  const paths = [...new Set(result.error.issues.map((issue) => (issue.path.length ? issue.path.join(".") : "body")))];
  throw unexpectedResponse(response, `invalid: ${paths.join(", ")}`);
}

/** Retry-After in ms: delay-seconds or an HTTP-date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** One endpoint template: a pattern over the path (query string removed) and its template. */
export type EndpointPattern = readonly [pattern: RegExp, template: string];

/**
 * The template of a concrete path: the first matching pattern's template; otherwise the path
 * without its query string, with segments holding digits (but not `v3`) replaced by `{id}`, so that no TRN or
 * request id reaches metrics labels.
 */
export function endpointTemplate(path: string, patterns: readonly EndpointPattern[]): string {
  const bare = path.split("?")[0]!.replace(/\/+$/, "") || "/";
  for (const [pattern, template] of patterns) if (pattern.test(bare)) return template;
  return bare
    .split("/")
    .map((segment) => (/\d/.test(segment) && !/^v\d+$/.test(segment) ? "{id}" : segment))
    .join("/");
}

/**
 * A TRN request answer, checked against the schema and against the id we asked about: an answer
 * about another request is as wrong as a malformed one (both APIs compare ids case-insensitively).
 */
export function expectTrnRequestBody<T extends { requestId: string }>(schema: z.ZodType<T>, response: HttpResponse, requestId: string): T {
  return expectBody(
    schema.refine((body) => body.requestId.toLowerCase() === requestId.toLowerCase(), {
      path: ["requestId"],
      message: "not the request id sent",
    }),
    response,
  );
}
