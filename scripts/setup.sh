#!/usr/bin/env bash
# Installs what scopegate and its tests need on a fresh Debian machine: Node dependencies (npm ci) and the real
# upstreams the tests and the demo run (Prometheus, Alertmanager, VictoriaMetrics from Debian's packages), the
# openssl CLI the TLS tests use, and kubectl, whose `kubectl kustomize` renders deploy/kubernetes in a test
# (promtool, from the prometheus package, checks the alerting rules). Node 24, the runtime scopegate is built and
# tested on, comes with npm ci: the `node` devDependency puts it in node_modules/.bin, first on PATH in every npm
# script (npm test, build, bench), whatever the system's Node (npm ci itself runs on the system's Node and npm,
# Node 20 included).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v victoria-metrics >/dev/null 2>&1 || missing+=(victoria-metrics)
# The TLS tests make a throwaway CA with the openssl CLI.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# The limits tests run their own redis-server (Redis backend shared by two gateways, stopped mid-test).
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# The bench's Go peer (go vet in test/bench/peers.test.ts) builds in GOPATH mode from Debian's Go sources.
command -v go >/dev/null 2>&1 || missing+=(golang-go)
[ -d /usr/share/gocode/src/github.com/golang/snappy ] || missing+=(golang-github-golang-snappy-dev)
[ -d /usr/share/gocode/src/github.com/gogo/protobuf ] || missing+=(golang-github-gogo-protobuf-dev)
# kubectl comes from the `kubectl` package of the Kubernetes (or Google Cloud) apt repository; Debian's own
# `kubernetes-client` is kubectl 1.20, whose kustomize (v2) cannot read the manifests' `labels` field.
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if ! command -v kubectl >/dev/null 2>&1; then
  $sudo apt-get update -q
  if apt-cache policy kubectl 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    missing+=(kubectl)
  else
    echo "kubectl is missing and no apt source offers the kubectl package: add the Kubernetes apt repository" >&2
    echo "(Kubernetes' 'Install kubectl on Linux' page), or put kubectl >= 1.27 on PATH" >&2
    exit 1
  fi
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
echo "npm scripts run on Node $(npm exec --offline -- node --version) (system Node: $(node --version))"
