# syntax=docker/dockerfile:1
# The worker image: the bundled worker (dist/cli.js, every dependency inside) on Node.js 22 LTS.
# NODE_IMAGE lets a locally made base stand in (scripts/verify-image.sh); RUNTIME_IMAGE may be any
# image with the same Node.js (a distroless one, say). No Pulumi, no test tools, no node_modules.
#   docker run -e SOLAPI_MOCK=true -e AWS_REGION=… IMAGE      the worker
#   docker run IMAGE demo                                    the embedded demo
ARG NODE_IMAGE=node:22-slim
ARG RUNTIME_IMAGE=${NODE_IMAGE}

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# The runtime dependencies, then esbuild on its own (it is a dev dependency). The npm_ca secret
# serves builds behind a TLS-intercepting proxy and never lands in a layer.
RUN --mount=type=secret,id=npm_ca \
    if [ -s /run/secrets/npm_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi; \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm install --prefix /tools --no-audit --no-fund --no-save \
      "esbuild@$(node -p "require('./package.json').devDependencies.esbuild")"
COPY scripts/build.mjs scripts/build.mjs
COPY worker worker
RUN ESBUILD_MODULE=/tools/node_modules/esbuild/lib/main.js node scripts/build.mjs

FROM ${RUNTIME_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/dist/cli.js /src/dist/cli.js.map /app/dist/
# Non-root; numeric so that it needs no entry in the base image's /etc/passwd.
USER 1000:1000
# node runs as PID 1 here and handles SIGTERM/SIGINT itself; on ECS an init (initProcessEnabled) sits in front.
ENTRYPOINT ["node", "--enable-source-maps", "/app/dist/cli.js"]
CMD ["worker"]
