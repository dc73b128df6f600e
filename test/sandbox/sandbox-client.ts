import got from "got";

/**
 * A small got wrapper for the sandbox tests: every call returns status, headers, raw text and the
 * parsed JSON (or null), so tests can assert exact bodies, empty bodies and content types.
 */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

export interface CallOptions {
  body?: unknown;
  /** TRS X-Api-Version; null to leave the header out; default 20250627 (what register pins) */
  version?: string | null;
  /** API key; null to leave Authorization out; default "sandbox-key" */
  key?: string | null;
  headers?: Record<string, string>;
}

export function clientFor(baseUrl: string) {
  return async function call(method: string, path: string, options: CallOptions = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...options.headers };
    const version = options.version === undefined ? "20250627" : options.version;
    const key = options.key === undefined ? "sandbox-key" : options.key;
    if (version !== null) headers["X-Api-Version"] = version;
    if (key !== null) headers.Authorization = `Bearer ${key}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
      headers["Content-Type"] ??= "application/json";
    }
    // got, not fetch: nock's fetch interceptor (test/support/per-file.ts) cannot pass request bodies through.
    const response = await got(`${baseUrl}${path}`, {
      method: method as "GET",
      headers,
      body,
      throwHttpErrors: false,
      retry: { limit: 0 },
    });
    const text = response.body;
    let json: unknown = null;
    try {
      json = text === "" ? null : JSON.parse(text);
    } catch {
      json = null;
    }
    return { status: response.statusCode, headers: response.headers, text, json };
  };
}

/** A valid TRS v3 TRN request body for `lastName`. */
export function trnRequestBody(requestId: string, lastName: string, dateOfBirth = "1990-04-01") {
  return {
    requestId,
    person: {
      firstName: "Alex",
      middleName: null,
      lastName,
      dateOfBirth,
      emailAddresses: ["alex@example.com"],
      nationalInsuranceNumber: null,
      gender: "Other",
    },
    identityVerified: false,
    oneLoginUserSubject: null,
  };
}

export const hei = "10078157-e8c3-42f7-a050-d8b802e83f7b";
export const assessmentOnly = "57b86cef-98e2-4962-a74a-d47c7a34b838";

/** A valid routes-to-professional-statuses body, InTraining on the HEI route. */
export function routeBody(overrides: Record<string, unknown> = {}) {
  return {
    routeToProfessionalStatusTypeId: hei,
    status: "InTraining",
    trainingStartDate: "2025-09-01",
    trainingEndDate: "2026-07-31",
    trainingSubjectReferences: ["100343"],
    trainingAgeSpecialism: { type: "Range", from: 11, to: 16 },
    trainingCountryReference: "GB",
    trainingProviderUkprn: "10007140",
    degreeTypeId: "40a85dd0-8512-438e-8040-649d7d677d07",
    ...overrides,
  };
}

/** A valid DQT v2 GetOrCreateTrnRequest body for `lastName`. */
export function dqtTrnRequestBody(lastName: string, overrides: Record<string, unknown> = {}) {
  return {
    firstName: "Sam",
    lastName,
    birthDate: "1992-02-03",
    emailAddress: "sam@example.com",
    genderCode: "NotProvided",
    slugId: `slug-${lastName.replace(/\W/g, "")}`,
    initialTeacherTraining: {
      providerUkprn: "10007140",
      programmeStartDate: "2025-09-01",
      programmeEndDate: "2026-07-31",
      programmeType: "HEI",
      subject1: "100343",
      ageRangeFrom: 11,
      ageRangeTo: 16,
      ittQualificationAim: "ProfessionalStatusAndAcademicAward",
    },
    ...overrides,
  };
}
