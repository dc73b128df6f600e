/**
 * The sandbox's memory: persons, their routes and DQT ITT records, and TRN requests. One store per
 * sandbox (created by createSandbox), so tests running several sandboxes never share state.
 *
 * The sandbox accepts exactly one API key, so TRS's per-client scoping (TRN request ids, route
 * references: trs-api.md §3a, §3c) is the whole store. TRS v3 and DQT v2 TRN requests share one
 * id space, as they share one table in TRS.
 */
import { markersIn } from "./markers.js";
import type { DqtIttOutcome } from "./reference-data.js";
import { todayOf } from "./request-parsing.js";

/** TRNs are allocated in order from here; 7 digits like real TRNs. */
const firstTrn = 3_000_001;

export interface PersonDetails {
  firstName: string;
  middleName: string | null;
  lastName: string;
  dateOfBirth: string;
  emailAddress: string | null;
  nationalInsuranceNumber: string | null;
  gender: string | null;
}

/** A DQT ITT record (one per provider), created by a v2 TRN request or update. */
export interface IttRecord {
  providerUkprn: string;
  programmeType: string;
  programmeStartDate: string;
  programmeEndDate: string;
  result: DqtIttOutcome;
  subjects: string[];
  ageRangeFrom: number | null;
  ageRangeTo: number | null;
}

export type RouteStatus = "InTraining" | "Holds" | "Deferred" | "DeferredForSkillsTest" | "Failed" | "Withdrawn" | "UnderAssessment";

/** A TRS route to professional status, as last PUT (trs-api.md §3c). */
export interface RouteRecord {
  routeToProfessionalStatusId: string;
  reference: string;
  routeToProfessionalStatusTypeId: string;
  status: RouteStatus;
  holdsFrom: string | null;
  trainingStartDate: string | null;
  trainingEndDate: string | null;
  trainingSubjectReferences: string[];
  trainingAgeSpecialism: { type: string; from?: number | null | undefined; to?: number | null | undefined } | null;
  trainingCountryReference: string | null;
  trainingProviderUkprn: string | null;
  degreeTypeId: string | null;
  isExemptFromInduction: boolean | null;
}

export interface PersonRecord extends PersonDetails {
  trn: string;
  /**
   * TRS's AllowDetailsUpdatesFromSourceApplication: only records migrated from DQT with Register's
   * flag have it; TRS sets it for no person it creates now (SetPii.cs answers 10041 without it).
   */
  allowPiiUpdates: boolean;
  /** the last name the person was created with: its markers follow the person (markers.ts) */
  createdWithLastName: string;
  slugId: string | null;
  qtsDate: string | null;
  eytsDate: string | null;
  /** by route reference */
  routes: Map<string, RouteRecord>;
  itt: IttRecord[];
}

export interface TrnRequestRecord {
  requestId: string;
  createdAtMs: number;
  person: PersonDetails;
  /** `delay`: completes on the first read after pendingCompletesAfterMs; `manual`: only when forced */
  completes: "at-once" | "delay" | "manual";
  potentialDuplicate: boolean;
  trn: string | null;
  slugId: string | null;
  /** DQT only: the ITT the person gets when the request completes */
  itt: IttRecord | null;
  /** DQT only: an overseas teacher's QTS date */
  qtsDate: string | null;
}

export type NewTrnRequest = Pick<TrnRequestRecord, "requestId" | "person" | "slugId" | "itt" | "qtsDate">;

export class SandboxStore {
  readonly persons = new Map<string, PersonRecord>();
  readonly trnRequests = new Map<string, TrnRequestRecord>();
  private nextTrn = firstTrn;
  /** called once for each request that gets its TRN (the sandbox's webhooks listen here) */
  onTrnRequestCompleted: ((record: TrnRequestRecord) => void) | undefined;
  /** called for each new request from POST trn-requests */
  onTrnRequestAdded: ((record: TrnRequestRecord) => void) | undefined;

  reset(): void {
    this.persons.clear();
    this.trnRequests.clear();
    this.nextTrn = firstTrn;
  }

  /** Records a TRN request; it completes at once unless the last name says `+pending` or `+stuck`. */
  addTrnRequest(request: NewTrnRequest, now: Date): TrnRequestRecord {
    const found = markersIn(request.person.lastName);
    const completes = found.has("stuck") ? "manual" : found.has("pending") ? "delay" : "at-once";
    const record: TrnRequestRecord = {
      ...request,
      createdAtMs: now.getTime(),
      completes,
      potentialDuplicate: completes !== "at-once",
      trn: null,
    };
    this.trnRequests.set(record.requestId, record);
    if (completes === "at-once") this.completeTrnRequest(record, now);
    this.onTrnRequestAdded?.(record);
    return record;
  }

  /** Completes a pending request whose delay has passed; call on every read of the request. */
  refreshTrnRequest(record: TrnRequestRecord, now: Date, pendingCompletesAfterMs: number): void {
    if (record.trn === null && record.completes === "delay" && now.getTime() - record.createdAtMs >= pendingCompletesAfterMs) {
      this.completeTrnRequest(record, now);
    }
  }

  /** Gives the request its TRN and creates the person; does nothing when it already has one. */
  completeTrnRequest(record: TrnRequestRecord, now: Date): void {
    if (record.trn !== null) return;
    const person = this.createPerson(record, now);
    record.trn = person.trn;
    this.onTrnRequestCompleted?.(record);
  }

  private createPerson(request: TrnRequestRecord, now: Date): PersonRecord {
    const trn = String(this.nextTrn++).padStart(7, "0");
    const found = markersIn(request.person.lastName);
    const awarded = found.has("awarded");
    const person: PersonRecord = {
      ...request.person,
      trn,
      allowPiiUpdates: found.has("legacy"),
      createdWithLastName: request.person.lastName,
      slugId: request.slugId,
      qtsDate: request.qtsDate ?? (awarded ? todayOf(now) : null),
      eytsDate: null,
      routes: new Map(),
      itt: request.itt ? [{ ...request.itt }] : [],
    };
    this.persons.set(trn, person);
    return person;
  }

  /**
   * A person that exists at TRS already (a record Register created before the cutover, say), with
   * its routes; a TRN is allocated unless given.
   */
  seedPerson(
    seed: PersonDetails & { trn?: string; allowPiiUpdates?: boolean; slugId?: string | null; routes?: RouteRecord[] },
  ): PersonRecord {
    const trn = seed.trn ?? String(this.nextTrn++).padStart(7, "0");
    const person: PersonRecord = {
      firstName: seed.firstName,
      middleName: seed.middleName,
      lastName: seed.lastName,
      dateOfBirth: seed.dateOfBirth,
      emailAddress: seed.emailAddress,
      nationalInsuranceNumber: seed.nationalInsuranceNumber,
      gender: seed.gender,
      trn,
      allowPiiUpdates: seed.allowPiiUpdates ?? true,
      createdWithLastName: seed.lastName,
      slugId: seed.slugId ?? null,
      qtsDate: null,
      eytsDate: null,
      routes: new Map((seed.routes ?? []).map((route) => [route.reference, { ...route }])),
      itt: [],
    };
    this.persons.set(trn, person);
    return person;
  }

  /** A TRN request TRS holds already (made before the cutover), pending until completed by hand. */
  seedTrnRequest(request: NewTrnRequest, now: Date): TrnRequestRecord {
    const record: TrnRequestRecord = { ...request, createdAtMs: now.getTime(), completes: "manual", potentialDuplicate: true, trn: null };
    this.trnRequests.set(record.requestId, record);
    return record;
  }

  /** The person's markers: from the last name it was created with and any last names in this call. */
  markersFor(trn: string, ...lastNamesInCall: Array<string | undefined>) {
    return markersIn(this.persons.get(trn)?.createdWithLastName, ...lastNamesInCall);
  }

  /** DQT's look-up (trs-api.md §3c): by slugId first, then by TRN and date of birth. */
  findForDqt(query: { trn: string; birthDate: string; slugId: string | undefined }): PersonRecord | undefined {
    if (query.slugId) {
      for (const person of this.persons.values()) if (person.slugId === query.slugId) return person;
    }
    const person = this.persons.get(query.trn);
    return person?.dateOfBirth === query.birthDate ? person : undefined;
  }

  /** Records an award date, keeping the earliest (QTS and EYTS are held from the first award). */
  recordAward(person: PersonRecord, kind: "qts" | "eyts", date: string): void {
    const field = kind === "qts" ? "qtsDate" : "eytsDate";
    const current = person[field];
    if (current === null || date < current) person[field] = date;
  }
}
