/**
 * The demo's configuration: the same loadConfig as the web and worker processes, fed with the
 * sandbox, the demo token and accounts, and timings short enough to watch every job run in minutes.
 */
import { randomBytes } from "node:crypto";
import { hashPassword } from "../../src/dashboard/auth.js";

export const demoToken = "demo-token";
export const sandboxKey = "sandbox-key";
export const demoAccounts = [
  { name: "support", role: "support", password: "support-demo" },
  { name: "viewer", role: "viewer", password: "viewer-demo" },
] as const;

/** Defaults the person running the demo may override in the environment. */
const tunable = {
  LOG_LEVEL: "warn",
  REDIS_PREFIX: "trs-sync-demo",
  TRN_POLL_FIRST_DELAY: "5s",
  TRN_POLL_MAX_INTERVAL: "30s",
  TRN_POLL_TIMEOUT: "3m",
  // the same in October, the peak season, so the +stuck trainee times out in 3 minutes in any month
  TRN_POLL_TIMEOUT_OCTOBER: "3m",
  UPDATE_DEBOUNCE: "2s",
  // the sandbox sends signed webhooks and polling is the fallback, a minute apart (TRS_WEBHOOKS=off: polling only)
  TRS_WEBHOOKS: "on",
  TRN_POLL_WEBHOOK_FIRST_DELAY: "1m",
  TRN_POLL_WEBHOOK_MAX_INTERVAL: "1m",
};

export function demoEnvironment(options: {
  env: NodeJS.ProcessEnv;
  databaseUrl: string;
  redisUrl: string;
  sandboxUrl: string;
  webUrl: string;
  port: number;
}): NodeJS.ProcessEnv {
  const given = Object.fromEntries(Object.entries(options.env).filter(([, value]) => value !== undefined && value !== ""));
  return {
    ...tunable,
    PUBLIC_BASE_URL: options.webUrl,
    ...given,
    // The wiring to what the demo started, whatever the environment says.
    TRS_SYNC_DEMO: "1",
    TRS_API_BASE_URL: options.sandboxUrl,
    TRS_API_KEY: sandboxKey,
    DQT_API_BASE_URL: options.sandboxUrl,
    DQT_API_KEY: sandboxKey,
    API_TOKENS: demoToken,
    DASHBOARD_USERS: demoAccounts.map((a) => `${a.name}:${a.role}:${hashPassword(a.password)}`).join(","),
    SESSION_SECRET: randomBytes(32).toString("base64url"),
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    PORT: String(options.port),
  };
}
