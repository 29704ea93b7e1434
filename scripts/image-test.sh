#!/usr/bin/env bash
# Builds the container image from the unchanged Dockerfile with podman and runs it for real: in front of a real
# Prometheus on this host, it checks /ready, the image's healthcheck, one allowed and two refused queries, and
# that `podman stop` (SIGTERM through tini) ends it gracefully, exit 0, within its shutdown timeout.
# Needs root and Debian (podman, runc, debootstrap and prometheus are installed when missing).
#
# Where no registry is reachable, the node:24-slim base is made locally, once: a Debian bookworm minbase from
# the apt mirror, Node 24 and npm from the npm registry, the `node` user, tagged docker.io/library/node:24-slim
# (an image of that name already present is used as is). podman runs with runc (crun fails with "cgroups in
# hybrid mode not supported" on hosts like this one) and explicit ulimits (hosts that do not permit raising
# them); both in a containers.conf of this run's own, not the system's.
# Usage: sudo bash scripts/image-test.sh          (IMAGE=name:tag to name the image; KEEP_IMAGE=1 keeps it)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BASE=docker.io/library/node:24-slim
IMAGE=${IMAGE:-localhost/scopegate:image-test}
CONTAINER=scopegate-image-test-$$
STOP_TIMEOUT_S=30          # podman stop's grace period before SIGKILL; the config's shutdown_timeout is below it
SHUTDOWN_TIMEOUT=10s       # the gateway's proxy.shutdown_timeout in this run

log() { printf '== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run as root (podman with runc, debootstrap)"
need=()
for tool in podman runc debootstrap prometheus; do command -v "$tool" >/dev/null 2>&1 || need+=("$tool"); done
if [ "${#need[@]}" -gt 0 ]; then
  log "installing Debian packages: ${need[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi

work=$(mktemp -d /tmp/scopegate-image-test.XXXXXX)
prometheus_pid=""
cleanup() {
  podman rm -f -i "$CONTAINER" >/dev/null 2>&1 || true
  [ -z "$prometheus_pid" ] || kill "$prometheus_pid" 2>/dev/null || true
  [ -n "${KEEP_IMAGE:-}" ] || podman rmi -i "$IMAGE" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF="$work/containers.conf"

# --- the base image -------------------------------------------------------------------------------------------
make_base_image() {
  local mirror arch rootfs="$work/rootfs"
  mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) fail "no Node binary package for $(uname -m)" ;; esac
  log "making $BASE: debootstrap bookworm minbase from $mirror"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" > "$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log"; fail "debootstrap"; }
  log "adding Node 24 and npm from the npm registry"
  (cd "$work" && npm pack --silent "node-linux-$arch@24" "npm@11" > packed.txt)
  tar -xzf "$work/$(sed -n 1p "$work/packed.txt")" -C "$work" package/bin/node
  install -m 0755 "$work/package/bin/node" "$rootfs/usr/local/bin/node"
  mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$work/$(sed -n 2p "$work/packed.txt")" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  # The official image's unprivileged user.
  echo 'node:x:1000:' >> "$rootfs/etc/group"
  echo 'node:x:1000:1000::/home/node:/bin/bash' >> "$rootfs/etc/passwd"
  echo 'node:*:20000:0:99999:7:::' >> "$rootfs/etc/shadow"
  install -d -o 1000 -g 1000 "$rootfs/home/node"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | podman import -q --change 'CMD ["node"]' --change "ENV NODE_VERSION=$("$rootfs/usr/local/bin/node" --version | tr -d v)" - "$BASE" >/dev/null
  rm -rf "$rootfs" "$work/package" "$work"/*.tgz
}
if podman image exists "$BASE"; then log "base $BASE present"; else make_base_image; fi
podman run --rm --network host "$BASE" node --version | sed 's/^/base node: /'

# --- the image ------------------------------------------------------------------------------------------------
# npm inside the build reaches the registry like npm here does: through the CA bundle npm is configured with.
ca_bundle=$(npm config get cafile 2>/dev/null || true)
[ -n "$ca_bundle" ] && [ "$ca_bundle" != "null" ] && [ -s "$ca_bundle" ] || ca_bundle=/etc/ssl/certs/ca-certificates.crt
log "building $IMAGE (npm CA bundle $ca_bundle, as a build secret)"
started=$(date +%s)
podman build --pull=never --format docker --network host \
  --secret "id=npm_ca,src=$ca_bundle" \
  --build-arg "VERSION=$(node -p 'require("./package.json").version')" \
  --build-arg "REVISION=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  -t "$IMAGE" -f Dockerfile . > "$work/build.log" 2>&1 || { tail -40 "$work/build.log"; fail "podman build"; }
log "built in $(( $(date +%s) - started ))s: $(podman image inspect "$IMAGE" --format '{{.Size}}' | awk '{ printf "%.0f MB", $1 / 1e6 }')"

inspect() { podman image inspect "$IMAGE" --format "$1"; }
[ "$(inspect '{{.Config.User}}')" = node ] || fail "the image does not run as the node user"
inspect '{{json .Config.Env}}' | grep -q 'MALLOC_' && fail "the glibc heap setting is opt-in (SCOPEGATE_MALLOC_TUNING=on), not in the image"
inspect '{{json .Config.Labels}}' | grep -q '"org.opencontainers.image.licenses":"Apache-2.0"' || fail "OCI labels missing"
[ -n "$(inspect '{{json .Config.Healthcheck}}' | grep healthz)" ] || fail "no HEALTHCHECK on /healthz"
files=$(podman run --rm --network host --entrypoint sh "$IMAGE" 2>> "$work/podman.log" -c \
  'ls /app; ls /app/node_modules | tr "\n" " "; ls /app/node_modules/.bin 2>/dev/null; find / -xdev -name "*.pem" -path "*secrets*" 2>/dev/null; grep -rl "BEGIN CERTIFICATE" /app /etc/scopegate /run 2>/dev/null | head -3')
echo "$files" | grep -qx dist || fail "no dist/ in /app"
! echo "$files" | grep -qx src || fail "src/ in the runtime image"
! echo "$files" | grep -Eq '(^| )(tsx|typescript|node|fast-check|oidc-provider)( |$)' || fail "dev dependencies in the runtime image: $files"
! echo "$files" | grep -q 'BEGIN CERTIFICATE\|\.pem' || fail "a CA bundle in the runtime image"
log "runtime image: non-root, heap settings, labels, healthcheck; no src/, no dev dependencies, no CA bundle"

# --- a real Prometheus on the host, with series of two namespaces ----------------------------------------------
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
prometheus_port=$(free_port)
mkdir -p "$work/prometheus"
cat > "$work/prometheus/prometheus.yml" <<YML
global: { evaluation_interval: 1s }
rule_files: [rules.yml]
YML
cat > "$work/prometheus/rules.yml" <<YML
groups:
  - name: image-test
    interval: 1s
    rules:
      - record: image_test_up
        expr: vector(1)
        labels: { namespace: team-a }
      - record: image_test_up
        expr: vector(1)
        labels: { namespace: team-b }
YML
prometheus --config.file="$work/prometheus/prometheus.yml" --storage.tsdb.path="$work/prometheus/data" \
  --web.listen-address="127.0.0.1:$prometheus_port" --log.level=warn > "$work/prometheus.log" 2>&1 &
prometheus_pid=$!
for _ in $(seq 1 60); do
  [ "$(curl -s "http://127.0.0.1:$prometheus_port/api/v1/query?query=count(image_test_up)" | grep -o '"2"')" = '"2"' ] && break
  sleep 1
done
log "prometheus on 127.0.0.1:$prometheus_port (pid $prometheus_pid) with image_test_up for team-a and team-b"

# --- run the image with no arguments: the built-in /etc/scopegate/config.toml (examples/container.toml) ---------
proxy_port=$(free_port)
admin_port=$(free_port)
# The host's network, so the container reaches Prometheus on 127.0.0.1; the published ports are replaced by the
# free ones of this run (and the healthcheck told so), so as not to clash with anything on 8000/8081.
sed -e "s/^listen = \":8000\"/listen = \"127.0.0.1:$proxy_port\"/" -e "s/^listen = \":8081\"/listen = \"127.0.0.1:$admin_port\"/" \
  examples/container.toml > "$work/config.toml"
chmod 0644 "$work/config.toml"
tokens='{"team-a-token":{"name":"team-a","tenant":"team-a","namespaces":["team-a"]}}'
podman run -d --name "$CONTAINER" --network host \
  -v "$work/config.toml:/etc/scopegate/config.toml:ro,Z" \
  -e "PROMETHEUS_URL=http://127.0.0.1:$prometheus_port" -e "SCOPEGATE_TOKENS=$tokens" \
  -e "SCOPEGATE_SHUTDOWN_TIMEOUT=$SHUTDOWN_TIMEOUT" -e "SCOPEGATE_HEALTHCHECK_URL=http://127.0.0.1:$admin_port/healthz" \
  "$IMAGE" > /dev/null 2>> "$work/podman.log"
ready=""
for _ in $(seq 1 60); do
  if curl -sf "http://127.0.0.1:$admin_port/ready" > /dev/null; then ready=1; break; fi
  sleep 1
done
[ -n "$ready" ] || { podman logs "$CONTAINER" | tail -20; fail "/ready never answered 200"; }
who=$(podman exec "$CONTAINER" sh -c 'for p in /proc/[0-9]*; do
  case "$(tr "\0" " " < $p/cmdline)" in *"node --max-semi-space-size=8 /app/bin/scopegate.js serve"*) stat -c %U $p; break ;; esac
done; cat /proc/1/comm')
[ "$(echo "$who" | tr '\n' ' ')" = "node tini " ] || fail "expected node running as the node user under tini, got: $who"
log "container $CONTAINER: /ready 200; pid 1 is tini, scopegate runs as user node"
# (podman cannot schedule the periodic checks without systemd; running the image's check once is what we test.)
podman healthcheck run "$CONTAINER" > "$work/health.out" 2>> "$work/podman.log" \
  || fail "the image's healthcheck failed: $(cat "$work/health.out")"
log "image healthcheck (node fetch /healthz): healthy"


query() { curl -s -o "$work/body" -w '%{http_code}' "$@"; }
code=$(query -H 'Authorization: Bearer team-a-token' "http://127.0.0.1:$proxy_port/api/v1/query?query=image_test_up")
[ "$code" = 200 ] || fail "allowed query: HTTP $code $(cat "$work/body")"
grep -q '"namespace":"team-a"' "$work/body" && ! grep -q team-b "$work/body" || fail "allowed query did not return team-a only: $(cat "$work/body")"
log "allowed: team-a's query of image_test_up -> 200, team-a's series only: $(cat "$work/body")"
code=$(query -H 'Authorization: Bearer not-a-token' "http://127.0.0.1:$proxy_port/api/v1/query?query=image_test_up")
[ "$code" = 401 ] || fail "unknown token: HTTP $code"
log "refused: unknown token -> 401 $(cat "$work/body")"
code=$(query -X POST -H 'Authorization: Bearer team-a-token' "http://127.0.0.1:$proxy_port/api/v1/admin/tsdb/delete_series?match[]=image_test_up")
[ "$code" = 403 ] || fail "admin endpoint: HTTP $code"
log "refused: team-a on the TSDB admin API -> 403 $(cat "$work/body")"

# --- graceful stop ----------------------------------------------------------------------------------------------
started=$(date +%s%N)
podman stop -t "$STOP_TIMEOUT_S" "$CONTAINER" > /dev/null 2>> "$work/podman.log"
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
exit_code=$(podman inspect "$CONTAINER" --format '{{.State.ExitCode}}')
podman logs "$CONTAINER" 2>&1 | tail -3 | cut -c1-200
[ "$exit_code" = 0 ] || fail "podman stop: exit code $exit_code (137 = killed after the grace period)"
[ "$elapsed_ms" -lt $(( ${SHUTDOWN_TIMEOUT%s} * 1000 )) ] || fail "podman stop took ${elapsed_ms} ms, beyond shutdown_timeout $SHUTDOWN_TIMEOUT"
log "podman stop: SIGTERM through tini, exit 0 after ${elapsed_ms} ms (shutdown_timeout $SHUTDOWN_TIMEOUT, stop grace ${STOP_TIMEOUT_S}s)"
log "image test passed"
