# hammer's container image: `docker run IMAGE migrate|server|worker|start`, as with allisson/hammer.
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build step: one stage
# installs the production dependencies, the final one copies them next to the sources (and fills
# Node's compile cache, below). The dashboard
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
# Node's compile cache (bin/hammer.js turns it on), filled here by importing every source once, as the
# user that runs hammer (the cache is per user): each container then starts with the sources already
# stripped of their types and compiled, so even its first start skips the type stripper and most
# parsing (README "Performance", run 8). About 7 MiB; hammer works the same without it.
ENV NODE_COMPILE_CACHE=/home/node/.cache/node-compile-cache
RUN node --max-semi-space-size=8 --heap-growing-percent=50 --input-type=module -e "import { enableCompileCache } from 'node:module'; import { globSync } from 'node:fs'; enableCompileCache(); for (const file of globSync('src/**/*.ts')) await import('./' + file);" > /dev/null
EXPOSE 8000 50051 4001 9000
ENTRYPOINT ["node", "--max-semi-space-size=8", "--heap-growing-percent=50", "bin/hammer.js"]
CMD ["--help"]
