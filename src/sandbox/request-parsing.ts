/**
 * Turning untrusted request input into typed values the way ASP.NET does it for TRS/DQT: JSON
 * property names are case-insensitive, unknown properties are ignored, dates are `yyyy-MM-dd`
 * (trs-api.md §2), and every failure becomes a field in a ValidationProblemDetails `errors` map
 * keyed by the camelCased path. Nothing here throws on hostile input.
 */
import type { Request } from "express";
import { z } from "zod";
import type { ErrorMap } from "./problems.js";

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Renames keys that match `keys` ignoring case to their canonical spelling. */
function canonicalKeys(keys: string[]) {
  const byLowerCase = new Map(keys.map((key) => [key.toLowerCase(), key]));
  return (value: unknown): unknown => {
    if (!isPlainObject(value)) return value;
    // fromEntries defines own properties, so a "__proto__" key cannot replace the prototype.
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [byLowerCase.get(key.toLowerCase()) ?? key, field]));
  };
}

/** A JSON object schema whose property names match case-insensitively, like System.Text.Json's web defaults. */
export function jsonObject<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.preprocess(canonicalKeys(Object.keys(shape)), z.object(shape));
}

/** A `DateOnly`: exactly `yyyy-MM-dd` and a real calendar date. */
export const dateOnly = z.string().refine((text) => isDateOnly(text), { message: "date" });

export function isDateOnly(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text);
}

/** Today's date (UTC, as TRS's clock) for the sandbox clock. */
export function todayOf(now: Date): string {
  return now.toISOString().slice(0, 10);
}

/** `person.emailAddresses[0]`: TRS's camelCased error key for a zod path. */
export function errorKey(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((key, segment) => {
    if (typeof segment === "number") return `${key}[${segment}]`;
    return key === "" ? String(segment) : `${key}.${String(segment)}`;
  }, "");
}

/** FluentValidation's display name: `person.firstName` → `Person First Name`. */
export function displayName(key: string): string {
  return key
    .replace(/\[\d+\]/g, "")
    .split(".")
    .flatMap((segment) => segment.replace(/([a-z0-9])([A-Z])/g, "$1 $2").split(" "))
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(" ");
}

/** FluentValidation's default messages, which TRS and DQT return unchanged. */
export const messages = {
  notEmpty: (key: string) => `'${displayName(key)}' must not be empty.`,
  mustBeEmpty: (key: string) => `'${displayName(key)}' must be empty.`,
  maxLength: (key: string, max: number, actual: number) =>
    `The length of '${displayName(key)}' must be ${max} characters or fewer. You entered ${actual} characters.`,
  invalidEmail: (key: string) => `'${displayName(key)}' is not a valid email address.`,
};

export function addError(errors: ErrorMap, key: string, message: string): void {
  (errors[key] ??= []).push(message);
}

/**
 * Deserialisation failures: a missing member reads like FluentValidation's NotEmpty, a value of the
 * wrong JSON type or an unknown enum name says what was expected. The exact .NET wording for these
 * is unconfirmed (trs-api.md §2), the keys follow ASP.NET's camelCased paths.
 */
function issueMessage(issue: z.core.$ZodIssue, key: string): string {
  if (issue.code === "invalid_type" && issue.input === undefined) return messages.notEmpty(key);
  if (issue.code === "invalid_value") return `The JSON value could not be converted: expected one of ${issue.values.join(", ")}.`;
  if (issue.code === "custom" && issue.message === "date") return "The JSON value could not be converted to a date (yyyy-MM-dd).";
  if (issue.code === "invalid_type") return `The JSON value could not be converted to ${issue.expected}.`;
  return issue.message;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; errors: ErrorMap };

/** Parses `input` with `schema`, or returns the errors map for a 400. */
export function parseWith<T>(schema: z.ZodType<T>, input: unknown): Parsed<T> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return { ok: true, value: result.data };
  const errors: ErrorMap = {};
  for (const issue of result.error.issues) {
    const key = errorKey(issue.path) || "$";
    addError(errors, key, issueMessage(issue, key));
  }
  return { ok: false, errors };
}

/** A property of a JSON value found case-insensitively along `path`, without trusting its shape. */
export function peek(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const name of path) {
    if (!isPlainObject(current)) return undefined;
    const key = Object.keys(current).find((candidate) => candidate.toLowerCase() === name.toLowerCase());
    current = key === undefined ? undefined : current[key];
  }
  return current;
}

export function peekString(value: unknown, ...path: string[]): string | undefined {
  const found = peek(value, ...path);
  return typeof found === "string" ? found : undefined;
}

/** A query parameter by name, ignoring case (ASP.NET query binding); the first of repeated values. */
export function queryValue(req: Request, name: string): string | undefined {
  const query = req.query as Record<string, unknown>;
  const key = Object.keys(query).find((candidate) => candidate.toLowerCase() === name.toLowerCase());
  const value = key === undefined ? undefined : query[key];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === "string" ? first : undefined;
}

/**
 * Why a [FromBody] endpoint cannot read this request's body, if it cannot: ASP.NET answers 415
 * without a JSON content type and 400 for an empty JSON body. Call after express.json() ran.
 */
export function bodyProblem(req: Request): "unsupported-media-type" | "empty" | null {
  if (!isJsonContentType(req.get("content-type"))) return "unsupported-media-type";
  return req.body === undefined ? "empty" : null;
}

/** `application/json`, `application/problem+json`, with parameters such as register's `;odata.metadata=minimal`. */
export function isJsonContentType(contentType: string | undefined): boolean {
  return /^application\/([\w.-]*\+)?json\s*(;|$)/i.test(contentType ?? "");
}
