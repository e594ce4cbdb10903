# The dokkup agent image.
#
#   docker build -t dokkup .
#   docker run -d --name dokkup-agent -p 8080:8080 --restart always \
#     -v /var/run/docker.sock:/var/run/docker.sock -v dokkup-config:/config dokkup
#   docker logs dokkup-agent        # the API key and the certificate fingerprint, printed once
#
# The image holds Node.js and one file of dokkup: the bundle of the CLI, agent and TUI that
# `npm run bundle` makes (build/bundle/: dokkup.cjs, its inventory worker, blessed's terminfo
# files), with every dependency inside it: no node_modules, no TypeScript, no tests.
#
# Build arguments:
#   NODE_IMAGE     the Node.js base image (default node:24-bookworm-slim; 22 works too)
#   PREBUILT=true  use build/bundle from the build context (made beforehand with
#                  `npm ci && npm run bundle`) instead of building it here: for builders
#                  without network access
#   DOKKUP_COMMIT  the commit `dokkup version` reports (the context has no .git)
ARG NODE_IMAGE=node:24-bookworm-slim

# Build: dependencies from the lockfile, then the bundle (scripts/package.mjs --bundle-only).
FROM ${NODE_IMAGE} AS build
ARG PREBUILT=false
ARG DOKKUP_COMMIT=dev
WORKDIR /src
COPY . .
RUN if [ "$PREBUILT" = true ]; then \
      test -f build/bundle/dokkup.cjs || { echo "PREBUILT=true needs build/bundle: run npm run bundle first" >&2; exit 1; }; \
    else \
      rm -rf build && \
      npm ci --ignore-scripts --no-audit --no-fund && \
      DOKKUP_COMMIT="$DOKKUP_COMMIT" node scripts/package.mjs --bundle-only; \
    fi

# Runtime: Node.js and the bundle.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    DOKKUP_CONFIG=/config
COPY --from=build /src/build/bundle/ /app/
# `docker exec dokkup-agent dokkup agent --rotate-key` and the other commands.
RUN printf '#!/bin/sh\nexec node --max-semi-space-size=16 /app/dokkup.cjs "$@"\n' > /usr/local/bin/dokkup && chmod 755 /usr/local/bin/dokkup
# The agent's data directory (key hash, job history): keep it across container restarts.
VOLUME /config
EXPOSE 8080
# /healthz over HTTPS (the agent's default from 0.4 on; its certificate is self-signed, so
# not verified here) or plain HTTP.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const port = process.env.PORT || 8080; const ok = (r) => process.exit(r.statusCode === 200 ? 0 : 1); require('https').get({ host: '127.0.0.1', port, path: '/healthz', rejectUnauthorized: false }, ok).on('error', () => require('http').get({ host: '127.0.0.1', port, path: '/healthz' }, ok).on('error', () => process.exit(1)));"]
# The Node flag of src/cli/bin.ts's first line (the young generation's size).
ENTRYPOINT ["node", "--max-semi-space-size=16", "/app/dokkup.cjs"]
CMD ["agent"]
