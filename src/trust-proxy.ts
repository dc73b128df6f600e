/**
 * TRUST_PROXY (CONTRACT.md §3): which proxies in front of the web process Express may believe about
 * the client's address (`X-Forwarded-For`). That address keys the sign-in throttle, so a setting
 * that trusts too much lets a client pick a fresh address for every guess. Hence the value is
 * checked entry by entry here rather than handed to Express (proxy-addr) to interpret:
 *
 * - `off` or `false` (the default): the socket's address, whatever the headers say;
 * - a hop count (`1`): the address the nearest N proxies saw;
 * - a comma list whose every entry is an IPv4 or IPv6 address, a CIDR subnet with a prefix length
 *   from 1 to its family's width (`10.0.0.0/8`, `fd00::/8`; a /0 would be everyone), or one of
 *   Express's names `loopback`, `linklocal`, `uniquelocal`.
 *
 * `true`, `*`, `all` (trust everyone) are refused, and so is any entry that is none of the above,
 * named in the error, rather than being passed on for proxy-addr to reject or misread at start.
 */
import { isIP } from "node:net";

export type TrustProxy = false | number | string[];

/** The subnet names Express (proxy-addr) understands. */
const namedSubnets = new Set(["loopback", "linklocal", "uniquelocal"]);

/** Hop counts past this are a typo rather than a real chain of proxies. */
const maxHops = 99;

/** The problem with one list entry, or null when it is an address, a subnet or a name. */
function entryProblem(entry: string): string | null {
  if (!entry) return "an empty entry (two commas in a row, or one at an end)";
  if (/^(true|yes|all|\*)$/i.test(entry)) return `"${entry}" would trust every client to name its own address`;
  if (namedSubnets.has(entry.toLowerCase())) return null;
  const slash = entry.indexOf("/");
  const address = slash < 0 ? entry : entry.slice(0, slash);
  // (a zone id such as fe80::1%eth0 passes isIP but not proxy-addr)
  const family = address.includes("%") ? 0 : isIP(address);
  if (family === 0) return `"${entry}" is not an IPv4 or IPv6 address, a subnet, or loopback, linklocal or uniquelocal`;
  if (slash < 0) return null;
  const prefix = entry.slice(slash + 1);
  const bits = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits) {
    return `"${entry}" has no valid prefix length (1 to ${bits} for IPv${family})`;
  }
  if (Number(prefix) === 0) return `"${entry}" would trust every address (a prefix length of 0)`;
  return null;
}

/**
 * TRUST_PROXY's text as Express's `trust proxy` value, or `{ problem }` naming what is wrong
 * (the first bad entry).
 */
export function parseTrustProxy(text: string | undefined): { value: TrustProxy } | { problem: string } {
  const trimmed = (text ?? "").trim();
  if (!trimmed || /^(off|false)$/i.test(trimmed)) return { value: false };
  if (/^(true|yes|all|\*)$/i.test(trimmed)) {
    return {
      problem: `TRUST_PROXY must be off, a hop count or a list of proxy addresses, never "${trimmed}" (every client could name its own address)`,
    };
  }
  if (/^\d+$/.test(trimmed)) {
    const hops = Number(trimmed);
    if (hops > maxHops) return { problem: `TRUST_PROXY: a hop count of ${trimmed} is more than ${maxHops}` };
    return { value: hops === 0 ? false : hops };
  }
  const entries = trimmed.split(",").map((entry) => entry.trim());
  for (const entry of entries) {
    const problem = entryProblem(entry);
    if (problem) return { problem: `TRUST_PROXY: ${problem}` };
  }
  return { value: entries.map((entry) => (namedSubnets.has(entry.toLowerCase()) ? entry.toLowerCase() : entry)) };
}
