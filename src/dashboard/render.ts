/**
 * Server-rendered pages on the GOV.UK Design System: nunjucks templates (./views) with
 * the components of the real govuk-frontend package, and its stylesheet, fonts and images served
 * by us (/admin/assets). No script at all: every page works without JavaScript, and the CSP
 * forbids scripts on them.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import express, { type Response, type Router } from "express";
import nunjucks from "nunjucks";
import { fileURLToPath } from "node:url";
import type { Viewer } from "./layout.js";

const require = createRequire(import.meta.url);
/** node_modules/govuk-frontend/dist, wherever npm put it */
const govukDist = path.dirname(path.dirname(require.resolve("govuk-frontend/dist/govuk/govuk-frontend.min.css")));
/** beside this file: src/dashboard/views, or dist/src/dashboard/views (the build copies them) */
const views = fileURLToPath(new URL("./views", import.meta.url));
export const assetsPath = "/admin/assets";

const london = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Europe/London",
  day: "numeric",
  month: "short",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});

/** "2 Dec 2026, 09:14" in England's time, or "–". */
export function formatTime(date: Date | null | undefined): string {
  return date ? london.format(date) : "–";
}

/** Whole days since `date` (0 on the day itself). */
export function daysSince(date: Date | null | undefined, now: Date): number | null {
  return date ? Math.max(0, Math.floor((now.getTime() - date.getTime()) / 86_400_000)) : null;
}

export type Renderer = nunjucks.Environment;

export function createRenderer(): Renderer {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader([views, govukDist]), { autoescape: true });
  env.addFilter("time", (value: Date | null | undefined) => formatTime(value));
  env.addFilter("plural", (count: number, one: string, many: string) => `${count.toLocaleString("en-GB")} ${count === 1 ? one : many}`);
  env.addFilter("number", (value: number | bigint) => Number(value).toLocaleString("en-GB"));
  env.addGlobal("assetsPath", assetsPath);
  return env;
}

export interface PageContext {
  title: string;
  viewer?: Viewer | undefined;
  flash?: { kind: "success" | "error"; text: string } | undefined;
  /** the navigation item to highlight */
  section?: string;
  [key: string]: unknown;
}

const sections = [
  { key: "overview", href: "/admin", text: "Overview" },
  { key: "failed", href: "/admin/dead-jobs", text: "Failed jobs" },
  { key: "pending-trns", href: "/admin/pending-trns", text: "Pending TRNs" },
  { key: "pending-awards", href: "/admin/pending-awards", text: "Pending awards" },
  { key: "audit", href: "/admin/audit", text: "Audit log" },
  { key: "queues", href: "/admin/queues", text: "Queues" },
] as const;

export function sendView(res: Response, env: Renderer, template: string, context: PageContext, status = 200): void {
  const navigation = sections.map((item) => ({ href: item.href, text: item.text, active: context.section === item.key }));
  res
    .status(status)
    .type("html")
    .set("Cache-Control", "no-store")
    .send(env.render(template, { ...context, navigation }));
}

/**
 * govuk-frontend's stylesheet, fonts and images. The compiled stylesheet points at /assets/…;
 * it is served with those links moved under /admin/assets.
 */
export function assetRoutes(): Router {
  const router = express.Router();
  const css = readFileSync(path.join(govukDist, "govuk/govuk-frontend.min.css"), "utf8").replaceAll("url(/assets/", `url(${assetsPath}/`);
  const extra = readFileSync(path.join(views, "dashboard.css"), "utf8");
  router.get("/govuk-frontend.min.css", (_req, res) => res.type("css").set("Cache-Control", "public, max-age=3600").send(css));
  router.get("/dashboard.css", (_req, res) => res.type("css").set("Cache-Control", "public, max-age=3600").send(extra));
  router.use(express.static(path.join(govukDist, "govuk/assets"), { maxAge: "1d", index: false, fallthrough: false }));
  return router;
}
