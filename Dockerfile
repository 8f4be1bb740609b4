# One image for every Warren command: docker compose runs logcollect and logship from it.
FROM node:20-bookworm
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild better-sqlite3
COPY . .
RUN npm run build && npm prune --omit=dev
ENV NODE_ENV=production
ENTRYPOINT []
