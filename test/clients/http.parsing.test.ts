import { describe, expect, it } from "vitest";
import { apiErrorFromResponse, endpointTemplate, retryAfterMs } from "../../src/clients/http.js";

describe("retryAfterMs", () => {
  const now = Date.parse("2026-01-01T12:00:00Z");
  it.each([
    ["30", 30_000],
    ["0", 0],
    [" 5 ", 5_000],
    ["Thu, 01 Jan 2026 12:01:30 GMT", 90_000],
    ["Thu, 01 Jan 2026 11:59:00 GMT", 0],
    ["soon", undefined],
    [undefined, undefined],
  ])("%s → %s", (header, ms) => {
    expect(retryAfterMs(header, now)).toBe(ms);
  });
});

describe("endpointTemplate", () => {
  const patterns = [[/^\/v3\/persons\/[^/]+$/, "/v3/persons/{trn}"]] as const;
  it.each([
    ["/v3/persons/1234567", "/v3/persons/{trn}"],
    ["/v3/persons/1234567?include=All", "/v3/persons/{trn}"],
    ["/v3/trns/1234567", "/v3/trns/{id}"],
    ["/v2/teachers/find?trn=1234567&dateOfBirth=1990-01-01", "/v2/teachers/find"],
  ])("%s → %s", (path, template) => {
    expect(endpointTemplate(path, patterns)).toBe(template);
  });
});

describe("apiErrorFromResponse", () => {
  const base = { method: "PUT", endpoint: "/v3/persons/{trn}" };

  it("reads a problem body with an errorCode", () => {
    const text = JSON.stringify({ title: "Person not found.", status: 404, detail: "TRN: '1234567'", errorCode: 10001 });
    expect(apiErrorFromResponse({ ...base, status: 404, text })).toMatchObject({
      status: 404,
      errorCode: 10001,
      title: "Person not found.",
      detail: "TRN: '1234567'",
      bodyExcerpt: text,
      fieldErrors: undefined,
    });
  });

  it("reads a validation problem, even with a lone string message", () => {
    const text = JSON.stringify({
      title: "One or more validation errors occurred.",
      status: 400,
      errors: { holdsFrom: ["Required."], requestId: "Too long." },
    });
    expect(apiErrorFromResponse({ ...base, status: 400, text }).fieldErrors).toEqual({
      holdsFrom: ["Required."],
      requestId: ["Too long."],
    });
  });

  it("keeps the other fields when one is odd", () => {
    const text = JSON.stringify({ title: 42, errorCode: "10052", errors: "nope" });
    expect(apiErrorFromResponse({ ...base, status: 400, text })).toMatchObject({
      title: undefined,
      errorCode: 10052,
      fieldErrors: undefined,
    });
  });

  it("keeps only 500 characters of a body that is not JSON", () => {
    const text = "<html>" + "x".repeat(1000);
    const error = apiErrorFromResponse({ ...base, status: 502, text });
    expect(error.bodyExcerpt).toHaveLength(500);
    expect(error.errorCode).toBeUndefined();
  });

  it("says where a redirect points", () => {
    expect(apiErrorFromResponse({ ...base, status: 308, text: "", location: "/v3/persons/7654321" }).detail).toBe(
      "redirected to /v3/persons/7654321",
    );
  });
});
