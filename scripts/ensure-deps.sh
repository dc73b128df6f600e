#!/usr/bin/env bash
# Prepares what `npm test` and `npm run demo` need on a fresh machine: dependencies (npm install when
# node_modules is missing or older than the lock file) and the generated Prisma client.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ensure-deps: installing dependencies"
  npm install --no-audit --no-fund
fi

if [ ! -f src/generated/prisma/client.ts ] || [ prisma/schema.prisma -nt src/generated/prisma/client.ts ]; then
  echo "ensure-deps: generating the Prisma client"
  node scripts/generate.mjs >/dev/null
  touch src/generated/prisma/client.ts
fi
