/** Files that ship beside the code (prisma/, the dashboard's views), found from src/ or from dist/src/. */
import { existsSync, readFileSync } from "node:fs";
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

/** The version in package.json (the README's changelog names the same). */
export function packageVersion(): string {
  const text = readFileSync(path.join(findProjectRoot(), "package.json"), "utf8");
  return (JSON.parse(text) as { version: string }).version;
}
