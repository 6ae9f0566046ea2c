# syntax=docker/dockerfile:1
#
# The dashboard: Next.js built with `output: "standalone"` (next.config.ts turns it on when
# NEXT_OUTPUT=standalone), so the runtime stage holds server.js and only the node_modules the
# server was traced to use (about 60 MB), not the whole dependency tree.
#
#   docker build -f deploy/Dockerfile.app -t creditgate/app .     (from the repository root)
#
# NEXT_PUBLIC_* variables are read at run time by the server (no browser code uses them), so
# the same image serves AUTH_MODE=local and AUTH_MODE=supabase: do not pass them at build time.

FROM node:20.19.5-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY . .
ENV NEXT_TELEMETRY_DISABLED=1 \
    NEXT_OUTPUT=standalone
RUN npm run build

FROM node:20.19.5-bookworm-slim
ENV NODE_ENV=production \
    NEXT_TELEMETRY_DISABLED=1 \
    PORT=3000 \
    HOSTNAME=0.0.0.0
WORKDIR /app
COPY --from=build /src/.next/standalone/ /app/
COPY --from=build /src/.next/static/ /app/.next/static/
# Next.js may cache rendered data under .next/cache; that is the one place it writes.
RUN mkdir -p /app/.next/cache && chown node:node /app/.next/cache
USER node
EXPOSE 3000
# 200 while the database answers (also when the gateway is down: the dashboard still serves
# local data and queues changes), 503 without a database.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/api/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "server.js"]
