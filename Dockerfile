# The gateway and worker image (one image, two roles: `rpm gateway`, `rpm worker`).
# Node 20 LTS, as documented in the README; pinned so a rebuild gets the same runtime.
FROM node:20.19.5-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts && npm rebuild better-sqlite3
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20.19.5-bookworm-slim
ENV NODE_ENV=production RPM_DATA_DIR=/var/lib/rpm
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
RUN mkdir -p /var/lib/rpm && chown node:node /var/lib/rpm && chmod 0700 /var/lib/rpm
USER node
EXPOSE 8080 1883 8883
ENTRYPOINT ["node", "--max-semi-space-size=64", "bin/rpm.js"]
CMD ["start"]
