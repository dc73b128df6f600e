/**
 * One-shot messages after an action ("Retry requested…"): a short-lived signed cookie set before
 * the redirect and cleared by the page that shows it, so a reload does not show it again and a
 * crafted link cannot put text on the page.
 */
import type { Request, Response } from "express";
import { z } from "zod";
import { readCookie, setCookie, signJson, unsignJson } from "./cookies.js";
import type { Flash } from "./layout.js";

const flashCookie = "trs_sync_flash";
const flashSchema = z.object({ kind: z.enum(["success", "error"]), text: z.string().max(2000) });

export function setFlash(req: Request, res: Response, key: string, flash: Flash): void {
  setCookie(req, res, flashCookie, signJson(key, flash), { maxAge: 60 });
}

export function takeFlash(req: Request, res: Response, key: string): Flash | undefined {
  const raw = readCookie(req, flashCookie);
  if (raw === undefined) return undefined;
  setCookie(req, res, flashCookie, "", { maxAge: 0 });
  const parsed = flashSchema.safeParse(unsignJson(key, raw));
  return parsed.success ? parsed.data : undefined;
}
