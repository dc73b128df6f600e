/**
 * Checks TRS v3 and DQT v2 apply alike to a new person (CreateTrnRequestRequestValidator and
 * GetOrCreateTrnRequestValidator share them), with TRS's own messages.
 */
import type { ErrorMap } from "./problems.js";
import { addError, messages } from "./request-parsing.js";

export const birthDateOutOfRange = "Birth date is out of expected range.";

/** Unique per API client; TRS matches `^([0-9]|[a-z]|\-|_)+$` ignoring case, at most 100 characters. */
export function checkRequestId(errors: ErrorMap, requestId: string): void {
  if (!/^[0-9a-zA-Z_-]+$/.test(requestId))
    addError(errors, "requestId", "Request ID can only contain characters, digits, underscores and dashes.");
  if (requestId.length > 100) addError(errors, "requestId", "Request ID must be 100 characters or fewer.");
}

/** NotEmpty (blank counts as empty) and at most 100 characters. */
export function checkRequiredName(errors: ErrorMap, key: string, value: string | null | undefined): void {
  if (!value?.trim()) addError(errors, key, messages.notEmpty(key));
  else checkMaxLength(errors, key, value, 100);
}

export function checkMaxLength(errors: ErrorMap, key: string, value: string | null | undefined, max: number): void {
  if (value && value.length > max) addError(errors, key, messages.maxLength(key, max, value.length));
}

/**
 * From 1940-01-01 to yesterday. `reject` is the `+reject` marker, which makes any date fail here so
 * that tests can provoke this exact error.
 */
export function checkBirthDate(errors: ErrorMap, key: string, birthDate: string, today: string, reject: boolean): void {
  if (reject || birthDate >= today || birthDate < "1940-01-01") addError(errors, key, birthDateOutOfRange);
}

/** FluentValidation's EmailAddress(): exactly one @, neither first nor last. */
export function isEmailAddress(text: string): boolean {
  const at = text.indexOf("@");
  return at > 0 && at === text.lastIndexOf("@") && at < text.length - 1;
}
