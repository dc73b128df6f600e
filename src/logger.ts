import { pino, type DestinationStream, type Logger } from "pino";
import { traceIds } from "./trace-context.js";

/**
 * Logs are for operators, and trainees are personal data: names, dates of birth, emails and
 * secrets are redacted wherever they appear in a logged object, at any depth (pino's path-based
 * `redact` needs every depth spelled out, so the log formatter walks the object instead).
 */
export const redactedKeys = new Set(
  [
    "authorization",
    "apiKey",
    "token",
    "password",
    "passwordHash",
    "firstNames",
    "firstName",
    "middleNames",
    "middleName",
    "lastName",
    "fullName",
    "name",
    "dateOfBirth",
    "birthDate",
    "birthdate",
    "email",
    "emailAddress",
    "emailAddresses",
    "nationalInsuranceNumber",
  ].map((key) => key.toLowerCase()),
);

const CENSOR = "[redacted]";

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) return { type: value.name, message: value.message };
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = redactedKeys.has(key.toLowerCase()) ? CENSOR : redact(inner, depth + 1);
  }
  return out;
}

export function createLogger(options: { level: string; name?: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      name: options.name ?? "trs-sync",
      formatters: { log: (object) => redact(object) as Record<string, unknown> },
      // inside a span (tracing on), the line names its trace: logs and traces meet
      mixin: () => traceIds(),
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}

export type { Logger };
