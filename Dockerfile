# holdfast API and worker image. The app runs its TypeScript sources directly with tsx (a runtime dependency);
# the only build is the storefront and ops console (Vite), in a first stage with the dev dependencies.
#
#   API (default):  node --import tsx src/api/server.ts
#   Worker:         node --import tsx src/worker.ts
#   Ops CLI:        npx holdfast help
#
# All configuration comes from environment variables (see src/config.ts and docker-compose.yml).
FROM node:20-bookworm-slim AS web
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web ./web
RUN npm run build:web

FROM node:20-bookworm-slim
WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY tsconfig.json ./
COPY src ./src
COPY bin ./bin
COPY --from=web /app/web/dist ./web/dist

# The workflow bundle, built once here: the worker loads it (WORKFLOW_BUNDLE) instead of running webpack at start.
COPY scripts/build-workflow-bundle.ts ./scripts/
RUN node --import tsx scripts/build-workflow-bundle.ts dist/workflow-bundle.js
ENV WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js

# Run unprivileged; HOLDFAST_HOME (default .holdfast, relative to /app) must be writable by that user.
RUN mkdir -p /app/.holdfast && chown node:node /app/.holdfast
USER node

# 3000: the API (and its /metrics); 9464: a worker's /metrics (WORKER_METRICS_PORT).
EXPOSE 3000 9464
CMD ["node", "--import", "tsx", "src/api/server.ts"]
