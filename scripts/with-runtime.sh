#!/bin/sh
# Runs a command with the project's Node runtime (.runtime/node, installed by
# scripts/setup.sh) first on PATH, so `node`, `npx` and every
# `#!/usr/bin/env node` program it starts use it:
#   sh scripts/with-runtime.sh npx vitest run test/foundation
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -x "$ROOT/.runtime/node/bin/node" ]; then
  echo "no project runtime in $ROOT/.runtime/node: run sh scripts/setup.sh first" >&2
  exit 1
fi
PATH="$ROOT/.runtime/node/bin:$PATH"
npm_config_nodedir="$ROOT/.runtime/node"
export PATH npm_config_nodedir
exec "$@"
