/**
 * Sign-in throttling, shared by every web process through Redis (rate-limiter-flexible): attempts
 * are counted per account name and per client address, and past the limit the account or address
 * must wait. While Redis is unreachable each process falls back to counting in memory.
 *
 * A point is TAKEN before the password is checked and given back when the password was right. Had
 * the check come first and the failure been counted after it, a burst of parallel guesses would all
 * pass "under the limit?" before the first failure landed, and each would get its password check:
 * taking the point first (one atomic increment in Redis) bounds the checks themselves.
 */
import { isIP } from "node:net";
import type { RedisConnection } from "../redis.js";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";

/** Failed sign-ins allowed per account in the window before it waits (then 15 minutes). */
export const accountFailures = 5;
/** Failed sign-ins allowed per client address in the window (an office shares one address). */
export const addressFailures = 20;
const windowSeconds = 15 * 60;

export interface SignInAttempt {
  account: string;
  /** the client address as Express has it (req.ip) */
  address: string;
}

export interface SignInThrottle {
  /**
   * Takes one attempt for the account and the address, before the password is checked. 0: go on
   * and check it (and call `succeeded` if it was right); otherwise the seconds to wait, and the
   * password must not be checked.
   */
  take(attempt: SignInAttempt): Promise<number>;
  /** The password was right: the account's failures are forgotten and the address's attempt given back. */
  succeeded(attempt: SignInAttempt): Promise<void>;
}

/**
 * The key a client address is counted under. An IPv6 client is usually given a whole /64 (and may
 * pick any address in it), so it is counted by its /64; an IPv4 address that arrives IPv4-mapped
 * (`::ffff:192.0.2.1`, from a dual-stack socket) is the IPv4 address. Anything else is kept as is.
 */
export function addressKey(address: string): string {
  const bare = address.replace(/%.*$/, ""); // a zone id (fe80::1%eth0) names the interface, not the client
  if (isIP(bare) === 4) return bare;
  if (isIP(bare) !== 6) return address;
  const groups = ipv6Groups(bare);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join(".");
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(":")}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted IPv4 tail converted). */
function ipv6Groups(address: string): number[] {
  const toGroups = (part: string): number[] =>
    part === ""
      ? []
      : part.split(":").flatMap((group) => {
          if (!group.includes(".")) return [parseInt(group, 16)];
          const [a, b, c, d] = group.split(".").map(Number) as [number, number, number, number];
          return [(a << 8) | b, (c << 8) | d];
        });
  const [head = "", tail] = address.toLowerCase().split("::");
  if (tail === undefined) return toGroups(head);
  const before = toGroups(head);
  const after = toGroups(tail);
  return [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after];
}

function limiter(redis: RedisConnection, prefix: string, name: string, points: number): RateLimiterAbstract {
  const common = { points, duration: windowSeconds, blockDuration: windowSeconds };
  return new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `${prefix}:sign-in:${name}`,
    ...common,
    insuranceLimiter: new RateLimiterMemory(common),
  });
}

export function createSignInThrottle(options: { redis: RedisConnection; prefix: string }): SignInThrottle {
  const byAccount = limiter(options.redis, options.prefix, "account", accountFailures);
  const byAddress = limiter(options.redis, options.prefix, "address", addressFailures);
  const account = (name: string) => name.trim().toLowerCase().slice(0, 100) || "(empty)";
  return {
    async take(attempt) {
      const keys = [account(attempt.account), addressKey(attempt.address)] as const;
      const taken = await Promise.allSettled([byAccount.consume(keys[0]), byAddress.consume(keys[1])]);
      const refused = taken.filter((t) => t.status === "rejected").map((t) => t.reason as unknown);
      if (!refused.length) return 0;
      // No check happens, so the limiter that let this attempt through gets its point back; the one
      // that refused keeps counting (and stays blocked).
      await Promise.all(
        taken.map((t, i) =>
          t.status === "fulfilled" ? (i === 0 ? byAccount : byAddress).reward(keys[i]!).catch(() => undefined) : undefined,
        ),
      );
      const error = refused.find((reason) => !(reason instanceof RateLimiterRes));
      if (error) throw error;
      return Math.max(...(refused as RateLimiterRes[]).map((res) => Math.max(1, Math.ceil(res.msBeforeNext / 1000))));
    },
    async succeeded(attempt) {
      await Promise.all([
        byAccount.delete(account(attempt.account)).catch(() => undefined),
        byAddress.reward(addressKey(attempt.address)).catch(() => undefined),
      ]);
    },
  };
}
