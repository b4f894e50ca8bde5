#!/usr/bin/env bash
# The local stack in the image: `docker run -p 9324:9324 -e SOLAPI_MOCK=true IMAGE` and nothing else.
# Runs the built image with SOLAPI_MOCK=true alone — read-only root filesystem, no capabilities, the
# image's own user (1000) — its port 9324 published on a random free port of 127.0.0.1 (never 9324
# itself: other checks may run at the same time), enqueues one job through that port from the host
# with the bundled CLI (`dist/cli.js stress --endpoint`), and waits for the worker's mock print of it.
# Exit 0 only when the job was printed and sent, and the worker stopped cleanly on SIGTERM.
#
#   scripts/verify-image-local-stack.sh [image] [work-dir]
#       image     default localhost/academy-messaging-worker:verify (built by scripts/verify-image.sh)
#       work-dir  verify-image.sh's work directory, whose podman settings are used when none are set
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
IMAGE="${1:-localhost/academy-messaging-worker:verify}"
WORK="${2:-/var/tmp/academy-image-verify}"
NAME="academy-local-stack-$$"
OUT="$(mktemp -d)"

step() { printf '== %s\n' "$*"; }
fail() {
  echo "verify-image-local-stack: $*" >&2
  echo "--- worker output:" >&2
  cat "$OUT/worker.log" >&2 2>/dev/null || true
  exit 1
}

if [ -z "${CONTAINERS_CONF:-}" ] && [ -f "$WORK/containers.conf" ]; then export CONTAINERS_CONF="$WORK/containers.conf"; fi
if [ -z "${CONTAINERS_STORAGE_CONF:-}" ] && [ -f "$WORK/storage.conf" ]; then export CONTAINERS_STORAGE_CONF="$WORK/storage.conf"; fi
podman image exists "$IMAGE" || fail "no image $IMAGE: build it with scripts/verify-image.sh"
[ -f "$ROOT/dist/cli.js" ] || (cd "$ROOT" && npm run -s build)

cleanup() {
  podman rm -f "$NAME" >/dev/null 2>&1 || true
  rm -rf "$OUT"
}
trap cleanup EXIT

PORT="$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')"
ENDPOINT="http://127.0.0.1:$PORT"

step "podman run -p 127.0.0.1:$PORT:9324 -e SOLAPI_MOCK=true --read-only --cap-drop ALL $IMAGE"
podman run -d --name "$NAME" --read-only --cap-drop ALL -p "127.0.0.1:$PORT:9324" -e SOLAPI_MOCK=true "$IMAGE" >/dev/null

# Waits up to $1 seconds for the worker's output to match the pattern $2.
wait_for() {
  local deadline=$((SECONDS + $1))
  while [ "$SECONDS" -lt "$deadline" ]; do
    podman logs "$NAME" >"$OUT/worker.log" 2>&1 || true
    grep -qE "$2" "$OUT/worker.log" && return 0
    [ "$(podman inspect "$NAME" --format '{{.State.Running}}')" = "true" ] || return 1
    sleep 0.5
  done
  return 1
}

wait_for 30 '"message":"worker polling"' || fail "the worker did not start polling its local endpoint"
grep -q '"message":"local SQS endpoint ready' "$OUT/worker.log" || fail "no 'local SQS endpoint ready' line"
grep -q 'aws --endpoint-url http://localhost:9324' "$OUT/worker.log" || fail "no AWS CLI example in the first lines"
grep -q 'endpoint_url="http://localhost:9324"' "$OUT/worker.log" || fail "no boto3 example in the first lines"
head -n 3 "$OUT/worker.log" | cut -c 1-160

step "node dist/cli.js stress --endpoint $ENDPOINT --count 1   (from the host, through the published port)"
env -i PATH="$PATH" node "$ROOT/dist/cli.js" stress --endpoint "$ENDPOINT" --count 1 >"$OUT/stress.out" 2>"$OUT/stress.err" ||
  { cat "$OUT/stress.out" "$OUT/stress.err" >&2; fail "could not enqueue through the published port"; }
run="$(sed -nE 's/^enqueued 1 jobs \(run ([0-9a-f]+)\).*/\1/p' "$OUT/stress.out")"
[ -n "$run" ] || { cat "$OUT/stress.out" >&2; fail "stress did not say which run it enqueued"; }
key="stress-$run-0"
echo "   enqueued job $key"

wait_for 30 "\"job\":\"$key\".*\"message\":\"job sent\"|\"message\":\"job sent\".*\"job\":\"$key\"" || fail "job $key was not sent"
grep -q "Solapi mock: POST /messages/v4/send-many/detail (not sent)" "$OUT/worker.log" || fail "no mock print"
grep -q "\"jobKey\": \"$key\"" "$OUT/worker.log" || fail "the mock print does not show job $key"
grep -q '"from": "0212345678"' "$OUT/worker.log" || fail "the job did not go out from mock mode's default sender"
sed -n '/Solapi mock: POST/,/^}/p' "$OUT/worker.log" | head -n 30

step "podman stop $NAME (SIGTERM)"
podman stop -t 20 "$NAME" >/dev/null
code="$(podman inspect "$NAME" --format '{{.State.ExitCode}}')"
podman logs "$NAME" >"$OUT/worker.log" 2>&1 || true
[ "$code" = "0" ] || fail "the worker exited $code on SIGTERM"
grep -q '"message":"shutdown complete"' "$OUT/worker.log" || fail "no clean shutdown"
echo "verify-image-local-stack: ok (job $key enqueued through 127.0.0.1:$PORT, printed by the worker in mock mode)"
