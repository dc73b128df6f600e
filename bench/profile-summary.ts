/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, written under BENCH_PROFILE): the share of the
 * sampled time by package (a node_modules package, a file of ours under src/, a node: module, or
 * native code such as syscalls, the garbage collector and idle time) and the busiest functions by
 * self time. `npx tsx bench/profile-summary.ts <file.cpuprofile> [--top N] [--callers FUNCTION]`;
 * --callers prints the call chains that spent the most time in that function.
 */
import { readFile } from "node:fs/promises";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives, as a reader of the profile would name it. */
function placeOf(url: string): string {
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  if (url.includes("/src/")) return `src/${url.split("/src/").at(-1)}`;
  return url || "(native)";
}

function ranked(totals: Map<string, number>, all: number, top: number): string[] {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => `${((100 * us) / all).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`);
}

export function summarise(profile: Profile, options: { top: number; callers?: string }): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const selfTime = new Map<number, number>();
  let all = 0;
  profile.samples.forEach((id, index) => {
    const us = profile.timeDeltas[index] ?? 0;
    selfTime.set(id, (selfTime.get(id) ?? 0) + us);
    all += us;
  });
  const byPlace = new Map<string, number>();
  const byFunction = new Map<string, number>();
  const chains = new Map<string, number>();
  for (const [id, us] of selfTime) {
    const frame = byId.get(id)!.callFrame;
    const place = placeOf(frame.url);
    byPlace.set(place, (byPlace.get(place) ?? 0) + us);
    const name = `${frame.functionName || "(anonymous)"}  ${place}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    if (options.callers && frame.functionName === options.callers) {
      const chain: string[] = [];
      for (let up = parentOf.get(id); up !== undefined && chain.length < 8; up = parentOf.get(up)) {
        const caller = byId.get(up)!.callFrame;
        chain.push(`${caller.functionName || "(anonymous)"} ${placeOf(caller.url)}:${caller.lineNumber + 1}`);
      }
      const key = chain.join(" < ");
      chains.set(key, (chains.get(key) ?? 0) + us);
    }
  }
  const lines = [`sampled ${(all / 1000).toFixed(0)} ms`, "", "by package:", ...ranked(byPlace, all, options.top)];
  lines.push("", "by function (self time):", ...ranked(byFunction, all, options.top));
  if (options.callers) lines.push("", `callers of ${options.callers}:`, ...ranked(chains, all, 6));
  return lines.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, ...rest] = process.argv.slice(2);
  if (!file) {
    console.error("usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [--top N] [--callers FUNCTION]");
    process.exit(2);
  }
  const option = (name: string) => {
    const at = rest.indexOf(name);
    return at >= 0 ? rest[at + 1] : undefined;
  };
  const profile = JSON.parse(await readFile(file, "utf8")) as Profile;
  console.log(summarise(profile, { top: Number(option("--top") ?? 20), callers: option("--callers") }));
}
