# One image for every Warren command: `docker run <image> logship|logcollect|logtail [flags]`.
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild better-sqlite3
COPY . .
RUN npm run build && npm prune --omit=dev

# The runtime: no compilers, no dev dependencies, not root.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json /app/CONTRACT.md ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY docker/entrypoint.sh /usr/local/bin/warren-entrypoint
# Named volumes mounted here start owned by the image's user.
RUN mkdir -p /data /spool /demo && chown node:node /data /spool /demo
USER node
ENTRYPOINT ["warren-entrypoint"]
CMD ["logcollect", "--help"]
