# syntax=docker/dockerfile:1
# gitsync-injector: the admission webhook's image.
#   docker build -t registry.example.com/gitsync-injector:0.1.0 .
# Two stages: the first compiles the TypeScript and prunes to production
# dependencies; the second holds only that output on distroless Node.js, with
# no shell, no package manager and a non-root user.

# Build stage: the full Node.js image, with npm and a shell. It runs on the
# builder's own platform even for a multi-platform image: its output (JavaScript,
# and production dependencies without native addons) runs on any of them.
FROM --platform=$BUILDPLATFORM node:24-bookworm-slim AS build
WORKDIR /src
# Dependencies first, so that a source change reuses this layer.
COPY package.json package-lock.json ./
# --ignore-scripts: the "node" devDependency pins Node for development
# machines; the image already has the right Node and must not fetch another.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The playground page (src/playground/: HTML, CSS, browser modules) is served as it is, from dist/playground/.
RUN npx tsc -p tsconfig.build.json \
 && cp -R src/playground dist/ \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# Runtime: distroless Node.js 24 (the current LTS), no shell, non-root.
FROM gcr.io/distroless/nodejs24-debian12:nonroot
LABEL org.opencontainers.image.title="gitsync-injector" \
      org.opencontainers.image.description="Kubernetes mutating admission webhook that gives any pod its files from git with git-sync" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and read-only to the process: it cannot change its own code.
# package.json: the version, and "type": "module" for dist/.
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# Numeric, so that the kubelet can check runAsNonRoot against it.
USER 65532:65532
# 8443: the webhook (HTTPS, /mutate); 8081: /healthz, /readyz and /metrics (HTTP).
EXPOSE 8443 8081
# Exec form: node is PID 1 and receives SIGTERM itself (graceful shutdown).
ENTRYPOINT ["/nodejs/bin/node", "--enable-source-maps", "dist/cli/main.js"]
CMD ["serve"]
