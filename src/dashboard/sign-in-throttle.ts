/**
 * Sign-in throttling, shared by every web process through Redis (rate-limiter-flexible): failed
 * attempts are counted per account name and per client address, and past the limit the account or
 * address must wait. While Redis is unreachable each process falls back to counting in memory.
 */
import type { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";

/** Failures allowed per account in the window before it waits (then 15 minutes). */
export const accountFailures = 5;
/** Failures allowed per client address in the window (an office shares one address). */
export const addressFailures = 20;
const windowSeconds = 15 * 60;

export interface SignInThrottle {
  /** seconds to wait before trying again, or 0 */
  waitFor(options: { account: string; address: string }): Promise<number>;
  failed(options: { account: string; address: string }): Promise<void>;
  succeeded(options: { account: string }): Promise<void>;
}

function limiter(redis: Redis, prefix: string, name: string, points: number): RateLimiterAbstract {
  const common = { points, duration: windowSeconds, blockDuration: windowSeconds };
  return new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `${prefix}:sign-in:${name}`,
    ...common,
    insuranceLimiter: new RateLimiterMemory(common),
  });
}

export function createSignInThrottle(options: { redis: Redis; prefix: string }): SignInThrottle {
  const byAccount = limiter(options.redis, options.prefix, "account", accountFailures);
  const byAddress = limiter(options.redis, options.prefix, "address", addressFailures);
  const account = (name: string) => name.trim().toLowerCase().slice(0, 100) || "(empty)";
  const wait = (res: RateLimiterRes | null, points: number) =>
    res && res.consumedPoints >= points ? Math.max(1, Math.ceil(res.msBeforeNext / 1000)) : 0;
  return {
    async waitFor(key) {
      const [a, b] = await Promise.all([byAccount.get(account(key.account)), byAddress.get(key.address)]);
      return Math.max(wait(a, accountFailures), wait(b, addressFailures));
    },
    async failed(key) {
      // consume() rejects once over the limit: that is the point, not an error
      await Promise.allSettled([byAccount.consume(account(key.account)), byAddress.consume(key.address)]);
    },
    async succeeded(key) {
      await byAccount.delete(account(key.account)).catch(() => {});
    },
  };
}
