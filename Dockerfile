# syntax=docker/dockerfile:1
# scopegate's container image: compiled with Node 24 and the dev dependencies in a build stage, run on
# node:24-slim with the production dependencies only, as the unprivileged `node` user, under tini.
#   docker build -t scopegate .                 (podman: podman build --format docker -t scopegate .)
#   docker run -e PROMETHEUS_URL=http://prometheus:9090 -e SCOPEGATE_TOKENS='{"t":{"tenant":"a"}}' \
#     -p 8000:8000 -p 8081:8081 scopegate
# The config is /etc/scopegate/config.toml (examples/container.toml until you mount yours), or SCOPEGATE_CONFIG.
# Behind a TLS-intercepting proxy, give npm the proxy's CA bundle as a build secret; only the build stage
# mounts it, the runtime image never holds it:
#   docker build --secret id=npm_ca,src=/etc/ssl/certs/ca-certificates.crt -t scopegate .

ARG NODE_IMAGE=docker.io/library/node:24-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /build
COPY package.json package-lock.json ./
# --ignore-scripts: the only dependencies with install scripts are dev-only: the `node` package (Node 24 for npm
# scripts, which this image already runs) and esbuild's optional binary check (tsx, for tests).
RUN --mount=type=secret,id=npm_ca \
    if [ -s /run/secrets/npm_ca ]; then export npm_config_cafile=/run/secrets/npm_ca; fi; \
    npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
# Compile (tests excluded by tsconfig.json), then drop the dev dependencies: what is left is what runs.
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="scopegate" \
      org.opencontainers.image.description="Multi-tenant auth gateway for Prometheus and the Grafana LGTM stack" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
# tini as PID 1: forwards SIGTERM to node (graceful shutdown within proxy.shutdown_timeout) and reaps the
# cluster workers' and healthchecks' children.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
# No glibc heap setting: on Node 24 it gave nothing and kept memory (docs/performance.md, "The glibc heap
# setting"); SCOPEGATE_MALLOC_TUNING=on turns it on. `serve` caps V8's young generation itself (bin/scopegate.js).
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /build/package.json ./
COPY --from=build /build/node_modules ./node_modules
COPY --from=build /build/dist ./dist
COPY bin ./bin
COPY LICENSE README.md CHANGELOG.md ./
COPY examples/container.toml /etc/scopegate/config.toml
USER node
# proxy, admin (/ready, /healthz, /metrics)
EXPOSE 8000 8081
# Liveness on the admin port (no curl in slim images: Node's fetch); SCOPEGATE_HEALTHCHECK_URL when your config
# moves the admin listener.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.SCOPEGATE_HEALTHCHECK_URL || 'http://127.0.0.1:8081/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/scopegate.js"]
CMD ["serve"]
