# Container image of Gyre: Debian 12 slim with the .deb of scripts/package.sh installed, so the
# image has the same binary, runtime libraries and gyre user as a package install
# (docs/packaging.md). Build from the repository root after packaging:
#   scripts/build.sh release && scripts/package.sh && docker build -t gyre .
# Configure with CENTRIFUGO_* environment variables and/or a config file mounted at
# /etc/gyre/config.json (read when present, like config.json in the working directory).
FROM debian:12-slim

COPY build/gyre_*.deb /tmp/
# apt resolves the package's Depends. The postinst writes /etc/gyre/config.json with fresh
# secrets; it is removed so that no secret is baked into the image.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      /tmp/gyre_*.deb curl \
 && rm -f /etc/gyre/config.json /tmp/gyre_*.deb \
 && rm -rf /var/lib/apt/lists/*

USER gyre
WORKDIR /etc/gyre
# /health is what the HEALTHCHECK asks; the variable overrides a mounted file's setting.
ENV CENTRIFUGO_HEALTH_ENABLED=true
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s \
  CMD curl -fsS "http://127.0.0.1:${CENTRIFUGO_HTTP_SERVER_PORT:-8000}/health" || exit 1
# SIGTERM (docker stop) shuts down gracefully; SIGHUP (docker kill -s HUP) reloads the config.
ENTRYPOINT ["/usr/bin/gyre"]
