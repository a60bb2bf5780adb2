#!/usr/bin/env bash
# Every benchmark once at a tiny size (nothing here is a measurement): fails if any of them
# errors, and prints their tables. bench:api needs the production build (`npm run build`;
# .ci/run has built it for the OpenAPI check already). Runs in well under two minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

DIST="${BENCH_DIST:-dist}" # another build directory for bench:api, e.g. a scratch build
if [ ! -f "$DIST/main.js" ]; then
  echo "bench/ci-smoke.sh: $DIST/main.js missing, building it first"
  npm run build
fi

run() {
  echo "== bench smoke: $*"
  local start=$SECONDS
  npm run --silent "$@"
  echo "   ($((SECONDS - start)) s)"
}

run bench:planner -- --sizes small --runs 1
run bench:planner -- --compare --sizes small --runs 1
run bench:quality -- --instances 5
run bench:pass -- --sizes small --runs 1
run bench:pass -- --workers 1,2 --pending 500 --orgs 4 --runs 1 --dist "$DIST"
run bench:api -- --sizes small --dist "$DIST"
echo "== bench smoke passed"
