# koa-webdav-server in a container: docker build -t koa-webdav-server .
# Not built by CI here (see "Run it as a service" in README.md); deploy/compose/ runs two
# instances over one volume and one Redis behind nginx.

# 1. Build: all dependencies, compile src/ to dist/, then drop the dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json && npm prune --omit=dev --ignore-scripts

# 2. Run: what the package ships, as the unprivileged `node` user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/src/browser/assets ./src/browser/assets
COPY --from=build /app/src/locks/redis/lua ./src/locks/redis/lua
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
# Every option is a WEBDAV_<FLAG> variable (or a flag after the image name). Listening on
# 0.0.0.0 needs WEBDAV_HTPASSWD (or WEBDAV_ALLOW_ANONYMOUS=true): the server refuses otherwise.
ENV WEBDAV_ROOT=/data \
    WEBDAV_HOST=0.0.0.0 \
    WEBDAV_PORT=8080 \
    WEBDAV_ADMIN_HOST=127.0.0.1 \
    WEBDAV_ADMIN_PORT=9090
EXPOSE 8080
STOPSIGNAL SIGTERM
# Ready = the storage root takes writes and the lock store answers (the admin listener's /readyz).
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.WEBDAV_ADMIN_PORT||9090)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/cli.js"]
