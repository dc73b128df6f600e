/**
 * Cookies without a dependency: parsing the Cookie header, writing Set-Cookie, and signing values
 * with HMAC-SHA256 so that a session or flash cookie cannot be forged or edited by the browser.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Request, Response } from "express";

export function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.get("cookie") ?? "").split(";")) {
    const index = part.indexOf("=");
    if (index < 0) continue;
    if (part.slice(0, index).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(index + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export interface CookieOptions {
  /** seconds; 0 deletes the cookie */
  maxAge: number;
  /** false only for the XSRF-TOKEN cookie that Bull Board's client script reads */
  httpOnly?: boolean;
  path?: string;
  /** Secure whatever the request looked like (production: TLS ends at the load balancer) */
  secure?: boolean;
  /** Strict for the sign-in form's token; Lax otherwise */
  sameSite?: "Lax" | "Strict";
}

/** Adds a Set-Cookie header (keeping earlier ones). Secure in production, or when the request came over https. */
export function setCookie(req: Request, res: Response, name: string, value: string, options: CookieOptions): void {
  const parts = [
    `${name}=${encodeURIComponent(value)}`,
    `Path=${options.path ?? "/admin"}`,
    `Max-Age=${options.maxAge}`,
    `SameSite=${options.sameSite ?? "Lax"}`,
  ];
  if (options.httpOnly !== false) parts.push("HttpOnly");
  // req.secure honours X-Forwarded-Proto only from proxies TRUST_PROXY names; production never relies on it
  if (options.secure || req.secure) parts.push("Secure");
  res.append("Set-Cookie", parts.join("; "));
}

export function hmac(secret: string, text: string): string {
  return createHmac("sha256", secret).update(text).digest("base64url");
}

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** `<payload as base64url JSON>.<HMAC of it>` */
export function signJson(secret: string, value: unknown): string {
  const payload = Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${payload}.${hmac(secret, payload)}`;
}

/** The JSON inside a signed value, or undefined when the signature does not match. */
export function unsignJson(secret: string, signed: string | undefined): unknown {
  if (!signed) return undefined;
  const dot = signed.lastIndexOf(".");
  if (dot <= 0) return undefined;
  const payload = signed.slice(0, dot);
  if (!safeEqual(signed.slice(dot + 1), hmac(secret, payload))) return undefined;
  try {
    return JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
}
