# hammer's container image: `docker run IMAGE migrate|server|worker|start`, as with allisson/hammer.
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build step: one stage
# installs the production dependencies, the final one copies them next to the sources. The dashboard
# (clients/dashboard, with the SDK sources it calls the API through) is bundled by esbuild, a production
# dependency, in memory at the first request for /ui.
FROM node:24-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
COPY clients/typescript/package.json clients/typescript/package.json
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=dependencies /app/node_modules node_modules
COPY package.json openapi.yaml graphile.config.ts ./
COPY bin bin
COPY src src
COPY clients/typescript/src clients/typescript/src
COPY clients/dashboard clients/dashboard
COPY migrations migrations
USER node
EXPOSE 8000 50051 4001 9000
ENTRYPOINT ["node", "--max-semi-space-size=16", "bin/hammer.js"]
CMD ["--help"]
