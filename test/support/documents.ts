/** Upstream trainee documents for tests. */
import { randomUUID } from "node:crypto";

export function traineeDoc(overrides: Record<string, unknown> = {}) {
  return {
    slug: `t-${randomUUID().slice(0, 12)}`,
    firstNames: "Ada",
    middleNames: null,
    lastName: "Lovelace",
    dateOfBirth: "1990-12-10",
    sex: "female",
    email: "ada@example.com",
    trainingRoute: "provider_led_postgrad",
    providerUkprn: "10000001",
    providerName: "Example Teacher Training",
    ittStartDate: "2026-09-01",
    ittEndDate: "2027-07-31",
    traineeStartDate: null,
    studyMode: "full_time",
    courseSubjects: ["100425"],
    courseMinAge: 11,
    courseMaxAge: 16,
    ittQualificationAim: "Postgraduate Certificate in Education",
    nationalInsuranceNumber: "QQ123456C",
    state: "submitted_for_trn",
    ...overrides,
  };
}
