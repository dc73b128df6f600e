import { describe, expect, it } from "vitest";
import { InvalidTraineeError } from "../../src/clients/teacher-records.js";
import { dqtIttOutcomeBody, dqtTrnRequestBody, dqtUpdateBody, trsPersonCall, trsRouteBody } from "../../src/trainees/payloads.js";
import type { Trainee } from "../../src/generated/prisma/client.js";
import { traineeFixture } from "../support/trainee-fixture.js";

const cases: [string, Partial<Trainee>, (t: Trainee) => unknown, string][] = [
  ["TRS person without a TRN", { trn: null }, trsPersonCall, "trn"],
  ["TRS route without a TRN", { trn: null }, (t) => trsRouteBody(t, "InTraining"), "trn"],
  ["TRS route without a training route", { trainingRoute: null }, (t) => trsRouteBody(t, "InTraining"), "trainingRoute"],
  ["TRS route with an unknown training route", { trainingRoute: "scitt_postgrad" }, (t) => trsRouteBody(t, "InTraining"), "trainingRoute"],
  ["TRS route without a provider UKPRN", { providerUkprn: null }, (t) => trsRouteBody(t, "InTraining"), "providerUkprn"],
  ["TRS route without a start date", { ittStartDate: null, traineeStartDate: null }, (t) => trsRouteBody(t, "InTraining"), "ittStartDate"],
  [
    "TRS award without an outcome date",
    { state: "recommended_for_award", outcomeDate: null },
    (t) => trsRouteBody(t, "Holds"),
    "outcomeDate",
  ],
  ["DQT TRN request on teach_first", { trainingRoute: "teach_first" }, dqtTrnRequestBody, "trainingRoute"],
  [
    "DQT TRN request on teacher_degree_apprenticeship",
    { trainingRoute: "teacher_degree_apprenticeship" },
    dqtTrnRequestBody,
    "trainingRoute",
  ],
  ["DQT TRN request without a provider UKPRN", { providerUkprn: null }, dqtTrnRequestBody, "providerUkprn"],
  ["DQT TRN request without a start date", { ittStartDate: null, traineeStartDate: null }, dqtTrnRequestBody, "ittStartDate"],
  ["DQT update without a TRN", { trn: null }, dqtUpdateBody, "trn"],
  ["DQT update without a training route", { trainingRoute: null }, dqtUpdateBody, "trainingRoute"],
  ["DQT withdraw without a TRN", { trn: null }, (t) => dqtIttOutcomeBody("withdraw", t), "trn"],
  ["DQT withdraw without a provider UKPRN", { providerUkprn: null }, (t) => dqtIttOutcomeBody("withdraw", t), "providerUkprn"],
  ["DQT award without an outcome date", { outcomeDate: null }, (t) => dqtIttOutcomeBody("award", t), "outcomeDate"],
];

describe("InvalidTraineeError", () => {
  it.each(cases)("%s", (_, overrides, build, field) => {
    const error = (() => {
      try {
        build(traineeFixture(overrides));
      } catch (caught) {
        return caught;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(InvalidTraineeError);
    expect((error as InvalidTraineeError).field).toBe(field);
  });

  it("names no personal data in its message", () => {
    const trainee = traineeFixture({ trn: null });
    try {
      trsPersonCall(trainee);
    } catch (error) {
      const message = (error as Error).message;
      for (const personal of [trainee.firstNames, trainee.lastName, "1990-05-17", trainee.email!]) expect(message).not.toContain(personal);
    }
    expect.assertions(4);
  });
});
