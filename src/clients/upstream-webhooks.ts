/**
 * Events for the upstream application (README "Events for the upstream application"): their JSON
 * (zod schemas, also the OpenAPI `webhooks` section), their Standard Webhooks signature, and the POST.
 * Retries are the sender's job (jobs/upstream-webhooks.ts), so got's own retry is off.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import got from "got";
import { z } from "zod";
import { errorClasses } from "../jobs/classify.js";

// factories, not shared instances: the OpenAPI generator names every schema used in two places
const slug = () => z.string().describe("the trainee's slug");
const trn = () => z.string().regex(/^\d{7}$/);
const envelope = <T extends string, D extends z.ZodRawShape>(type: T, data: D) =>
  z.object({
    type: z.literal(type),
    /** when the fact was recorded (ISO 8601, UTC) */
    timestamp: z.string().describe("when trs-sync recorded the fact (ISO 8601, UTC)"),
    data: z.object({ slug: slug(), ...data }),
  });

export const trnReceivedEventSchema = envelope("trn.received", { trn: trn() }).describe("the trainee got a TRN");
export const traineeAwardedEventSchema = envelope("trainee.awarded", {
  trn: trn().nullable(),
  awardedAt: z.string().nullable().describe("the award date, YYYY-MM-DD"),
}).describe("TRS holds the award");
export const syncFailedEventSchema = envelope("sync.failed", {
  taskId: z.string().describe("the failed job; the same id comes back in sync.recovered"),
  jobType: z
    .string()
    .describe(
      "the job name, as in GET /api/v1/trainees/{slug}: register-for-trn, poll-trn, update-trainee, withdraw-trainee or award-trainee",
    ),
  errorClass: z.string().nullable().describe("stable snake_case error class (npm run cli -- error-classes)"),
  title: z.string().nullable(),
  remediation: z.string().nullable().describe("what support staff do about it"),
  httpStatus: z.number().int().nullable(),
  errorCode: z.number().int().nullable().describe("the teacher records API's error code"),
  message: z.string().nullable(),
  failedAt: z.string().nullable(),
}).describe("a sync job failed for good: it waits for support, and the trainee's later work waits behind it");
export const syncRecoveredEventSchema = envelope("sync.recovered", {
  taskId: z.string(),
  jobType: z.string(),
  resolution: z.enum(["succeeded", "cancelled"]).describe("succeeded on a retry, or cancelled (by support, or by discarding the trainee)"),
}).describe("a job that had failed is resolved");

export const upstreamWebhookEventSchemas = {
  "trn.received": trnReceivedEventSchema,
  "trainee.awarded": traineeAwardedEventSchema,
  "sync.failed": syncFailedEventSchema,
  "sync.recovered": syncRecoveredEventSchema,
} as const;
export type UpstreamWebhookType = keyof typeof upstreamWebhookEventSchemas;

/** The body sent for a stored row: the trigger's payload, with the error class's title and remediation looked up now. */
export function upstreamWebhookBody(row: { type: string; createdAt: Date; payload: unknown }): string {
  const data = { ...(row.payload as Record<string, unknown>) };
  if (row.type === "sync.failed") {
    const known = errorClasses.find((candidate) => candidate.name === data.errorClass);
    data.title = known?.title ?? null;
    data.remediation = known?.remediation ?? null;
  }
  return JSON.stringify({ type: row.type, timestamp: row.createdAt.toISOString(), data });
}

/** The HMAC key: `whsec_<base64>` is decoded (Standard Webhooks), any other secret is used as UTF-8. */
function key(secret: string): Buffer {
  return secret.startsWith("whsec_") ? Buffer.from(secret.slice(6), "base64") : Buffer.from(secret, "utf8");
}

export function signUpstreamWebhook(options: { secret: string; id: string; timestamp: number; body: string }): string {
  const mac = createHmac("sha256", key(options.secret)).update(`${options.id}.${options.timestamp}.${options.body}`).digest("base64");
  return `v1,${mac}`;
}

/** The three Standard Webhooks headers of one delivery. */
export function upstreamWebhookHeaders(options: { secret: string; id: string; timestamp: number; body: string }) {
  return {
    "webhook-id": options.id,
    "webhook-timestamp": String(options.timestamp),
    "webhook-signature": signUpstreamWebhook(options),
  };
}

/**
 * For the receiving side (and the tests): true when one of the `v1,` signatures in the
 * `webhook-signature` header matches the raw body, and the timestamp is within `toleranceSeconds`
 * (default 5 minutes) of `now`. Pass the body exactly as received, before any JSON parsing.
 */
export function verifyUpstreamWebhook(options: {
  secret: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  now?: Date;
  toleranceSeconds?: number;
}): boolean {
  const header = (name: string) => {
    const value = options.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const id = header("webhook-id");
  const timestamp = Number(header("webhook-timestamp"));
  const signatures = header("webhook-signature");
  if (!id || !Number.isInteger(timestamp) || !signatures) return false;
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signUpstreamWebhook({ secret: options.secret, id, timestamp, body: options.body }));
  return signatures.split(" ").some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/** POSTs one event; resolves with null on 2xx, otherwise with why it was not accepted. */
export async function postUpstreamWebhook(options: {
  url: string;
  secret: string;
  id: string;
  body: string;
  now: Date;
  timeoutMs: number;
}): Promise<string | null> {
  const timestamp = Math.floor(options.now.getTime() / 1000);
  try {
    const response = await got.post(options.url, {
      body: options.body,
      headers: {
        "content-type": "application/json",
        ...upstreamWebhookHeaders({ secret: options.secret, id: options.id, timestamp, body: options.body }),
      },
      retry: { limit: 0 },
      throwHttpErrors: false,
      followRedirect: false,
      timeout: { request: options.timeoutMs },
    });
    if (response.statusCode >= 200 && response.statusCode < 300) return null;
    return `answered ${response.statusCode} ${String(response.body).slice(0, 200)}`;
  } catch (error) {
    return `unreachable (${(error as { code?: string }).code ?? (error as Error).message})`;
  }
}
