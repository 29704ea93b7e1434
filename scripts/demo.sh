#!/usr/bin/env bash
# One command on a fresh machine: install what is needed, build, and run the demo stack.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The project's Node 24 (the `node` devDependency) rather than an older system Node.
export PATH="$PWD/node_modules/.bin:$PATH"
npm run build
exec node --import tsx scripts/demo/run.ts
