/**
 * What every dashboard page shares: who is looking, one-shot messages, and the error class
 * behind a stored class name.
 */
import { errorClasses, type ErrorClass } from "../jobs/classify.js";

export type Role = "viewer" | "support";

/** Who is looking at the page, and the token their forms must carry (see auth.ts). */
export interface Viewer {
  name: string;
  role: Role;
  csrf: string;
}

export interface Flash {
  kind: "success" | "error";
  text: string;
}

/** Title and remediation of a stored error class; a name this version no longer knows shows as itself. */
export function errorClassInfo(name: string | null): ErrorClass | undefined {
  if (!name) return undefined;
  return errorClasses.find((c) => c.name === name) ?? { name, title: name, kind: "permanent", remediation: "" };
}
