/** Files that ship beside the code (prisma/, the dashboard's views), found from src/ or from dist/src/. */
import { existsSync } from "node:fs";
import path from "node:path";

/** The project root: the directory above this file that holds prisma/schema.prisma. */
export function findProjectRoot(from: string = path.dirname(new URL(import.meta.url).pathname)): string {
  let dir = from;
  while (!existsSync(path.join(dir, "prisma", "schema.prisma"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("prisma/schema.prisma not found above " + from);
    dir = parent;
  }
  return dir;
}
