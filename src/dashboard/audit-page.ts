/**
 * /admin/audit (CONTRACT.md §8): the support action log, newest first, filterable by person and by
 * action, paged by keyset (the (created_at, id) index).
 */
import express, { type Router } from "express";
import { z } from "zod";
import type { Prisma } from "../generated/prisma/client.js";
import type { DashboardContext } from "./context.js";
import { bigintId, optionalLine, parseInput } from "./input.js";
import { sendView } from "./render.js";

const pageSize = 100;

/** The audit log's query string: a person, an action, and where the page starts (an entry id). */
const auditQuery = z.object({ actor: optionalLine(100), action: optionalLine(100), before: bigintId.optional() });

export function auditRoutes(ctx: DashboardContext): Router {
  const { deps, views, auth } = ctx;
  const router = express.Router();
  router.get("/audit", async (req, res, next) => {
    try {
      const { actor, action, before } = parseInput(req.query, auditQuery);
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
