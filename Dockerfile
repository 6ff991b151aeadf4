# syntax=docker/dockerfile:1
# The operator image: `docker build -t webstack-operator:0.1.0 .`
# Two stages, so the image carries only production dependencies and compiled JavaScript (no
# TypeScript, tests or dev tools).

FROM node:20-bookworm-slim AS build
WORKDIR /src
# Manifests first: the dependency layer is reused until package*.json change.
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY operator/ operator/
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
# mariadb-dump and mariadb: the database controller seeds a MariaDB replica that lost its data by
# streaming a consistent dump from a healthy instance through these two programs.
RUN apt-get update && apt-get install -y --no-install-recommends mariadb-client && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no install script of a dependency runs in the image build; the compiled
# operator needs none of them (tsx/esbuild are only used by `npm start` in a checkout).
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /src/dist/ dist/
COPY crds/ crds/
# A numeric non-root user (runAsNonRoot can only verify numbers). Everything above is owned by
# root and read-only to it; the operator writes no files, so a read-only root filesystem works.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["node", "dist/operator/cli/operator.js"]
