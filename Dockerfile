# holdfast API and worker image. The app runs its TypeScript sources directly with tsx (a runtime dependency), so
# there is no build step: production dependencies, tsconfig.json and src/ are all it needs.
#
#   API (default):  npx tsx src/api/server.ts
#   Worker:         npx tsx src/worker.ts
#
# All configuration comes from environment variables (see src/config.ts and docker-compose.yml).
FROM node:20-bookworm-slim

WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

COPY tsconfig.json ./
COPY src ./src

# Run unprivileged; HOLDFAST_HOME (default .holdfast, relative to /app) must be writable by that user.
RUN mkdir -p /app/.holdfast && chown node:node /app/.holdfast
USER node

EXPOSE 3000
CMD ["npx", "tsx", "src/api/server.ts"]
