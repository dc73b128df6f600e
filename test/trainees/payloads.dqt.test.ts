import { describe, expect, it } from "vitest";
import { dqtIttOutcomeBody, dqtTrnRequestBody, dqtUpdateBody, dqtUpdateOutcome } from "../../src/trainees/payloads.js";
import { day, traineeFixture } from "../support/trainee-fixture.js";

const itt = {
  providerUkprn: "10007799",
  programmeStartDate: "2025-09-01",
  programmeEndDate: "2026-07-31",
  programmeType: "PrimaryAndSecondaryPostgraduateFeeFunded",
  subject1: "100425",
  subject2: "100403",
  ageRangeFrom: 11,
  ageRangeTo: 16,
  ittQualificationType: "PostgraduateCertificateInEducation",
};

describe("DQT TRN request body (trs-api.md §3a DQT)", () => {
  it("carries the person, the slug and the ITT details", () => {
    expect(dqtTrnRequestBody(traineeFixture({ trn: null, state: "submitted_for_trn" }))).toEqual({
      firstName: "Ada Mary",
      middleName: "Grace",
      lastName: "Lovelace",
      birthDate: "1990-05-17",
      emailAddress: "ada.lovelace@example.com",
      genderCode: "Female",
      slugId: "AbCdEf123456GhJkLmNoPqRs",
      initialTeacherTraining: itt,
    });
  });

  it.each([
    ["prefer_not_to_say", "NotProvided"],
    ["sex_not_provided", "NotAvailable"],
    [null, "NotAvailable"],
  ])("maps sex %s to genderCode %s", (sex, genderCode) => {
    expect(dqtTrnRequestBody(traineeFixture({ sex })).genderCode).toBe(genderCode);
  });

  it("leaves out what the trainee lacks", () => {
    const body = dqtTrnRequestBody(
      traineeFixture({ middleNames: null, email: null, courseSubjects: [], courseMinAge: null, ittQualificationAim: null }),
    );
    expect(body).not.toHaveProperty("middleName");
    expect(body).not.toHaveProperty("emailAddress");
    expect(Object.keys(body.initialTeacherTraining).sort()).toEqual([
      "programmeEndDate",
      "programmeStartDate",
      "programmeType",
      "providerUkprn",
    ]);
  });

  it("sends three subjects as subject1..3", () => {
    const body = dqtTrnRequestBody(traineeFixture({ courseSubjects: ["100425", "999001", "999003"] }));
    expect(body.initialTeacherTraining).toMatchObject({ subject1: "100425", subject2: "999001", subject3: "999003" });
  });
});

describe("DQT update body (trs-api.md §3c DQT)", () => {
  it.each([
    ["trn_received", "provider_led_postgrad", "InTraining"],
    ["submitted_for_trn", "provider_led_postgrad", "InTraining"],
    ["trn_received", "assessment_only", "UnderAssessment"],
    ["deferred", "provider_led_postgrad", "Deferred"],
    ["withdrawn", "provider_led_postgrad", null],
    ["recommended_for_award", "provider_led_postgrad", null],
    ["awarded", "provider_led_postgrad", null],
  ] as const)("a %s trainee on %s gets outcome %s", (state, trainingRoute, outcome) => {
    const trainee = traineeFixture({ state, trainingRoute });
    expect(dqtUpdateOutcome(trainee)).toBe(outcome);
    const body = dqtUpdateBody(trainee);
    if (outcome) expect(body.initialTeacherTraining.outcome).toBe(outcome);
    else expect(body.initialTeacherTraining).not.toHaveProperty("outcome");
  });

  it("carries the ITT details and the personal details", () => {
    expect(dqtUpdateBody(traineeFixture())).toEqual({
      initialTeacherTraining: { ...itt, outcome: "InTraining" },
      firstName: "Ada Mary",
      middleName: "Grace",
      lastName: "Lovelace",
      emailAddress: "ada.lovelace@example.com",
      genderCode: "Female",
      dateOfBirth: "1990-05-17",
    });
  });
});

describe("DQT itt-outcome body (trs-api.md §3d DQT)", () => {
  it("withdraws with the provider UKPRN", () => {
    expect(dqtIttOutcomeBody("withdraw", traineeFixture({ state: "withdrawn" }))).toEqual({
      ittProviderUkprn: "10007799",
      outcome: "Withdrawn",
    });
  });

  it("awards with Pass and the outcome date as assessment date", () => {
    expect(dqtIttOutcomeBody("award", traineeFixture({ state: "recommended_for_award", outcomeDate: day("2026-07-10") }))).toEqual({
      ittProviderUkprn: "10007799",
      outcome: "Pass",
      assessmentDate: "2026-07-10",
    });
  });
});
