# The dokkup agent image: `docker run -d -p 8080:8080 -v /var/run/docker.sock:/var/run/docker.sock
# -v dokkup-config:/config <image>`; the API key is printed once in the container's log.

# Build: compile TypeScript, then drop dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: `prepare` would build before the sources are copied.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY agent ./agent
COPY tui ./tui
RUN npm run build && npm prune --omit=dev

# Runtime: compiled code and production dependencies only.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    DOKKUP_CONFIG=/config
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The agent's data directory (key hash, job history): keep it across container restarts.
VOLUME /config
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/src/cli/bin.js"]
CMD ["agent"]
