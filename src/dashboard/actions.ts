/**
 * Support actions on the dashboard: a POST from a form that carries the session's CSRF token, by
 * someone with the support role. Each is recorded in the audit log (who, what, which jobs or
 * trainees, the result), and its outcome comes back as a message on the page the user returns to.
 */
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { z } from "zod";
import { recordAudit } from "../audit.js";
import { SupportActionError } from "../errors.js";
import type { DashboardContext } from "./context.js";
import { setFlash } from "./flash.js";
import { formBody, InputError, line } from "./input.js";

export interface ActionResult {
  /** shown to the user and kept in the audit log */
  text: string;
  /** `task:12`, `trainee:abc`… */
  targets: string[];
  /** where to go afterwards; default: back where the form was */
  redirect?: string;
  /**
   * The action recorded its own success in the audit log (the bulk actions: one record per batch,
   * sync-tasks-bulk.ts), so no record for the whole is added here. Refusals and failures still are.
   */
  recorded?: boolean;
}

/** A route parameter as one string (Express 5 types allow arrays, for wildcards). */
export const param = (req: Request, name: string): string => {
  const value = req.params[name];
  return Array.isArray(value) ? value.join("/") : (value ?? "");
};

const returnTo = z.object({ returnTo: line(2_000).optional() });

/** Where a form came from, when it is a dashboard page: the default place to go back to. */
function back(req: Request, fallback: string): string {
  const parsed = returnTo.safeParse(req.body ?? {});
  const from = parsed.success ? parsed.data.returnTo : undefined;
  return from && /^\/admin(?:[/?]|$)/.test(from) && !from.startsWith("//") ? from : fallback;
}

export function supportAction(
  ctx: DashboardContext,
  options: {
    name: string;
    fallback: (req: Request) => string;
    targets?: (req: Request) => string[];
    run: (req: Request, actor: string) => Promise<ActionResult>;
  },
): RequestHandler[] {
  const { auth, deps } = ctx;
  return [
    formBody(),
    auth.requireCsrf,
    auth.requireSupport,
    async (req: Request, res: Response, next: NextFunction) => {
      const actor = auth.viewerOf(res).name;
      let requested: string[] = [];
      try {
        requested = options.targets?.(req) ?? [];
      } catch {
        // a malformed form names no targets; run() refuses it below
      }
      try {
        const result = await options.run(req, actor);
        if (!result.recorded) {
          await recordAudit(deps.prisma, { actor, action: options.name, targets: result.targets, result: `ok: ${result.text}` });
        }
        deps.logger.info({ actor, action: options.name, targets: result.targets.length }, "support action");
        setFlash(req, res, auth.flashKey, { kind: "success", text: result.text });
        res.redirect(303, result.redirect ?? back(req, options.fallback(req)));
      } catch (error) {
        if (error instanceof InputError) {
          // a form the page never wrote: refused with 400 by the error handler, and on the record
          await recordAudit(deps.prisma, { actor, action: options.name, targets: requested, result: `refused: ${error.message}` });
          return next(error);
        }
        if (!(error instanceof SupportActionError)) {
          await recordAudit(deps.prisma, {
            actor,
            action: options.name,
            targets: requested,
            result: `failed: ${(error as Error).message}`,
          }).catch(() => {});
          return next(error);
        }
        await recordAudit(deps.prisma, { actor, action: options.name, targets: requested, result: `refused: ${error.message}` });
        deps.logger.info({ actor, action: options.name, result: error.message }, "support action refused");
        setFlash(req, res, auth.flashKey, { kind: "error", text: error.message });
        res.redirect(303, back(req, options.fallback(req)));
      }
    },
  ];
}
