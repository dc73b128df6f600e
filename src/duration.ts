/** Durations in configuration are written `<integer><unit>`, unit one of ms s m h d (CONTRACT.md §3). */
const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function parseDuration(text: string): number | null {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) return null;
  return Number(match[1]) * units[match[2] as keyof typeof units];
}

export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ["d", units.d],
    ["h", units.h],
    ["m", units.m],
    ["s", units.s],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
