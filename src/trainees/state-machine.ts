/**
 * The trainee state machine (CONTRACT.md §5) and what each change triggers. Pure: no I/O, so the
 * rules are tested as tables.
 */
import type { TraineeStateName } from "./document.js";

/** States a trainee may be created in; the last two need a TRN (an import of an existing record). */
export const initialStates: readonly TraineeStateName[] = ["draft", "submitted_for_trn", "trn_received", "deferred"];
const initialStatesNeedingTrn: readonly TraineeStateName[] = ["trn_received", "deferred"];

/**
 * Moves the upstream application may make. Two are corrections (CONTRACT.md §5): undoing a
 * withdrawal (withdrawn → back in training, which TRS allows: Withdrawn → InTraining) and
 * correcting a recommendation before the award reached TRS (recommended_for_award →
 * trn_received; accept-document.ts refuses it once the award is on its way or sent).
 */
export const upstreamTransitions: Readonly<Record<TraineeStateName, readonly TraineeStateName[]>> = {
  draft: ["submitted_for_trn"],
  submitted_for_trn: ["withdrawn", "deferred"],
  trn_received: ["withdrawn", "deferred", "recommended_for_award"],
  deferred: ["withdrawn", "submitted_for_trn", "trn_received"],
  recommended_for_award: ["trn_received"],
  withdrawn: ["submitted_for_trn", "trn_received"],
  awarded: [],
  discarded: [],
};

export type StateDecision = { ok: true; state: TraineeStateName } | { ok: false; reason: string; allowedTransitions: TraineeStateName[] };

/**
 * The state to store when upstream sends `requested` for a trainee stored in `current` (null when
 * new). Upstream lags behind what trs-sync itself did (TRN received, award accepted), so a document
 * still saying `submitted_for_trn` after the TRN arrived, or `recommended_for_award` after the
 * award, keeps the stored state rather than being refused.
 */
export function decideState(options: { current: TraineeStateName | null; requested: TraineeStateName; hasTrn: boolean }): StateDecision {
  const { current, requested, hasTrn } = options;
  if (current === null) {
    if (!initialStates.includes(requested)) {
      return { ok: false, reason: `a trainee cannot be created as ${requested}`, allowedTransitions: [...initialStates] };
    }
    if (initialStatesNeedingTrn.includes(requested) && !hasTrn) {
      return { ok: false, reason: `a trainee created as ${requested} needs a trn`, allowedTransitions: ["draft", "submitted_for_trn"] };
    }
    if (requested === "submitted_for_trn" && hasTrn) return { ok: true, state: "trn_received" };
    return { ok: true, state: requested };
  }
  if (current === "discarded") {
    return { ok: false, reason: "the trainee was discarded: nothing more is accepted for it", allowedTransitions: [] };
  }
  if (requested === current) return { ok: true, state: current };
  if (current === "withdrawn" && requested === "deferred") {
    // TRS refuses a withdrawn route that becomes deferred (SetRouteToProfessionalStatus: 10056)
    return {
      ok: false,
      reason: "TRS does not let a withdrawn route become deferred (its error 10056): undo the withdrawal first, then defer",
      allowedTransitions: [hasTrn ? "trn_received" : "submitted_for_trn"],
    };
  }
  // Undoing a withdrawal puts the trainee back in training: with a TRN that is trn_received.
  if (current === "withdrawn" && requested === "submitted_for_trn" && hasTrn) return { ok: true, state: "trn_received" };
  if (current === "trn_received" && requested === "submitted_for_trn") return { ok: true, state: current };
  if (current === "awarded" && requested === "recommended_for_award") return { ok: true, state: current };
  if (current === "awarded") {
    return {
      ok: false,
      reason: "the award has reached TRS, which does not let it be changed through its API: ask the TRS team to correct it",
      allowedTransitions: [],
    };
  }
  // Reinstating a deferred trainee who already has a TRN puts them back in training, not in the TRN queue.
  if (current === "deferred" && requested === "submitted_for_trn" && hasTrn) return { ok: true, state: "trn_received" };
  // Upstream may tell us the TRN it already knows.
  if (current === "submitted_for_trn" && requested === "trn_received" && hasTrn) return { ok: true, state: requested };
  const allowed = upstreamTransitions[current];
  if (!allowed.includes(requested)) {
    return { ok: false, reason: `${current} cannot move to ${requested}`, allowedTransitions: [...allowed] };
  }
  if (requested === "trn_received" && !hasTrn) {
    return { ok: false, reason: "trn_received needs a trn", allowedTransitions: allowed.filter((s) => s !== "trn_received") };
  }
  if (requested === "recommended_for_award" && !hasTrn) {
    return {
      ok: false,
      reason: "recommended_for_award needs a trn",
      allowedTransitions: allowed.filter((s) => s !== "recommended_for_award"),
    };
  }
  return { ok: true, state: requested };
}

export type SyncWorkKind = "register_for_trn" | "update_trainee" | "withdraw_trainee" | "award_trainee";

/**
 * Work a correction makes unnecessary, cancelled before it reaches TRS: undoing a withdrawal
 * cancels a withdrawal not yet sent; correcting a recommendation cancels the award.
 */
export function workCancelledBy(options: { from: TraineeStateName | null; to: TraineeStateName }): SyncWorkKind[] {
  const { from, to } = options;
  if (from === "withdrawn" && to !== "withdrawn") return ["withdraw_trainee"];
  if (from === "recommended_for_award" && to === "trn_received") return ["award_trainee"];
  return [];
}

/**
 * The sync work an accepted change implies (CONTRACT.md §5). `fieldsChanged` is true when anything
 * other than the state differs from what was stored. Work that needs a TRN is returned even
 * without one: it waits in the outbox until the TRN arrives.
 */
export function syncWorkFor(options: {
  before: { state: TraineeStateName; trn: string | null } | null;
  after: { state: TraineeStateName; trn: string | null };
  fieldsChanged: boolean;
}): SyncWorkKind[] {
  const { before, after, fieldsChanged } = options;
  const from = before?.state ?? null;
  const to = after.state;
  const stateChanged = from !== to;
  const work: SyncWorkKind[] = [];

  if (stateChanged && to === "submitted_for_trn" && !after.trn) work.push("register_for_trn");
  if (stateChanged && to === "withdrawn") return [...work, "withdraw_trainee"];
  if (stateChanged && to === "recommended_for_award") return ["update_trainee", "award_trainee"];
  if (to === "withdrawn" || to === "awarded") return work;

  // back in training after a deferral, a withdrawal undone or a recommendation corrected: the
  // route's status is sent again
  const deferredOrReinstated =
    stateChanged && (to === "deferred" || from === "deferred" || from === "withdrawn" || from === "recommended_for_award");
  const importedWithTrn = before === null && !!after.trn && to !== "draft";
  const trnArrived = before !== null && !before.trn && !!after.trn && to !== "draft";
  const editWithTrn = fieldsChanged && !!after.trn && to !== "draft";
  if (deferredOrReinstated || importedWithTrn || trnArrived || editWithTrn) work.push("update_trainee");
  return work;
}
