# lorabot: one image for the gateway and the workers (the command picks which).
#   docker build -t lorabot .
#   docker run --env-file .env -p 3000:3000 lorabot start

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY web ./web
RUN npm run build && npm prune --omit=dev

FROM node:24-slim
ENV NODE_ENV=production
# Reachable through the published port whatever is configured (unset, HOST would be 127.0.0.1 without Slack or Discord).
ENV HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json lorabot.config.example.yaml slack-app-manifest.yaml ./
# The node image's unprivileged user.
USER node
EXPOSE 3000
# For the gateway (`start` or `gateway`); a worker-only container has no HTTP server: disable it there.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "dist/main.js"]
CMD ["start"]
