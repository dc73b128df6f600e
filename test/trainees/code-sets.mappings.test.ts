import { describe, expect, it } from "vitest";
import {
  assessmentOnlyRoute,
  dqtGender,
  dqtIttQualificationType,
  dqtProgrammeTypes,
  eytsRoutes,
  professionalStatusOf,
  subjectReferences,
  trainingRoutes,
  trsDegreeTypeId,
  trsGender,
  trsRouteTypeIds,
} from "../../src/trainees/code-sets.js";
import { findQualificationAim, qualificationAims } from "../../src/trainees/qualification-aims.js";
// Enum lists copied from reference/dqt-api-v2.openapi.json (March 2023), which lives outside the repo.
const dqtEnums = {
  IttProgrammeType: [
    "Core",
    "HEI",
    "SchoolDirectTrainingProgrammeSelfFunded",
    "SchoolDirectTrainingProgrammeSalaried",
    "SchoolDirectTrainingProgramme",
    "TeachFirstProgrammeCC",
    "TeachFirstProgramme",
    "OverseasTrainedTeacherProgramme",
    "RegisteredTeacherProgramme",
    "GraduateTeacherProgramme",
    "AssessmentOnlyRoute",
    "CoreFlexible",
    "LicensedTeacherProgramme",
    "UndergraduateOptIn",
    "EYITTAssessmentOnly",
    "EYITTGraduateEntry",
    "EYITTGraduateEmploymentBased",
    "EYITTUndergraduate",
    "EYITTSchoolDirectEarlyYears",
    "Apprenticeship",
    "FutureTeachingScholars",
    "ProviderLedPostgrad",
    "ProviderLedUndergrad",
    "InternationalQualifiedTeacherStatus",
  ],
  Gender: ["Male", "Female", "Other", "NotProvided", "NotAvailable"],
  IttQualificationType: [
    "BEd",
    "BEdHons",
    "BSc",
    "BScHons",
    "BTech_Education",
    "BTechHons_Education",
    "BA",
    "BAHons",
    "BACombinedStudies_EducationOfTheDeaf",
    "BAHonsCombinedStudies_EducationOfTheDeaf",
    "BAEducationQTS",
    "BAWithIntercalatedPGCE",
    "BScHonsWithIntercalatedPGCE",
    "BAHonsWithIntercalatedPGCE",
    "BSc_EducationQTS",
    "BEngHons_Education",
    "BSc_CertificateInEducationQTS",
    "BA_CertificateInEducationQTS",
    "PostgraduateCertificateInEducationFlexible",
    "PostgraduateCertificateInEducation",
    "PostgraduateDiplomaInEducation",
    "PostgraduateArtTeachersCertificate",
    "PostgraduateArtTeachersDiploma",
    "GraduateCertificateInScienceAndEducation",
    "GraduateCertificateInMathematicsAndEducation",
    "PGCEArticledTeachersScheme",
    "QTSAwardOnly",
    "UndergraduateMasterOfTeaching",
    "QTSAssessmentOnly",
    "CertificateInEducation",
    "ProfessionalGraduateCertificateInEducation",
    "MastersNotByResearch",
    "GraduateCertificateInEducation",
    "CertificateInEducationFurtherEducation",
    "PostgraduateCertificateInEducationFurtherEducation",
    "TeachersCertificateFurtherEducation",
    "TeachersCertificate",
    "QualificationGainedInEurope",
    "ProfessionalGraduateDiplomaInEducation",
    "AssessmentOnlyRoute",
    "TeachFirstTNP",
    "TroopsToTeach",
    "OTTRecognition",
    "InternationalQualifiedTeacherStatus",
    "GTP",
    "RTP",
    "OTT",
    "OTTExemptFromInduction",
    "TeachFirst",
    "EEA",
    "Scotland",
    "NorthernIreland",
    "FE",
    "ISC",
    "FlexiblePGCE",
    "FlexibleAssessmentOnly",
    "LicensedTeacherProgramme",
    "FlexibleProfGCE",
    "EYTSOnly",
    "EYTSPlusAcademicAward",
    "ETYSAssessmentOnly",
    "PGCTeachersForTheDeaf",
    "Degree",
    "HigherDegree",
    "DegreeEquivalent",
    "NoQualificationRestrictedByOtherGTC",
    "Unknown",
  ],
};

const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("routes", () => {
  it.each([
    ["assessment_only", "57b86cef-98e2-4962-a74a-d47c7a34b838", "AssessmentOnlyRoute"],
    ["early_years_assessment_only", "d9eef3f8-fde6-4a3f-a361-f6655a42fa1e", "EYITTAssessmentOnly"],
    ["early_years_postgrad", "dbc4125b-9235-41e4-abd2-baabbf63f829", "EYITTGraduateEntry"],
    ["early_years_salaried", "4477e45d-c531-4c63-9f4b-e157766366fb", "EYITTGraduateEmploymentBased"],
    ["early_years_undergrad", "c97c0fd2-fd84-4949-97c7-b0e2422fb3c8", "EYITTUndergraduate"],
    ["hpitt_postgrad", "bfef20b2-5ac4-486d-9493-e5a4538e1be9", "HighPotentialITT"],
    ["iqts", "d0b60864-ab1c-4d49-a5c2-ff4bd9872ee1", "InternationalQualifiedTeacherStatus"],
    ["opt_in_undergrad", "20f67e38-f117-4b42-bbfc-5812aa717b94", "UndergraduateOptIn"],
    ["pg_teaching_apprenticeship", "6987240e-966e-485f-b300-23b54937fb3a", "Apprenticeship"],
    ["provider_led_postgrad", "97497716-5ac5-49aa-a444-27fa3e2c152a", "PrimaryAndSecondaryPostgraduateFeeFunded"],
    ["provider_led_undergrad", "53a7fbda-25fd-4482-9881-5cf65053888d", "PrimaryAndSecondaryUndergraduateFeeFunded"],
    ["school_direct_salaried", "12a742c3-1cd4-43b7-a2fa-1000bd4cc373", "SchoolDirectTrainingProgrammeSalaried"],
    ["school_direct_tuition_fee", "d9490e58-acdc-4a38-b13e-5a5c21417737", "SchoolDirectTrainingProgramme"],
    ["teach_first", "5b7f5e90-1ca6-4529-baa0-dfba68e698b8", null],
    ["teacher_degree_apprenticeship", "5d4c01c1-0841-4306-b49c-48ad6499fdc0", null],
  ] as const)("%s → TRS %s, DQT %s", (route, trsId, dqtType) => {
    expect(trsRouteTypeIds[route]).toBe(trsId);
    expect(dqtProgrammeTypes[route]).toBe(dqtType);
  });

  it("maps every route key of the document, with lower-case GUIDs", () => {
    for (const route of trainingRoutes) {
      expect(trsRouteTypeIds[route]).toMatch(guid);
      expect(route in dqtProgrammeTypes).toBe(true);
    }
    expect(Object.keys(trsRouteTypeIds).sort()).toEqual([...trainingRoutes].sort());
  });

  it("uses DQT programme types the API knows (the 2023 spec, plus the three Register sent after it)", () => {
    const known = new Set<string>([
      ...dqtEnums.IttProgrammeType,
      "HighPotentialITT",
      "PrimaryAndSecondaryPostgraduateFeeFunded",
      "PrimaryAndSecondaryUndergraduateFeeFunded",
    ]);
    for (const type of Object.values(dqtProgrammeTypes)) if (type) expect(known).toContain(type);
  });

  it("splits EYTS from QTS routes", () => {
    expect([...eytsRoutes].sort()).toEqual([
      "early_years_assessment_only",
      "early_years_postgrad",
      "early_years_salaried",
      "early_years_undergrad",
    ]);
    expect(professionalStatusOf("early_years_salaried")).toBe("EYTS");
    expect(professionalStatusOf("assessment_only")).toBe("QTS");
    expect(professionalStatusOf("teach_first")).toBe("QTS");
  });

  it("names assessment_only, not the early years one, as the assessment-only route", () => {
    expect(assessmentOnlyRoute).toBe("assessment_only");
  });
});

describe("gender", () => {
  it.each([
    ["male", "Male", "Male"],
    ["female", "Female", "Female"],
    ["other", "Other", "Other"],
    ["prefer_not_to_say", "Other", "NotProvided"],
    ["sex_not_provided", "Other", "NotAvailable"],
    [null, null, "NotAvailable"],
    ["unknown", null, "NotAvailable"],
  ] as const)("%s → TRS %s, DQT %s", (sex, trs, dqt) => {
    expect(trsGender(sex)).toBe(trs);
    expect(dqtGender(sex)).toBe(dqt);
  });

  it("only sends DQT gender codes the spec lists", () => {
    const known = dqtEnums.Gender;
    for (const sex of ["male", "female", "other", "prefer_not_to_say", "sex_not_provided", null]) expect(known).toContain(dqtGender(sex));
  });
});

describe("ITT qualification aim", () => {
  // HESA code, Register's wording, TRS degree type (TrsDbContext.Seeding.cs), DQT type
  it.each([
    ["001", "BEd", "b7b0635a-22c3-41e3-a420-77b9b58c51cd", "BEd"],
    ["002", "BEd (Hons)", "9b35bdfa-cbd5-44fd-a45a-6167e7559de7", "BEdHons"],
    ["003", "BSc", "35d04fbb-c19b-4cd9-8fa6-39d90883a52a", "BSc"],
    ["004", "BSc (Hons)", "9959e914-f4f4-44cd-909f-e170a0f1ac42", "BScHons"],
    ["007", "BA", "969c89e7-35b8-43d8-be07-17ef76c3b4bf", "BA"],
    ["008", "BA (Hons)", "dbb7c27b-8a27-4a94-908d-4b4404acebd5", "BAHons"],
    ["020", "Postgraduate Certificate in Education", "40a85dd0-8512-438e-8040-649d7d677d07", "PostgraduateCertificateInEducation"],
    ["021", "Postgraduate Diploma in Education", "63d80489-ee3d-43af-8c4a-1d6ae0d65f68", "PostgraduateDiplomaInEducation"],
    ["028", "Undergraduate Master of Teaching", "dba69141-4101-4e05-80e0-524e3967d589", "UndergraduateMasterOfTeaching"],
    [
      "031",
      "Professional Graduate Certificate in Education",
      "d8e267d2-ed85-4eee-8119-45d0c6cc5f6b",
      "ProfessionalGraduateCertificateInEducation",
    ],
    ["032", "Masters, not by research", "9cf31754-5ac5-46a1-99e5-5c98cba1b881", "MastersNotByResearch"],
  ] as const)("%s / %s → TRS %s, DQT %s, by code or by wording", (code, wording, degreeTypeId, dqtType) => {
    for (const aim of [code, wording, wording.toUpperCase()]) {
      expect(findQualificationAim(aim)?.wording).toBe(wording);
      expect(trsDegreeTypeId(aim)).toBe(degreeTypeId);
      expect(dqtIttQualificationType(aim, "provider_led_postgrad")).toBe(dqtType);
    }
  });

  it("takes Register's Unknown and the PGCE/PGDE abbreviations", () => {
    expect(trsDegreeTypeId("Unknown")).toBe("9cf31754-5ac5-46a1-99e5-5c98cba1b881");
    expect(findQualificationAim("PGCE")?.wording).toBe("Postgraduate Certificate in Education");
    expect(findQualificationAim("pgde")?.wording).toBe("Postgraduate Diploma in Education");
  });

  it("only uses DQT qualification types the spec lists", () => {
    const known = dqtEnums.IttQualificationType;
    for (const aim of qualificationAims) if (aim.dqtType) expect(known).toContain(dqtIttQualificationType(aim.wording, null));
  });

  it("gives no degree type for a missing or unknown aim", () => {
    expect(trsDegreeTypeId(null)).toBeNull();
    expect(trsDegreeTypeId("Foundation degree")).toBeNull();
    expect(dqtIttQualificationType("Foundation degree", "provider_led_postgrad")).toBeNull();
  });

  it("sends InternationalQualifiedTeacherStatus for an iQTS trainee without an aim, as Register did", () => {
    expect(dqtIttQualificationType(null, "iqts")).toBe("InternationalQualifiedTeacherStatus");
    expect(dqtIttQualificationType("020", "iqts")).toBe("PostgraduateCertificateInEducation");
    expect(dqtIttQualificationType(null, "provider_led_postgrad")).toBeNull();
  });
});

describe("subjects", () => {
  it.each([
    [["100425"], ["100425"]],
    [
      ["100425", "100403", "999001"],
      ["100425", "100403", "999001"],
    ],
    [
      ["999002", "999003"],
      ["999002", "999003"],
    ],
    [
      ["100425", "", "100403"],
      ["100425", "100403"],
    ],
    [
      ["100425", "100403", "100302", "100366"],
      ["100425", "100403", "100302"],
    ],
    [[], []],
  ])("%j → %j", (codes, expected) => {
    expect(subjectReferences(codes)).toEqual(expected);
  });
});
