import { describe, expect, it } from "vitest";
import { trsPersonCall, trsRouteBody, trsRouteStatus, trsTrnRequestBody } from "../../src/trainees/payloads.js";
import { day, traineeFixture } from "../support/trainee-fixture.js";

describe("TRS TRN request body (trs-api.md §3a)", () => {
  it("carries the person and our request id", () => {
    expect(trsTrnRequestBody("req-1", traineeFixture())).toEqual({
      requestId: "req-1",
      person: {
        firstName: "Ada Mary",
        middleName: "Grace",
        lastName: "Lovelace",
        dateOfBirth: "1990-05-17",
        emailAddresses: ["ada.lovelace@example.com"],
        nationalInsuranceNumber: "QQ123456C",
        gender: "Female",
      },
      identityVerified: false,
      oneLoginUserSubject: null,
    });
  });

  it("omits emailAddresses without an email, and sends null middle name and gender when unknown", () => {
    const body = trsTrnRequestBody("req-1", traineeFixture({ email: null, middleNames: null, sex: null }));
    expect(body.person).not.toHaveProperty("emailAddresses");
    expect(body.person.middleName).toBeNull();
    expect(body.person.gender).toBeNull();
  });

  it.each([
    ["male", "Male"],
    ["other", "Other"],
    ["prefer_not_to_say", "Other"],
    ["sex_not_provided", "Other"],
  ])("maps sex %s to gender %s", (sex, gender) => {
    expect(trsTrnRequestBody("r", traineeFixture({ sex })).person.gender).toBe(gender);
  });

  it("needs no TRN", () => {
    expect(() => trsTrnRequestBody("r", traineeFixture({ trn: null, state: "submitted_for_trn" }))).not.toThrow();
  });
});

describe("TRS person body (PUT /v3/persons/{trn}, SetPii.cs: every member replaced)", () => {
  it("sends every member, emailAddress as a single string (not Register's ignored emailAddresses)", () => {
    const { body, keep } = trsPersonCall(traineeFixture());
    expect(body).toEqual({
      firstName: "Ada Mary",
      middleName: "Grace",
      lastName: "Lovelace",
      dateOfBirth: "1990-05-17",
      emailAddress: "ada.lovelace@example.com",
      nationalInsuranceNumber: "QQ123456C",
      gender: "Female",
    });
    expect(body).not.toHaveProperty("emailAddresses");
    expect(keep).toEqual([]);
  });

  it("keeps what TRS holds where trs-sync holds nothing: the email and NINO are read back first", () => {
    const { body, keep } = trsPersonCall(traineeFixture({ middleNames: null, email: null, nationalInsuranceNumber: null }));
    expect(body).toMatchObject({ middleName: "", emailAddress: null, nationalInsuranceNumber: null, gender: "Female" });
    expect(keep).toEqual(["emailAddress", "nationalInsuranceNumber"]);
  });

  it("refuses to send without a sex: TRS would clear its gender and never shows it back", () => {
    expect(() => trsPersonCall(traineeFixture({ sex: null }))).toThrow(/sex/);
  });
});

describe("TRS route status (trs-api.md §3d)", () => {
  it.each([
    ["update", "trn_received", "provider_led_postgrad", "InTraining"],
    ["update", "submitted_for_trn", "provider_led_postgrad", "InTraining"],
    ["update", "trn_received", "assessment_only", "UnderAssessment"],
    ["update", "trn_received", "early_years_assessment_only", "InTraining"],
    ["update", "deferred", "provider_led_postgrad", "Deferred"],
    ["update", "deferred", "assessment_only", "Deferred"],
    ["update", "recommended_for_award", "provider_led_postgrad", "InTraining"],
    ["update", "withdrawn", "provider_led_postgrad", "Withdrawn"],
    ["withdraw", "withdrawn", "provider_led_postgrad", "Withdrawn"],
    ["award", "recommended_for_award", "provider_led_postgrad", "Holds"],
    ["award", "recommended_for_award", "assessment_only", "Holds"],
  ] as const)("%s of a %s trainee on %s → %s", (operation, state, trainingRoute, status) => {
    expect(trsRouteStatus(operation, traineeFixture({ state, trainingRoute }))).toBe(status);
  });
});

describe("TRS route body (trs-api.md §3c)", () => {
  it("maps the training details", () => {
    expect(trsRouteBody(traineeFixture(), "InTraining")).toEqual({
      routeToProfessionalStatusTypeId: "97497716-5ac5-49aa-a444-27fa3e2c152a",
      status: "InTraining",
      trainingStartDate: "2025-09-01",
      trainingEndDate: "2026-07-31",
      trainingSubjectReferences: ["100425", "100403"],
      trainingAgeSpecialism: { type: "Range", from: 11, to: 16 },
      trainingCountryReference: "GB",
      trainingProviderUkprn: "10007799",
      degreeTypeId: "40a85dd0-8512-438e-8040-649d7d677d07",
    });
  });

  it("sends holdsFrom = outcome date with Holds, and never otherwise", () => {
    const trainee = traineeFixture({ state: "recommended_for_award", outcomeDate: day("2026-07-10") });
    expect(trsRouteBody(trainee, "Holds").holdsFrom).toBe("2026-07-10");
    for (const status of ["InTraining", "UnderAssessment", "Deferred", "Withdrawn"] as const) {
      expect(trsRouteBody(trainee, status)).not.toHaveProperty("holdsFrom");
    }
  });

  it("never sends isExemptFromInduction", () => {
    expect(trsRouteBody(traineeFixture(), "InTraining")).not.toHaveProperty("isExemptFromInduction");
  });

  it("falls back to the trainee start date and the estimated end date", () => {
    const body = trsRouteBody(
      traineeFixture({
        ittStartDate: null,
        ittEndDate: null,
        traineeStartDate: day("2025-09-08"),
        trainingRoute: "provider_led_undergrad",
        studyMode: "full_time",
      }),
      "InTraining",
    );
    expect(body.trainingStartDate).toBe("2025-09-08");
    expect(body.trainingEndDate).toBe("2028-07-08");
  });

  it("estimates the end from the same start it sends, so the end never falls before the start", () => {
    const body = trsRouteBody(traineeFixture({ ittEndDate: null, traineeStartDate: day("2025-09-08") }), "InTraining");
    expect(body.trainingStartDate).toBe("2025-09-01");
    expect(body.trainingEndDate).toBe("2026-07-01");
    // a trainee start long before the ITT start once gave an end before the start, which TRS refuses
    const early = trsRouteBody(
      traineeFixture({ ittStartDate: day("2026-09-01"), ittEndDate: null, traineeStartDate: day("2024-09-01") }),
      "InTraining",
    );
    expect(early.trainingStartDate).toBe("2026-09-01");
    expect(early.trainingEndDate > early.trainingStartDate).toBe(true);
  });

  it("sends [] without subjects, and no age specialism unless both ages are known", () => {
    const body = trsRouteBody(traineeFixture({ courseSubjects: [], courseMaxAge: null }), "InTraining");
    expect(body.trainingSubjectReferences).toEqual([]);
    expect(body).not.toHaveProperty("trainingAgeSpecialism");
  });

  it("keeps the agreed subject codes 999001-999003 as given", () => {
    expect(
      trsRouteBody(traineeFixture({ courseSubjects: ["999001", "999002", "999003"] }), "InTraining").trainingSubjectReferences,
    ).toEqual(["999001", "999002", "999003"]);
  });

  it("leaves out degreeTypeId when the aim has no degree type", () => {
    expect(trsRouteBody(traineeFixture({ ittQualificationAim: null }), "InTraining")).not.toHaveProperty("degreeTypeId");
    expect(trsRouteBody(traineeFixture({ ittQualificationAim: "Unknown aim" }), "InTraining")).not.toHaveProperty("degreeTypeId");
  });

  it("sends GB as the training country of UK routes and the trainee's own for iQTS, refusing iQTS without one", () => {
    expect(trsRouteBody(traineeFixture({ trainingCountry: null }), "InTraining").trainingCountryReference).toBe("GB");
    expect(trsRouteBody(traineeFixture({ trainingRoute: "iqts", trainingCountry: "FR" }), "InTraining").trainingCountryReference).toBe(
      "FR",
    );
    expect(() => trsRouteBody(traineeFixture({ trainingRoute: "iqts", trainingCountry: null }), "InTraining")).toThrow(/country/);
  });

  it("sends the degree type of the aim whether stored as wording or code", () => {
    const pgce = "40a85dd0-8512-438e-8040-649d7d677d07";
    expect(trsRouteBody(traineeFixture(), "InTraining").degreeTypeId).toBe(pgce);
    expect(trsRouteBody(traineeFixture({ ittQualificationAim: "020" }), "InTraining").degreeTypeId).toBe(pgce);
  });

  it("sends the EYTS route GUID for early years routes", () => {
    expect(trsRouteBody(traineeFixture({ trainingRoute: "early_years_undergrad" }), "InTraining").routeToProfessionalStatusTypeId).toBe(
      "c97c0fd2-fd84-4949-97c7-b0e2422fb3c8",
    );
  });
});
