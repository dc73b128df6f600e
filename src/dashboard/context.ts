/** What the dashboard's pages are built from, handed to each page module by router.ts. */
import type { Deps } from "../deps.js";
import type { Queues } from "../jobs/queues.js";
import type { QueueControl } from "../trainees/support-actions.js";
import type { Auth } from "./auth.js";
import type { Renderer } from "./render.js";

export interface DashboardContext {
  deps: Deps;
  queues: Queues;
  views: Renderer;
  auth: Auth;
  /** BullMQ's side of support actions */
  queue: QueueControl;
}
