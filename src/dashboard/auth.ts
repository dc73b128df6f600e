/**
 * Dashboard sign-in (CONTRACT.md §3 DASHBOARD_USERS and SESSION_SECRET, §8). Accounts come from
 * the configuration; a session is a signed cookie, so any number of web processes sharing
 * SESSION_SECRET accept it. Sessions are stateless: signing out clears the cookie, and removing a
 * user or changing their password (and restarting) ends their sessions.
 *
 * CSRF: every state-changing request carries a token derived from the session's random nonce
 * (HMAC with the secret), as the hidden form field `_csrf` or, for Bull Board's client, the
 * `X-XSRF-TOKEN` header that its Axios copies from the readable `XSRF-TOKEN` cookie.
 */
import { randomBytes, scrypt, scryptSync, timingSafeEqual } from "node:crypto";
import express, { type Request, type RequestHandler, type Response, type Router } from "express";
import { z } from "zod";
import type { Logger } from "../logger.js";
import { hmac, readCookie, safeEqual, setCookie, signJson, unsignJson } from "./cookies.js";
import { loginPage, sendMessage, sendPage, type Role, type Viewer } from "./layout.js";

/** A session lasts 8 hours from sign-in (a working day), then the user signs in again. */
export const sessionTtlMs = 8 * 3600_000;
const sessionCookie = "trs_sync_session";
/** The name Axios (inside Bull Board's UI) reads by default. */
const xsrfCookie = "XSRF-TOKEN";

export interface DashboardUser {
  name: string;
  role: Role;
  /** `scrypt$<salt>$<key>`, see hashPassword */
  passwordHash: string;
}

/**
 * `scrypt$<salt b64url>$<scrypt(password, salt, 32) b64url>`. The salt is used as the text of its
 * base64url form, exactly as `npm run cli -- hash-password` does, so both produce valid hashes.
 */
export function hashPassword(password: string): string {
  const salt = randomBytes(16).toString("base64url");
  return `scrypt$${salt}$${scryptSync(password, salt, 32).toString("base64url")}`;
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const match = /^scrypt\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(hash);
  if (!match) return false;
  const expected = Buffer.from(match[2]!, "base64url");
  if (expected.length !== 32) return false;
  // async: a sign-in must not block the event loop for the other requests
  const actual = await new Promise<Buffer>((resolve, reject) =>
    scrypt(password, match[1]!, 32, (error, key) => (error ? reject(error) : resolve(key))),
  );
  return timingSafeEqual(actual, expected);
}

/** Compared against when the name is unknown, so that the answer takes as long as for a known name. */
const unknownUserHash = "scrypt$bm8tc3VjaC11c2Vy$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

const sessionSchema = z.object({
  name: z.string(),
  role: z.enum(["viewer", "support"]),
  /** epoch ms */
  exp: z.number(),
  /** random per sign-in; the CSRF token is derived from it */
  nonce: z.string().min(16),
  /** fingerprint of the password hash at sign-in: a changed password ends the session */
  pw: z.string(),
});
export type Session = z.infer<typeof sessionSchema>;

export interface Auth {
  /** GET/POST /login and POST /logout */
  routes: Router;
  /** sets the session on res.locals; otherwise redirects HTML page requests to the sign-in page, 401 for the rest */
  requireSession: RequestHandler;
  /** after requireSession: 403 unless the user's role is support */
  requireSupport: RequestHandler;
  /** after requireSession: 403 unless the request carries the session's CSRF token */
  requireCsrf: RequestHandler;
  /** the signed-in user and their CSRF token, for pages */
  viewerOf(res: Response): Viewer;
  /** key for other signed cookies (flash messages), separate from the session key */
  flashKey: string;
}

const wantsHtml = (req: Request) => (req.get("accept") ?? "").includes("text/html");

/** Only back into the dashboard: never an open redirect. */
export function safeNext(next: unknown): string {
  return typeof next === "string" && /^\/admin(?:[/?#]|$)/.test(next) && !next.includes("\\") ? next : "/admin";
}

function deny(req: Request, res: Response, status: 401 | 403, title: string, text: string): void {
  if (wantsHtml(req)) sendMessage(res, { status, title, text });
  else res.status(status).json({ error: text });
}

export function createAuth(options: { secret: string; users: readonly DashboardUser[]; now: () => Date; logger: Logger }): Auth {
  const { users, logger } = options;
  // One secret, separate keys per use: a flash cookie can never pass as a session.
  const sessionKey = hmac(options.secret, "dashboard session");
  const csrfKey = hmac(options.secret, "dashboard csrf");
  const flashKey = hmac(options.secret, "dashboard flash");
  const fingerprint = (user: DashboardUser) => hmac(sessionKey, user.passwordHash).slice(0, 22);
  const csrfToken = (session: Session) => hmac(csrfKey, session.nonce);

  function currentSession(req: Request): Session | undefined {
    const parsed = sessionSchema.safeParse(unsignJson(sessionKey, readCookie(req, sessionCookie)));
    if (!parsed.success || parsed.data.exp <= options.now().getTime()) return undefined;
    const user = users.find((u) => u.name === parsed.data.name);
    if (!user || !safeEqual(parsed.data.pw, fingerprint(user))) return undefined;
    // The role as configured now: a demoted user loses support actions at once.
    return { ...parsed.data, role: user.role };
  }

  const sessionOf = (res: Response) => res.locals.session as Session;
  const form = express.urlencoded({ extended: false, limit: "10kb" });
  const routes = express.Router();

  routes.get("/login", (req, res) => {
    if (currentSession(req)) return res.redirect(303, safeNext(req.query.next));
    const error = users.length ? undefined : "No dashboard accounts are configured: set DASHBOARD_USERS.";
    sendPage(res, { title: "Sign in", body: loginPage({ next: safeNext(req.query.next), ...(error ? { error } : {}) }) });
  });

  routes.post("/login", form, async (req, res, next) => {
    try {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const name = typeof body.name === "string" ? body.name : "";
      const password = typeof body.password === "string" ? body.password : "";
      const user = users.find((u) => u.name === name);
      const passwordOk = await verifyPassword(password, user?.passwordHash ?? unknownUserHash);
      if (!user || !passwordOk) {
        // The name is not logged: people type passwords into the name field.
        logger.warn({ ip: req.ip }, "dashboard sign-in refused");
        sendPage(res, { status: 401, title: "Sign in", body: loginPage({ next: safeNext(body.next), error: "Wrong name or password" }) });
        return;
      }
      const session: Session = {
        name: user.name,
        role: user.role,
        exp: options.now().getTime() + sessionTtlMs,
        nonce: randomBytes(18).toString("base64url"),
        pw: fingerprint(user),
      };
      setCookie(req, res, sessionCookie, signJson(sessionKey, session), { maxAge: sessionTtlMs / 1000 });
      setCookie(req, res, xsrfCookie, csrfToken(session), { maxAge: sessionTtlMs / 1000, httpOnly: false });
      logger.info({ user: user.name, role: user.role }, "dashboard sign-in");
      res.redirect(303, safeNext(body.next));
    } catch (error) {
      next(error);
    }
  });

  const requireSession: RequestHandler = (req, res, next) => {
    const session = currentSession(req);
    if (session) {
      res.locals.session = session;
      return next();
    }
    if (wantsHtml(req) && (req.method === "GET" || req.method === "HEAD")) {
      return res.redirect(302, `/admin/login?next=${encodeURIComponent(req.originalUrl)}`);
    }
    deny(req, res, 401, "Signed out", "Your session has ended: sign in again at /admin/login.");
  };

  const requireCsrf: RequestHandler = (req, res, next) => {
    const field = (req.body as { _csrf?: unknown } | undefined)?._csrf;
    const given = typeof field === "string" ? field : req.get("x-xsrf-token");
    if (given && safeEqual(given, csrfToken(sessionOf(res)))) return next();
    deny(
      req,
      res,
      403,
      "Form expired",
      "This form has expired or did not come from the dashboard. Go back, reload the page and try again.",
    );
  };

  const requireSupport: RequestHandler = (req, res, next) => {
    if (sessionOf(res).role === "support") return next();
    deny(req, res, 403, "Not allowed", "Your account can view the dashboard but not change anything: ask for the support role.");
  };

  routes.post(
    "/logout",
    form,
    (req, res, next) => (currentSession(req) ? next() : res.redirect(303, "/admin/login")),
    requireSession,
    requireCsrf,
    (req, res) => {
      setCookie(req, res, sessionCookie, "", { maxAge: 0 });
      setCookie(req, res, xsrfCookie, "", { maxAge: 0, httpOnly: false });
      res.redirect(303, "/admin/login");
    },
  );

  return {
    routes,
    requireSession,
    requireSupport,
    requireCsrf,
    viewerOf: (res) => {
      const session = sessionOf(res);
      return { name: session.name, role: session.role, csrf: csrfToken(session) };
    },
    flashKey,
  };
}
