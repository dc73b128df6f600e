// npm run build: dist/ from a clean slate — the TypeScript of src/ without the sandbox (a test and
// demo tool, see tsconfig.build.json), and the files the code reads beside itself (the
// dashboard's templates and stylesheet). Run after `npm run generate`.
import { spawnSync } from "node:child_process";
import { cpSync, rmSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
rmSync("dist", { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json"], { stdio: "inherit" });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
cpSync("src/dashboard/views", "dist/src/dashboard/views", { recursive: true });
console.log("built dist/");
