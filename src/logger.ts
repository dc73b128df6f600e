import { pino, type Logger } from "pino";

/**
 * Logs are for operators, and trainees are personal data: names, dates of birth, emails and
 * secrets are redacted wherever they appear in a logged object.
 */
export const redactPaths = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "apiKey",
  "*.apiKey",
  "token",
  "*.token",
  "password",
  "*.password",
  ...[
    "firstNames",
    "firstName",
    "middleNames",
    "middleName",
    "lastName",
    "dateOfBirth",
    "email",
    "emailAddress",
    "emailAddresses",
    "birthDate",
    "fullName",
  ].flatMap((key) => [key, `*.${key}`, `*.*.${key}`]),
];

export function createLogger(options: { level: string; name?: string }): Logger {
  return pino({
    level: options.level,
    name: options.name ?? "trs-sync",
    redact: { paths: redactPaths, censor: "[redacted]" },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

export type { Logger };
