/**
 * The trainee state machine (CONTRACT.md §5) and what each change triggers. Pure: no I/O, so the
 * rules are tested as tables.
 */
import type { TraineeStateName } from "./document.js";

/** States a trainee may be created in; the last two need a TRN (an import of an existing record). */
export const initialStates: readonly TraineeStateName[] = ["draft", "submitted_for_trn", "trn_received", "deferred"];
const initialStatesNeedingTrn: readonly TraineeStateName[] = ["trn_received", "deferred"];

/** Moves the upstream application may make. */
export const upstreamTransitions: Readonly<Record<TraineeStateName, readonly TraineeStateName[]>> = {
  draft: ["submitted_for_trn"],
  submitted_for_trn: ["withdrawn", "deferred"],
  trn_received: ["withdrawn", "deferred", "recommended_for_award"],
  deferred: ["withdrawn", "submitted_for_trn", "trn_received"],
  recommended_for_award: [],
  withdrawn: [],
  awarded: [],
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
  if (requested === current) return { ok: true, state: current };
  if (current === "trn_received" && requested === "submitted_for_trn") return { ok: true, state: current };
  if (current === "awarded" && requested === "recommended_for_award") return { ok: true, state: current };
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

  const deferredOrReinstated = stateChanged && (to === "deferred" || from === "deferred");
  const importedWithTrn = before === null && !!after.trn && to !== "draft";
  const trnArrived = before !== null && !before.trn && !!after.trn && to !== "draft";
  const editWithTrn = fieldsChanged && !!after.trn && to !== "draft";
  if (deferredOrReinstated || importedWithTrn || trnArrived || editWithTrn) work.push("update_trainee");
  return work;
}
