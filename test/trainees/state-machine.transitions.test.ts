import { describe, expect, it } from "vitest";
import { decideState, syncWorkFor } from "../../src/trainees/state-machine.js";
import type { TraineeStateName } from "../../src/trainees/document.js";

describe("decideState", () => {
  it.each([
    [null, "draft", false, "draft"],
    [null, "submitted_for_trn", false, "submitted_for_trn"],
    [null, "submitted_for_trn", true, "trn_received"],
    [null, "trn_received", true, "trn_received"],
    [null, "deferred", true, "deferred"],
    ["draft", "submitted_for_trn", false, "submitted_for_trn"],
    ["submitted_for_trn", "deferred", false, "deferred"],
    ["submitted_for_trn", "withdrawn", false, "withdrawn"],
    ["trn_received", "recommended_for_award", true, "recommended_for_award"],
    ["deferred", "submitted_for_trn", false, "submitted_for_trn"],
    ["deferred", "submitted_for_trn", true, "trn_received"],
    ["deferred", "trn_received", true, "trn_received"],
    // upstream lagging behind what trs-sync did itself keeps the stored state
    ["trn_received", "submitted_for_trn", true, "trn_received"],
    ["awarded", "recommended_for_award", true, "awarded"],
    // corrections: undoing a withdrawal, correcting a recommendation
    ["withdrawn", "trn_received", true, "trn_received"],
    ["withdrawn", "submitted_for_trn", true, "trn_received"],
    ["withdrawn", "submitted_for_trn", false, "submitted_for_trn"],
    ["recommended_for_award", "trn_received", true, "trn_received"],
  ] as [TraineeStateName | null, TraineeStateName, boolean, TraineeStateName][])(
    "%s → %s (trn: %s) stores %s",
    (current, requested, hasTrn, expected) => {
      expect(decideState({ current, requested, hasTrn })).toEqual({ ok: true, state: expected });
    },
  );

  it.each([
    [null, "awarded", true],
    [null, "withdrawn", true],
    [null, "trn_received", false],
    ["draft", "trn_received", false],
    ["draft", "withdrawn", false],
    ["submitted_for_trn", "recommended_for_award", false],
    ["withdrawn", "deferred", true], // TRS: 10056
    ["withdrawn", "trn_received", false],
    ["awarded", "withdrawn", true],
    ["awarded", "trn_received", true],
    ["discarded", "trn_received", true],
    ["discarded", "draft", false],
    ["recommended_for_award", "withdrawn", true],
    ["trn_received", "awarded", true],
  ] as [TraineeStateName | null, TraineeStateName, boolean][])(
    "%s → %s is refused with the allowed transitions",
    (current, requested, hasTrn) => {
      const decision = decideState({ current, requested, hasTrn });
      expect(decision.ok).toBe(false);
      if (!decision.ok) expect(decision.allowedTransitions).not.toContain(requested);
    },
  );
});

describe("syncWorkFor", () => {
  const s = (state: TraineeStateName, trn: string | null = null) => ({ state, trn });
  it.each([
    ["new submitted without TRN", null, s("submitted_for_trn"), false, ["register_for_trn"]],
    ["new draft", null, s("draft"), false, []],
    ["import with TRN", null, s("trn_received", "1234567"), false, ["update_trainee"]],
    ["import deferred with TRN", null, s("deferred", "1234567"), false, ["update_trainee"]],
    ["draft submitted", s("draft"), s("submitted_for_trn"), false, ["register_for_trn"]],
    ["edit without TRN", s("submitted_for_trn"), s("submitted_for_trn"), true, []],
    ["edit with TRN", s("trn_received", "1"), s("trn_received", "1"), true, ["update_trainee"]],
    ["no change with TRN", s("trn_received", "1"), s("trn_received", "1"), false, []],
    ["deferred with TRN", s("trn_received", "1"), s("deferred", "1"), false, ["update_trainee"]],
    ["deferred before TRN (waits)", s("submitted_for_trn"), s("deferred"), false, ["update_trainee"]],
    ["reinstated", s("deferred", "1"), s("trn_received", "1"), false, ["update_trainee"]],
    ["reinstated without TRN", s("deferred"), s("submitted_for_trn"), false, ["register_for_trn", "update_trainee"]],
    ["withdrawn", s("trn_received", "1"), s("withdrawn", "1"), true, ["withdraw_trainee"]],
    ["withdrawn before TRN", s("submitted_for_trn"), s("withdrawn"), false, ["withdraw_trainee"]],
    ["recommended", s("trn_received", "1"), s("recommended_for_award", "1"), false, ["update_trainee", "award_trainee"]],
    ["edit after withdrawal", s("withdrawn", "1"), s("withdrawn", "1"), true, []],
    ["edit after award", s("awarded", "1"), s("awarded", "1"), true, []],
    ["edit while recommended", s("recommended_for_award", "1"), s("recommended_for_award", "1"), true, ["update_trainee"]],
  ] as const)("%s", (_name, before, after, fieldsChanged, expected) => {
    expect(syncWorkFor({ before, after, fieldsChanged })).toEqual(expected);
  });
});
