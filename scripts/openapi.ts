/**
 * Writes docs/openapi.json, the upstream API's OpenAPI document, from the zod schemas
 * (src/web/openapi.ts). `npm run openapi`; a test fails when the checked-in file is out of date.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { findProjectRoot, packageVersion } from "../src/project-root.js";
import { openApiDocument } from "../src/web/openapi.js";

export const openApiFile = path.join(findProjectRoot(), "docs", "openapi.json");

export function openApiText(): string {
  return `${JSON.stringify(openApiDocument({ version: packageVersion() }), null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  mkdirSync(path.dirname(openApiFile), { recursive: true });
  writeFileSync(openApiFile, openApiText());
  console.log(`wrote ${path.relative(process.cwd(), openApiFile)}`);
}
