/**
 * Dashboard sign-in (CONTRACT.md §3 DASHBOARD_USERS and SESSION_SECRET, §8). Accounts come from
 * the configuration; sessions are held in Postgres (sessions.ts), so signing out ends a session for
 * good and a changed password or role ends that person's sessions.
 *
 * - The sign-in form carries a CSRF token bound to a short-lived cookie of its own.
 * - Sign-ins are throttled per account and per client address (an IPv6 client by its /64), across
 *   web processes (sign-in-throttle.ts): each attempt is counted before its password is checked and
 *   given back when it was right; the client address is what TRUST_PROXY allows Express to believe.
 * - Every state-changing request carries the session's CSRF token, as the hidden form field `_csrf`
 *   or, for Bull Board's client, the `X-XSRF-TOKEN` header that its Axios copies from the readable
 *   `XSRF-TOKEN` cookie.
 * - Cookies are Secure in production whatever the proxy headers say.
 */
import { randomBytes, scrypt, scryptSync, timingSafeEqual } from "node:crypto";
import express, { type Request, type RequestHandler, type Response, type Router } from "express";
import type { Db } from "../deps.js";
import type { Logger } from "../logger.js";
import { recordAudit } from "../audit.js";
import { hmac, readCookie, safeEqual, setCookie } from "./cookies.js";
import type { Viewer } from "./layout.js";
import type { Renderer } from "./render.js";
import { sendView } from "./render.js";
import { createSessionStore, sessionTtlMs, type DashboardUser, type Session } from "./sessions.js";
import type { SignInThrottle } from "./sign-in-throttle.js";

export { sessionTtlMs, type DashboardUser, type Session };

const sessionCookie = "trs_sync_session";
/** The name Axios (inside Bull Board's UI) reads by default. */
const xsrfCookie = "XSRF-TOKEN";
const signInCookie = "trs_sync_sign_in";

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
  return typeof next === "string" && /^\/admin(?:[/?#]|$)/.test(next) && !next.includes("\\") && !next.startsWith("//") ? next : "/admin";
}

export function createAuth(options: {
  db: Db;
  secret: string;
  users: readonly DashboardUser[];
  now: () => Date;
  logger: Logger;
  views: Renderer;
  throttle: SignInThrottle;
  /** cookies Secure whatever the request says */
  production: boolean;
}): Auth {
  const { users, logger, views, throttle } = options;
  const sessions = createSessionStore(options);
  const flashKey = hmac(options.secret, "dashboard flash");
  const signInKey = hmac(options.secret, "dashboard sign-in form");
  const cookie = (
    req: Request,
    res: Response,
    name: string,
    value: string,
    extra: { maxAge: number; httpOnly?: boolean; sameSite?: "Strict"; path?: string },
  ) => setCookie(req, res, name, value, { ...extra, secure: options.production });

  const sessionOf = (res: Response) => res.locals.session as Session;
  const form = express.urlencoded({ extended: false, limit: "10kb" });
  const routes = express.Router();

  function deny(req: Request, res: Response, status: 401 | 403, title: string, text: string): void {
    if (wantsHtml(req)) sendView(res, views, "message.njk", { title, text }, status);
    else res.status(status).json({ error: text });
  }

  /** The sign-in page with a fresh form token (bound to a cookie of its own, since there is no session yet). */
  function signInPage(req: Request, res: Response, context: { next: string; error?: string; name?: string }, status = 200) {
    const nonce = randomBytes(18).toString("base64url");
    cookie(req, res, signInCookie, nonce, { maxAge: 3600, sameSite: "Strict", path: "/admin/login" });
    const error = context.error ?? (users.length ? undefined : "No dashboard accounts are configured: set DASHBOARD_USERS.");
    sendView(res, views, "login.njk", { title: "Sign in", ...context, error, formToken: hmac(signInKey, nonce) }, status);
  }

  routes.get("/login", async (req, res, next) => {
    try {
      if (await sessions.find(readCookie(req, sessionCookie))) return res.redirect(303, safeNext(req.query.next));
      signInPage(req, res, { next: safeNext(req.query.next) });
    } catch (error) {
      next(error);
    }
  });

  routes.post("/login", form, async (req, res, next) => {
    try {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const name = typeof body.name === "string" ? body.name.slice(0, 200) : "";
      const password = typeof body.password === "string" ? body.password.slice(0, 1000) : "";
      const nextUrl = safeNext(body.next);
      const nonce = readCookie(req, signInCookie);
      const token = typeof body._csrf === "string" ? body._csrf : "";
      if (!nonce || !safeEqual(token, hmac(signInKey, nonce))) {
        return signInPage(req, res, { next: nextUrl, error: "The sign-in form had expired: enter your name and password again." }, 403);
      }
      const address = req.ip ?? "unknown";
      // the attempt is counted before the password is checked (sign-in-throttle.ts says why)
      const wait = await throttle.take({ account: name, address });
      if (wait > 0) {
        logger.warn({ ip: address }, "dashboard sign-in throttled");
        const minutes = Math.ceil(wait / 60);
        return signInPage(
          req,
          res,
          { next: nextUrl, name, error: `Too many failed sign-ins. Wait ${minutes} minute${minutes === 1 ? "" : "s"}, then try again.` },
          429,
        );
      }
      const user = users.find((u) => u.name === name);
      const passwordOk = await verifyPassword(password, user?.passwordHash ?? unknownUserHash);
      if (!user || !passwordOk) {
        // The name is not logged: people type passwords into the name field.
        logger.warn({ ip: address }, "dashboard sign-in refused");
        return signInPage(req, res, { next: nextUrl, name, error: "Wrong name or password" }, 401);
      }
      await throttle.succeeded({ account: name, address });
      const sessionToken = await sessions.start(user);
      const session = (await sessions.find(sessionToken))!;
      cookie(req, res, sessionCookie, sessionToken, { maxAge: sessionTtlMs / 1000 });
      cookie(req, res, xsrfCookie, session.csrf, { maxAge: sessionTtlMs / 1000, httpOnly: false });
      cookie(req, res, signInCookie, "", { maxAge: 0, path: "/admin/login" });
      await recordAudit(options.db, { actor: user.name, action: "sign-in", targets: [], result: "ok", details: { role: user.role } });
      logger.info({ user: user.name, role: user.role }, "dashboard sign-in");
      res.redirect(303, nextUrl);
    } catch (error) {
      next(error);
    }
  });

  const requireSession: RequestHandler = (req, res, next) => {
    sessions
      .find(readCookie(req, sessionCookie))
      .then((session) => {
        if (session) {
          res.locals.session = session;
          return next();
        }
        if (wantsHtml(req) && (req.method === "GET" || req.method === "HEAD")) {
          return res.redirect(302, `/admin/login?next=${encodeURIComponent(req.originalUrl)}`);
        }
        deny(req, res, 401, "Signed out", "Your session has ended: sign in again at /admin/login.");
      })
      .catch(next);
  };

  const requireCsrf: RequestHandler = (req, res, next) => {
    const field = (req.body as { _csrf?: unknown } | undefined)?._csrf;
    const given = typeof field === "string" ? field : req.get("x-xsrf-token");
    if (given && safeEqual(given, sessionOf(res).csrf)) return next();
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

  routes.post("/logout", form, requireSession, requireCsrf, async (req, res, next) => {
    try {
      await sessions.end(readCookie(req, sessionCookie));
      cookie(req, res, sessionCookie, "", { maxAge: 0 });
      cookie(req, res, xsrfCookie, "", { maxAge: 0, httpOnly: false });
      await recordAudit(options.db, { actor: sessionOf(res).name, action: "sign-out", targets: [], result: "ok" });
      res.redirect(303, "/admin/login");
    } catch (error) {
      next(error);
    }
  });

  return {
    routes,
    requireSession,
    requireSupport,
    requireCsrf,
    viewerOf: (res) => {
      const session = sessionOf(res);
      return { name: session.name, role: session.role, csrf: session.csrf };
    },
    flashKey,
  };
}
