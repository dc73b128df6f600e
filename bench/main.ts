/**
 * `npm run bench`: every scenario beside its baseline, measured in the same run, against the
 * sandbox TRS API on localhost with the real Redis and Postgres (CONTRACT.md §2). Prints a table per
 * scenario, then the figures against their targets, and ends with one JSON line of every figure.
 *
 *   npm run bench                         every scenario at full size (about half an hour on 2 cores)
 *   npm run bench -- --quick              fewer trainees in each (a few minutes)
 *   npm run bench -- --only <scenario>    one scenario (repeat --only for several)
 *
 * Scenarios: overhead (with memory), ingest, latency, award-peak, failed-jobs, history.
 * BENCH_PROFILE=<dir> writes CPU profiles of the worker and web processes there (node --cpu-prof);
 * sizes can be set with BENCH_* variables named in each scenario's file.
 */
import os from "node:os";
import { awardPeakScenario } from "./award-peak.js";
import { failedJobsScenario } from "./failed-jobs.js";
import { historyScenario } from "./history.js";
import { ingestScenario } from "./ingest.js";
import { latencyScenario } from "./latency.js";
import { overheadScenario } from "./overhead.js";
import { dropBenchTemplate } from "./web-process.js";

type Figures = Record<string, number>;

const scenarios: Record<string, (options: { quick: boolean }) => Promise<Figures>> = {
  overhead: overheadScenario,
  ingest: ingestScenario,
  latency: latencyScenario,
  "award-peak": awardPeakScenario,
  "failed-jobs": failedJobsScenario,
  history: historyScenario,
};
/** `memory` is measured by the overhead scenario (worker RSS at start and after it). */
const aliases: Record<string, string> = { memory: "overhead" };

export function parseArguments(argv: string[]): { quick: boolean; only: string[] } {
  const only: string[] = [];
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--quick") quick = true;
    else if (arg === "--only" || arg.startsWith("--only=")) {
      const value = arg === "--only" ? argv[++i] : arg.slice("--only=".length);
      const name = aliases[value ?? ""] ?? value;
      if (!name || !(name in scenarios)) {
        throw new Error(
          `--only takes one of ${[...Object.keys(scenarios), ...Object.keys(aliases)].join(", ")} (got ${value ?? "nothing"})`,
        );
      }
      if (!only.includes(name)) only.push(name);
    } else throw new Error(`unknown argument ${arg}: use --quick and --only <scenario>`);
  }
  return { quick, only };
}

/** The figures that have a target in issue 10, with the target and whether it was met. */
export function targets(results: Record<string, Figures>): { figure: string; target: string; measured: number; met: boolean }[] {
  const rows = [];
  const { overhead, ingest, latency } = results;
  const award = results["award-peak"];
  if (overhead)
    rows.push({ figure: "overhead ratio to plain BullMQ", target: "≥ 0.25", measured: overhead.ratio!, met: overhead.ratio! >= 0.25 });
  if (ingest)
    rows.push({
      figure: "PUTs/s creating work, 16 clients",
      target: "≥ 500",
      measured: ingest.puts_per_second!,
      met: ingest.puts_per_second! >= 500,
    });
  if (latency)
    rows.push({ figure: "PUT to request at TRS, p99 ms", target: "< 250", measured: latency.p99_ms!, met: latency.p99_ms! < 250 });
  if (award) {
    rows.push({ figure: "award peak: drain / floor", target: "≤ 1.1", measured: award.drain_to_floor!, met: award.drain_to_floor! <= 1.1 });
    rows.push({
      figure: "award peak: most requests in a window / limit",
      target: "≤ 1",
      measured: award.most_in_window_to_limit!,
      met: award.most_in_window_to_limit! <= 1,
    });
  }
  return rows;
}

async function main() {
  const { quick, only } = parseArguments(process.argv.slice(2));
  const loadAtStart = os.loadavg()[0]!;
  const chosen = only.length ? only : Object.keys(scenarios);
  const results: Record<string, Figures> = {};
  try {
    for (const name of chosen) {
      console.log(`\n== ${name}${quick ? " (quick)" : ""}`);
      results[name] = await scenarios[name]!({ quick });
      console.table(results[name]);
    }
  } finally {
    await dropBenchTemplate();
  }
  const checked = targets(results);
  if (checked.length) {
    console.log("\n== targets");
    console.table(checked);
  }
  const machine = {
    cpus: os.cpus().length,
    load1_at_start: Number(loadAtStart.toFixed(2)),
    load1_at_end: Number(os.loadavg()[0]!.toFixed(2)),
    node: process.version,
  };
  console.log(JSON.stringify({ quick, machine, ...results }));
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
