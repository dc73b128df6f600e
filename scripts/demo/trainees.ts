/**
 * The demo's trainees: realistic but invented people, one per path through the service, each with
 * the follow-up changes the upstream application sends later and the state it should end in. The
 * sandbox markers in the last names (src/sandbox/markers.ts) choose how the sandbox answers.
 */

/** A trainee document as PUT to /api/v1/trainees/{slug} (CONTRACT.md §4). */
export type TraineeDocument = Record<string, unknown> & { slug: string; state: string };

/** What GET /api/v1/trainees/{slug} answers, as far as the demo reads it. */
export interface TraineeView {
  slug: string;
  state: string;
  trn: string | null;
  awardedAt: string | null;
  sync: { pending: { jobType: string }[]; failed: { jobType: string; errorClass: string | null }[] };
}

export interface FollowUp {
  /** printed when sent, e.g. "recommended for award" */
  label: string;
  /** wait for the trainee's TRN before sending it */
  afterTrn: boolean;
  /** pause before sending it (after the TRN, when afterTrn) */
  delayMs: number;
  /** fields changed in the document (the rest stays as last sent) */
  changes: Record<string, unknown>;
}

export interface DemoTrainee {
  slug: string;
  /** what happens to this trainee, one line for the summary */
  story: string;
  /** an import of an existing record: the demo first has the sandbox create the person, for a real TRN */
  importWithTrn: boolean;
  document: TraineeDocument;
  followUps: FollowUp[];
  /** null when the trainee is where the story ends (as far as DEMO_EXIT_AFTER_SEED waits), else what is still missing */
  unmet(view: TraineeView): string | null;
}

const day = (date: Date) => date.toISOString().slice(0, 10);

/** Dates of the current academic year (September to July), so that the trainees look current whenever the demo runs. */
function academicYear(now: Date) {
  const year = now.getUTCMonth() >= 8 ? now.getUTCFullYear() : now.getUTCFullYear() - 1;
  return { start: `${year}-09-01`, end: `${year + 1}-07-31`, lastStart: `${year - 1}-09-01`, lastEnd: `${year}-07-31` };
}

const expectState = (view: TraineeView, state: string) => (view.state === state ? null : `state is ${view.state}, waiting for ${state}`);
const expectSettled = (view: TraineeView) =>
  view.sync.failed.length
    ? `failed: ${view.sync.failed.map((t) => `${t.jobType} (${t.errorClass})`).join(", ")}`
    : view.sync.pending.length
      ? `still to sync: ${view.sync.pending.map((t) => t.jobType).join(", ")}`
      : null;

export function demoTrainees(now: Date): DemoTrainee[] {
  const year = academicYear(now);
  // The board met yesterday: TRS refuses an award date in the future, and "today" differs across time zones.
  const yesterday = day(new Date(now.getTime() - 86_400_000));
  const base = {
    middleNames: null,
    trainingRoute: "provider_led_postgrad",
    providerUkprn: "10007789",
    providerName: "Northfield Teacher Training Partnership",
    ittStartDate: year.start,
    ittEndDate: year.end,
    traineeStartDate: null,
    studyMode: "full_time",
    courseMinAge: 11,
    courseMaxAge: 16,
    ittQualificationAim: "020", // the HESA code of "Postgraduate Certificate in Education"
    nationalInsuranceNumber: null,
    state: "submitted_for_trn",
  };

  return [
    {
      slug: "demo-ada-lovelace",
      story:
        "submitted for TRN, gets it at once (register-for-trn, update), then is recommended for award (update, award-trainee) → awarded",
      importWithTrn: false,
      document: {
        ...base,
        slug: "demo-ada-lovelace",
        firstNames: "Ada",
        lastName: "Lovelace",
        dateOfBirth: "1996-12-10",
        sex: "female",
        email: "ada.lovelace@example.org",
        courseSubjects: ["100403"], // mathematics
        ittStartDate: year.lastStart,
        ittEndDate: year.lastEnd,
      },
      followUps: [
        {
          label: "recommended for award",
          afterTrn: true,
          delayMs: 3_000,
          changes: { state: "recommended_for_award", outcomeDate: yesterday },
        },
      ],
      unmet: (view) => expectState(view, "awarded") ?? (view.awardedAt ? null : "no award date yet"),
    },
    {
      slug: "demo-alan-turing",
      story:
        "+pending: the TRN request answers Pending; TRS completes it about 20 s later and its webhook brings the TRN at once, with no poll (TRS_WEBHOOKS=off: poll-trn asks until it completes, about 35 s) → trn_received",
      importWithTrn: false,
      document: {
        ...base,
        slug: "demo-alan-turing",
        firstNames: "Alan Mathison",
        lastName: "Turing +pending",
        dateOfBirth: "1995-06-23",
        sex: "male",
        email: "alan.turing@example.org",
        courseSubjects: ["100366"], // computer science
      },
      followUps: [],
      unmet: (view) => expectState(view, "trn_received") ?? (view.trn ? null : "no TRN yet"),
    },
    {
      slug: "demo-grace-hopper",
      story:
        "+stuck: the TRN request never completes; polling times out after 3 m and raises the Slack alert (logged at warn without SLACK_WEBHOOK_URL)",
      importWithTrn: false,
      document: {
        ...base,
        slug: "demo-grace-hopper",
        firstNames: "Grace Brewster",
        lastName: "Hopper +stuck",
        dateOfBirth: "1998-12-09",
        sex: "female",
        email: "grace.hopper@example.org",
        courseSubjects: ["100366"],
      },
      followUps: [],
      // Stays waiting for its TRN: the timeout comes 3 minutes after submission, later than DEMO_EXIT_AFTER_SEED waits.
      unmet: (view) => expectState(view, "submitted_for_trn") ?? (view.trn ? `unexpected TRN ${view.trn}` : null),
    },
    {
      slug: "demo-katherine-johnson",
      story:
        "+legacy: imported with a TRN as trn_received, a record TRS lets us change (update), edited (update), deferred (update), reinstated (update) → trn_received",
      importWithTrn: true,
      document: {
        ...base,
        slug: "demo-katherine-johnson",
        firstNames: "Katherine",
        lastName: "Johnson +legacy",
        dateOfBirth: "1993-08-26",
        sex: "female",
        email: "k.johnson@example.org",
        nationalInsuranceNumber: "QQ123456A",
        courseSubjects: ["100425"], // physics
        courseMinAge: 14,
        courseMaxAge: 19,
        state: "trn_received",
      },
      followUps: [
        { label: "email changed", afterTrn: true, delayMs: 3_000, changes: { email: "katherine.johnson@example.org" } },
        { label: "deferred", afterTrn: true, delayMs: 4_000, changes: { state: "deferred" } },
        { label: "reinstated", afterTrn: true, delayMs: 4_000, changes: { state: "trn_received" } },
      ],
      unmet: (view) => expectState(view, "trn_received") ?? expectSettled(view),
    },
    {
      slug: "demo-mary-somerville",
      story: "submitted for TRN, gets it, then withdraws (withdraw-trainee) → withdrawn",
      importWithTrn: false,
      document: {
        ...base,
        slug: "demo-mary-somerville",
        firstNames: "Mary",
        lastName: "Somerville",
        dateOfBirth: "1997-12-26",
        sex: "female",
        email: "mary.somerville@example.org",
        courseSubjects: ["100425"],
      },
      followUps: [{ label: "withdrawn", afterTrn: true, delayMs: 3_000, changes: { state: "withdrawn", withdrawDate: yesterday } }],
      unmet: (view) => expectState(view, "withdrawn") ?? expectSettled(view),
    },
    {
      slug: "demo-charles-babbage",
      story:
        "+badukprn: the API does not know the provider's UKPRN, so a job fails for good (invalid_provider_ukprn on TRS) and waits for support",
      importWithTrn: false,
      document: {
        ...base,
        slug: "demo-charles-babbage",
        firstNames: "Charles",
        lastName: "Babbage +badukprn",
        dateOfBirth: "1991-12-26",
        sex: "male",
        email: "charles.babbage@example.org",
        courseSubjects: ["100403"],
      },
      followUps: [],
      unmet: (view) => (view.sync.failed.length ? null : "no failed job yet"),
    },
  ];
}
