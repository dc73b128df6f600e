/**
 * Dashboard sessions held in Postgres: the cookie carries a random token, the table its hash. So
 * signing out ends the session on the server (a copied cookie stops working), any number of web
 * processes share sessions, and a session is bound to the user's role and password as they were at
 * sign-in: changing either in DASHBOARD_USERS ends that person's sessions.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Db } from "../deps.js";
import { hmac } from "./cookies.js";
import type { Role } from "./layout.js";

/** A session lasts 8 hours from sign-in (a working day), then the user signs in again. */
export const sessionTtlMs = 8 * 3600_000;

export interface DashboardUser {
  name: string;
  role: Role;
  /** `scrypt$<salt>$<key>`, see hashPassword */
  passwordHash: string;
}

export interface Session {
  name: string;
  role: Role;
  /** the session's CSRF token (derived from its secret) */
  csrf: string;
}

const hashOf = (token: string) => createHash("sha256").update(token).digest("base64url");

export interface SessionStore {
  /** a new session; returns the token for the cookie */
  start(user: DashboardUser): Promise<string>;
  /** the live session of a token, checked against the users as configured now */
  find(token: string | undefined): Promise<Session | undefined>;
  /** ends the session for good */
  end(token: string | undefined): Promise<void>;
}

export function createSessionStore(options: { db: Db; secret: string; users: readonly DashboardUser[]; now: () => Date }): SessionStore {
  const { db, users } = options;
  const key = hmac(options.secret, "dashboard session");
  const csrfKey = hmac(options.secret, "dashboard csrf");
  const fingerprint = (user: DashboardUser) => hmac(key, `${user.role}\n${user.passwordHash}`);

  return {
    async start(user) {
      const token = randomBytes(32).toString("base64url");
      const now = options.now();
      await db.dashboardSession.create({
        data: {
          tokenHash: hashOf(token),
          userName: user.name,
          fingerprint: fingerprint(user),
          csrfSecret: randomBytes(18).toString("base64url"),
          createdAt: now,
          expiresAt: new Date(now.getTime() + sessionTtlMs),
        },
      });
      return token;
    },
    async find(token) {
      if (!token || token.length > 100) return undefined;
      const row = await db.dashboardSession.findUnique({ where: { tokenHash: hashOf(token) } });
      if (!row || row.endedAt || row.expiresAt <= options.now()) return undefined;
      const user = users.find((u) => u.name === row.userName);
      if (!user || fingerprint(user) !== row.fingerprint) return undefined;
      return { name: user.name, role: user.role, csrf: hmac(csrfKey, row.csrfSecret) };
    },
    async end(token) {
      if (!token || token.length > 100) return;
      await db.dashboardSession.updateMany({ where: { tokenHash: hashOf(token), endedAt: null }, data: { endedAt: options.now() } });
    },
  };
}
