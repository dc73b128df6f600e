import { describe, expect, it } from "vitest";
import { addMonths, estimatedCourseMonths, estimatedEndDate, isoDate } from "../../src/trainees/code-sets.js";
import { day } from "../support/trainee-fixture.js";

describe("estimated end date (register-trainee-teachers.md §6.2)", () => {
  it.each([
    ["provider_led_undergrad", "part_time", 70, "2031-07-01"],
    ["provider_led_undergrad", "full_time", 34, "2028-07-01"],
    ["provider_led_undergrad", null, 10, "2026-07-01"],
    ["opt_in_undergrad", "full_time", 22, "2027-07-01"],
    ["opt_in_undergrad", null, 22, "2027-07-01"],
    ["provider_led_postgrad", "part_time", 22, "2027-07-01"],
    ["early_years_salaried", "part_time", 22, "2027-07-01"],
    ["provider_led_postgrad", "full_time", 10, "2026-07-01"],
    ["assessment_only", null, 10, "2026-07-01"],
    [null, null, 10, "2026-07-01"],
  ] as const)("%s %s: +%i months", (trainingRoute, studyMode, months, end) => {
    expect(estimatedCourseMonths({ trainingRoute, studyMode })).toBe(months);
    const date = estimatedEndDate({ trainingRoute, studyMode, traineeStartDate: day("2025-09-01"), ittStartDate: null });
    expect(date && isoDate(date)).toBe(end);
  });

  it("counts from the trainee start date first, then the ITT start date", () => {
    const both = {
      trainingRoute: "provider_led_postgrad",
      studyMode: "full_time",
      traineeStartDate: day("2025-10-15"),
      ittStartDate: day("2025-09-01"),
    };
    expect(isoDate(estimatedEndDate(both)!)).toBe("2026-08-15");
    expect(isoDate(estimatedEndDate({ ...both, traineeStartDate: null })!)).toBe("2026-07-01");
    expect(estimatedEndDate({ ...both, traineeStartDate: null, ittStartDate: null })).toBeNull();
  });

  it("clamps to the end of a shorter month, like Rails", () => {
    expect(isoDate(addMonths(day("2025-01-31"), 1))).toBe("2025-02-28");
    expect(isoDate(addMonths(day("2023-04-30"), 10))).toBe("2024-02-29");
    expect(isoDate(addMonths(day("2025-09-30"), 34))).toBe("2028-07-30");
  });
});
