/**
 * The bench's own arithmetic (npm run bench is not part of npm test): its arguments, the figure the
 * award peak is judged by (most requests in any window), percentiles and the targets table.
 */
import { describe, expect, it } from "vitest";
import { mostInWindow } from "../../bench/award-peak.js";
import { parseArguments, targets } from "../../bench/main.js";
import { percentile } from "../../bench/stack.js";

describe("bench pieces", () => {
  it("reads --quick and --only, with memory measured by the overhead scenario", () => {
    expect(parseArguments([])).toEqual({ quick: false, only: [] });
    expect(parseArguments(["--quick", "--only", "latency", "--only=memory"])).toEqual({ quick: true, only: ["latency", "overhead"] });
    expect(() => parseArguments(["--only", "nonsense"])).toThrow(/--only takes one of/);
    expect(() => parseArguments(["--fast"])).toThrow(/unknown argument/);
  });

  it("finds the most requests in any window of the limit's length, wherever the window starts", () => {
    // a burst at a fixed-window boundary: 3 just before 1000 and 3 just after
    const arrivals = [0, 500, 990, 995, 999, 1001, 1003, 1005, 2500];
    expect(mostInWindow(arrivals, 1000)).toBe(7); // 500 up to 1005: a fixed window would see 5 and 3
    expect(mostInWindow(arrivals, 20)).toBe(6);
    expect(mostInWindow([], 1000)).toBe(0);
    expect(mostInWindow([5, 5, 5], 1)).toBe(3);
  });

  it("takes percentiles by nearest rank", () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
  });

  it("judges each figure against its target", () => {
    const rows = targets({
      overhead: { ratio: 0.3 },
      ingest: { puts_per_second: 499 },
      latency: { p99_ms: 250 },
      "award-peak": { drain_to_floor: 1.05, most_in_window_to_limit: 1.01 },
    });
    expect(rows.map((row) => row.met)).toEqual([true, false, false, true, false]);
  });
});
