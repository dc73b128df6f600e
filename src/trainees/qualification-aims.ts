/**
 * The ITT qualification aim (HESA field QLAIM) and the degree type it becomes at TRS and DQT.
 *
 * The upstream application may send either the HESA code ("020") or Register's wording
 * ("Postgraduate Certificate in Education", from Hesa::CodeSets::IttQualificationAims): Register
 * stored the wording for HESA imports and the code for API and CSV trainees, and looked TRS's
 * degree type up by wording only, so its API trainees never had one sent (and each route PUT then
 * cleared it at TRS). trs-sync accepts both, stores the wording, and refuses an aim it does not
 * know at intake rather than sending a route without a degree type.
 *
 * TRS ids: TrsDbContext.Seeding.cs GetDegreeTypes(); mapping: Register's CodeSets::Trs::DEGREE_TYPES.
 */

export interface QualificationAim {
  /** HESA code, or null for Register's "Unknown" */
  hesaCode: string | null;
  /** Register's wording: what trs-sync stores and returns */
  wording: string;
  /** TRS `degreeTypeId` */
  trsDegreeTypeId: string;
  /** DQT `ittQualificationType`, or null when DQT has none */
  dqtType: string | null;
}

export const qualificationAims: readonly QualificationAim[] = [
  { hesaCode: "001", wording: "BEd", trsDegreeTypeId: "b7b0635a-22c3-41e3-a420-77b9b58c51cd", dqtType: "BEd" },
  { hesaCode: "002", wording: "BEd (Hons)", trsDegreeTypeId: "9b35bdfa-cbd5-44fd-a45a-6167e7559de7", dqtType: "BEdHons" },
  { hesaCode: "003", wording: "BSc", trsDegreeTypeId: "35d04fbb-c19b-4cd9-8fa6-39d90883a52a", dqtType: "BSc" },
  { hesaCode: "004", wording: "BSc (Hons)", trsDegreeTypeId: "9959e914-f4f4-44cd-909f-e170a0f1ac42", dqtType: "BScHons" },
  { hesaCode: "007", wording: "BA", trsDegreeTypeId: "969c89e7-35b8-43d8-be07-17ef76c3b4bf", dqtType: "BA" },
  { hesaCode: "008", wording: "BA (Hons)", trsDegreeTypeId: "dbb7c27b-8a27-4a94-908d-4b4404acebd5", dqtType: "BAHons" },
  {
    hesaCode: "020",
    wording: "Postgraduate Certificate in Education",
    trsDegreeTypeId: "40a85dd0-8512-438e-8040-649d7d677d07",
    dqtType: "PostgraduateCertificateInEducation",
  },
  {
    hesaCode: "021",
    wording: "Postgraduate Diploma in Education",
    trsDegreeTypeId: "63d80489-ee3d-43af-8c4a-1d6ae0d65f68",
    dqtType: "PostgraduateDiplomaInEducation",
  },
  {
    hesaCode: "028",
    wording: "Undergraduate Master of Teaching",
    trsDegreeTypeId: "dba69141-4101-4e05-80e0-524e3967d589",
    dqtType: "UndergraduateMasterOfTeaching",
  },
  {
    hesaCode: "031",
    wording: "Professional Graduate Certificate in Education",
    trsDegreeTypeId: "d8e267d2-ed85-4eee-8119-45d0c6cc5f6b",
    dqtType: "ProfessionalGraduateCertificateInEducation",
  },
  // TRS has no degree type of that name: Register sends "Unknown" for it
  {
    hesaCode: "032",
    wording: "Masters, not by research",
    trsDegreeTypeId: "9cf31754-5ac5-46a1-99e5-5c98cba1b881",
    dqtType: "MastersNotByResearch",
  },
  { hesaCode: null, wording: "Unknown", trsDegreeTypeId: "9cf31754-5ac5-46a1-99e5-5c98cba1b881", dqtType: null },
];

/** Common abbreviations upstream applications use for the two postgraduate aims (trs-sync 0.1 stored these). */
const aliases: Readonly<Record<string, string>> = {
  pgce: "Postgraduate Certificate in Education",
  pgde: "Postgraduate Diploma in Education",
};

const byKey = new Map<string, QualificationAim>();
for (const aim of qualificationAims) {
  byKey.set(aim.wording.toLowerCase(), aim);
  if (aim.hesaCode) byKey.set(aim.hesaCode, aim);
}
for (const [alias, wording] of Object.entries(aliases)) byKey.set(alias, byKey.get(wording.toLowerCase())!);

/** The aim a HESA code, a wording (any case) or an abbreviation names; undefined when unknown. */
export function findQualificationAim(value: string | null | undefined): QualificationAim | undefined {
  return value == null ? undefined : byKey.get(value.trim().toLowerCase());
}

/** For a 400: what may be sent. */
export const acceptedAimsText = `a HESA ITT qualification aim code (${qualificationAims
  .flatMap((aim) => (aim.hesaCode ? [aim.hesaCode] : []))
  .join(", ")}) or its wording, e.g. "Postgraduate Certificate in Education"`;
