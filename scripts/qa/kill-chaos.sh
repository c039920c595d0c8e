#!/usr/bin/env bash
# Kills the compiled server (dist/cli.js) with SIGKILL at a random moment under chaos.mjs, restarts
# it and checks that no property sits on another resource and no debris is visible, ROUNDS times.
# Usage: scripts/qa/kill-chaos.sh [PORT=18433] [ROUNDS=4]
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"; CLI="$HERE/../../dist/cli.js"
PORT=${1:-18433}; ROUNDS=${2:-4}
R=$(mktemp -d); LOG=$R.log; PID=
start() { node "$CLI" --root "$R" --port "$PORT" --quiet >>"$LOG" 2>&1 & PID=$!; for _ in $(seq 50); do curl -s -o /dev/null -X OPTIONS "http://127.0.0.1:$PORT/" && break; sleep 0.1; done; }
fail=0
for round in $(seq "$ROUNDS"); do
  start
  node "$HERE/chaos.mjs" "$PORT" 8 16 >/dev/null & CP=$!
  sleep $((2 + RANDOM % 5)).$((RANDOM % 10))
  kill -9 "$PID"; wait "$CP" 2>/dev/null
  start
  echo "round $round:"; node "$HERE/check.mjs" "$PORT" || fail=1
  kill "$PID"; wait "$PID" 2>/dev/null
done
rm -rf "$R"; exit $fail
