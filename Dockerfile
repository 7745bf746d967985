# chaoskit in a container: `chaos` is the entrypoint, for coordinators and runners on Kubernetes
# (chaos export kubernetes) and for CI jobs. Build: docker build -t chaoskit:0.1.0 .
#   docker run --rm chaoskit:0.1.0 runner --coordinator http://coordinator:7070
# No image registry is reachable from the project's test machines: the tests use an equivalent
# image that scripts/build-chaoskit-image.sh assembles locally (docker import).
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production
# Production dependencies only. --ignore-scripts skips the package's own `prepare` (a TypeScript
# build that needs dev dependencies: chaoskit runs its sources through tsx); koffi's install step
# (it picks its prebuilt native binary) is run on its own.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm rebuild koffi \
  && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY faults ./faults
COPY reporters ./reporters
COPY scenarios ./scenarios
COPY schemas ./schemas

# A non-root user; tsx keeps its compile cache under /tmp, state (the fault ledger) under $HOME.
RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin chaos
USER 10001
ENV HOME=/home/chaos
EXPOSE 7070
ENTRYPOINT ["node", "/app/bin/chaos.mjs"]
CMD ["--help"]
