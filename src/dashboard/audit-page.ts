/**
 * /admin/audit (CONTRACT.md §8): the support action log, newest first, filterable by person and by
 * action, paged by keyset (the (created_at, id) index).
 */
import express, { type Router } from "express";
import type { Prisma } from "../generated/prisma/client.js";
import type { DashboardContext } from "./context.js";
import { sendView } from "./render.js";

const pageSize = 100;

export function auditRoutes(ctx: DashboardContext): Router {
  const { deps, views, auth } = ctx;
  const router = express.Router();
  router.get("/audit", async (req, res, next) => {
    try {
      const text = (value: unknown) => (typeof value === "string" && value.trim() ? value.trim().slice(0, 100) : undefined);
      const actor = text(req.query.actor);
      const action = text(req.query.action);
      const before = typeof req.query.before === "string" && /^\d{1,18}$/.test(req.query.before) ? BigInt(req.query.before) : undefined;
      const where: Prisma.AuditEntryWhereInput = {
        ...(actor ? { actor } : {}),
        ...(action ? { action } : {}),
        ...(before ? { id: { lt: before } } : {}),
      };
      const [entries, actors, actions] = await Promise.all([
        deps.prisma.auditEntry.findMany({ where, orderBy: { id: "desc" }, take: pageSize + 1 }),
        deps.prisma.auditEntry.findMany({ distinct: ["actor"], select: { actor: true }, orderBy: { actor: "asc" }, take: 200 }),
        deps.prisma.auditEntry.findMany({ distinct: ["action"], select: { action: true }, orderBy: { action: "asc" }, take: 200 }),
      ]);
      const shown = entries.slice(0, pageSize);
      const params = new URLSearchParams({ ...(actor ? { actor } : {}), ...(action ? { action } : {}) });
      if (entries.length > pageSize) params.set("before", String(shown[shown.length - 1]!.id));
      sendView(res, views, "audit.njk", {
        title: "Audit log",
        section: "audit",
        viewer: auth.viewerOf(res),
        filters: { actor, action },
        actors: actors.map((a) => a.actor),
        actions: actions.map((a) => a.action),
        entries: shown.map((e) => ({
          ...e,
          id: String(e.id),
          targets: e.targets.slice(0, 20),
          moreTargets: Math.max(0, e.targets.length - 20),
        })),
        nextLink: entries.length > pageSize ? `/admin/audit?${params.toString()}` : null,
      });
    } catch (error) {
      next(error);
    }
  });
  return router;
}
