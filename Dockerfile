# Tally's production image: the compiled server and its production dependencies only, run as the unprivileged
# `node` user. Build: docker build -t tally . ; run: see compose.yaml and deploy/k8s/.
#
# Stage 1 compiles TypeScript with every dependency installed; stage 2 starts again from the slim base and takes
# only dist/ and a node_modules installed without devDependencies (no compiler, linters, load-test peers).

FROM node:26-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY persisted-queries ./persisted-queries
RUN npm run build

FROM node:26-trixie-slim AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:26-trixie-slim
ENV NODE_ENV=production \
    PORT=4000 \
    # GraphQL requests allocate many short-lived objects: 64 MB semi-spaces cut the scavenger's share of CPU
    # (README, "Scripts").
    NODE_OPTIONS=--max-semi-space-size=64
WORKDIR /app
COPY --from=production-dependencies --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY package.json ./
# The process may write nothing in /app: it needs no disk in production (PostgreSQL and Redis hold the state).
USER node
EXPOSE 4000
# For plain `docker run`; Kubernetes uses its own probes on the same paths (deploy/k8s/deployment.yaml).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node runs as PID 1 and receives SIGTERM itself; src/main.ts handles it (drain, close, exit 0).
CMD ["node", "dist/src/main.js"]
