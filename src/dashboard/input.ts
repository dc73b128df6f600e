/**
 * Every value the dashboard reads from a query string, a form or a path goes through here: the raw
 * text must be percent-encoded UTF-8 (`%FF` is refused, not turned into "�"), a value may hold no
 * control characters (a NUL reaching Postgres is a data exception, not a search) and is bounded, and
 * each page states the shape of its input as a zod schema. A refusal is an InputError, which the
 * dashboard's error handler answers with 400 and a GOV.UK error page naming the field, and logs
 * at info: a hostile or mangled address is the client's mistake, never a 500.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from "express";
import { z } from "zod";
import { slugPattern } from "../trainees/document.js";

/** A query string or form the dashboard refuses to read; `status` makes it a 4xx for the error handler. */
export class InputError extends Error {
  readonly status: number;
  constructor(message: string, status = 400) {
    super(message);
    this.name = "InputError";
    this.status = status;
  }
}

/** The longest query string any dashboard page needs (filters and a cursor), in characters. */
export const maxQueryLength = 2_000;

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Checks a raw `a=b&c=d` text (a query string or a form body): every name and value must decode
 * as UTF-8. Node's own parsers would quietly put U+FFFD in place of a malformed sequence.
 */
export function assertUtf8Pairs(raw: string, where: string): void {
  for (const piece of raw.split("&")) {
    try {
      decodeURIComponent(piece.replaceAll("+", " "));
    } catch {
      throw new InputError(`The ${where} holds text that is not valid UTF-8.`);
    }
  }
}

/** Router middleware: the query string of every dashboard request is bounded and valid UTF-8. */
export const checkQueryString: RequestHandler = (req: Request, _res: Response, next: NextFunction) => {
  const at = req.originalUrl.indexOf("?");
  if (at < 0) return next();
  const raw = req.originalUrl.slice(at + 1);
  if (raw.length > maxQueryLength) return next(new InputError("The address is too long.", 414));
  try {
    assertUtf8Pairs(raw, "address");
  } catch (error) {
    return next(error);
  }
  next();
};

/**
 * The body parser of every dashboard form: bounded, and refused unless its raw bytes and each
 * percent-encoded pair are UTF-8 (checked before body-parser decodes them).
 */
export function formBody(options: { limit: string } = { limit: "50kb" }): RequestHandler {
  return express.urlencoded({
    extended: false,
    limit: options.limit,
    parameterLimit: 2_000,
    verify: (_req, _res, buffer) => {
      let text: string;
      try {
        text = fatalUtf8.decode(buffer);
      } catch {
        throw new InputError("The form holds text that is not valid UTF-8.");
      }
      assertUtf8Pairs(text, "form");
    },
  });
}

/** Control characters (C0, DEL, C1), the replacement character a decoder leaves, lone surrogates. */
const notInLine = /[\p{Cc}\p{Cs}\uFFFD]/u;
/** The same, but a multi-line text may hold tabs and line breaks. */
const notInText = /(?![\t\n\r])[\p{Cc}\p{Cs}\uFFFD]/u;

/** One line of text (a search, a filter), trimmed; at most `max` characters, no control characters. */
export const line = (max: number) =>
  z
    .string()
    .max(max, `must be ${max} characters or fewer`)
    .refine((text) => !notInLine.test(text), "must not contain control characters")
    .transform((text) => text.trim());

/** Free text (a reason): line breaks allowed, other control characters not. */
export const text = (max: number) =>
  z
    .string()
    .max(max, `must be ${max} characters or fewer`)
    .refine((value) => !notInText.test(value), "must not contain control characters")
    .transform((value) => value.trim());

/** An optional line: missing or blank is undefined. */
export const optionalLine = (max: number) =>
  line(max)
    .optional()
    .transform((value) => value || undefined);

/**
 * One of `values`; missing, blank (a select's "any" option) or a clean value the page does not
 * offer (an old bookmark) is undefined. Text that is not clean is refused like any other.
 */
export const choice = <T extends string>(values: readonly [T, ...T[]]) =>
  line(100)
    .optional()
    .transform((value): T | undefined => ((values as readonly string[]).includes(value ?? "") ? (value as T) : undefined));

export const slug = z.string().regex(slugPattern, "must be a trainee slug (letters, digits, - or _)");

/** A database id in a form or path: 1 to 18 digits (always fits a bigint). */
export const bigintId = z
  .string()
  .regex(/^\d{1,18}$/, "must be a job number")
  .transform((id) => BigInt(id));

/** A field a form may repeat (ticked checkboxes): none, one or up to `max`, as a list. */
export const repeated = <T extends z.ZodType>(item: T, max: number) =>
  z
    .union([item.transform((value) => [value]), z.array(item).max(max, `select at most ${max}`)])
    .optional()
    .transform((values) => (values ?? []) as z.output<T>[]);

/**
 * A keyset cursor: base64url of `<sort value>~<id>`, as the page wrote it. Anything else (not
 * base64url, not UTF-8, control characters, no id) is refused; what the sort value must look like
 * is the page's business (`value` checks it).
 */
export const cursor = (value: z.ZodType<string>, id: z.ZodType<string>) =>
  z
    .string()
    .max(400, "is not a page of this list")
    .regex(/^[A-Za-z0-9_-]+$/, "is not a page of this list")
    .transform((encoded, ctx) => {
      let decoded: string;
      try {
        decoded = fatalUtf8.decode(Buffer.from(encoded, "base64url"));
      } catch {
        decoded = "";
      }
      const at = decoded.lastIndexOf("~");
      const parsed = z.object({ value, id }).safeParse({ value: decoded.slice(0, at), id: decoded.slice(at + 1) });
      if (at < 0 || notInLine.test(decoded) || !parsed.success) {
        ctx.addIssue({ code: "custom", message: "is not a page of this list" });
        return z.NEVER;
      }
      return parsed.data;
    });

/** Writes a cursor `cursor()` reads back. */
export function encodeCursor(value: string, id: string | bigint): string {
  return Buffer.from(`${value}~${id}`).toString("base64url");
}

/** A time as the cursors carry it: ISO 8601 in UTC, to the microsecond, that Postgres can read. */
export const cursorTime = z
  .string()
  .regex(/^[1-9]\d{3}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z?$/)
  .refine((value) => {
    const date = new Date(value.endsWith("Z") ? value : `${value}Z`);
    return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 19) === value.slice(0, 19);
  });

/**
 * Parses a query string (`req.query`) or a form (`req.body`) with `schema`, or throws an
 * InputError that names the field. A single-valued field given twice is refused like any other
 * malformed value.
 */
export function parseInput<S extends z.ZodType>(source: unknown, schema: S): z.output<S> {
  const values = typeof source === "object" && source !== null ? source : {};
  const parsed = schema.safeParse(values);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const name = issue?.path.length ? String(issue.path[0]) : undefined;
  throw new InputError(
    name
      ? `The value of “${name}” was not understood: it ${/^(must|is|select) /.test(issue?.message ?? "") ? issue!.message : "is not one this page offers"}.`
      : "The request could not be understood.",
  );
}
