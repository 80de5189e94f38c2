# syntax=docker/dockerfile:1
#
# Tenure in a container: `tenure serve` on port 8080, its SQLite database
# and tenure.toml in the /data volume (docs/OPERATIONS.md).
#
#   docker build -t tenure .
#   docker run -d --name tenure -p 8080:8080 -v tenure-data:/data tenure
#   docker exec -it tenure tenure users add admin@example.com --role admin
#
# For PostgreSQL, set TENURE_DB=postgres://... (and build with
# --build-arg EXTRA_PACKAGES=postgresql-client for `tenure backup`, whose
# pg_dump must be at least as new as the server).

# --- build --------------------------------------------------------------
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
# The registry and target folder are cache mounts, so a rebuild after a
# source change recompiles only the workspace's own crates; the binary is
# copied out of the cache mount into the image layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p tenure \
 && install -D -m 0755 target/release/tenure /out/tenure

# --- run ----------------------------------------------------------------
FROM debian:bookworm-slim
ARG EXTRA_PACKAGES=""
# ca-certificates: SMTP and webhooks over TLS check the peer against them.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates ${EXTRA_PACKAGES} \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 tenure \
 && useradd --system --uid 10001 --gid tenure --home-dir /data --shell /usr/sbin/nologin tenure \
 && mkdir -p /data \
 && chown tenure:tenure /data
COPY --from=build /out/tenure /usr/local/bin/tenure

ENV TENURE_DB=sqlite:///data/tenure.db \
    TENURE_CONFIG=/data/tenure.toml \
    TENURE_ADDR=0.0.0.0:8080 \
    TENURE_LOG_FORMAT=json
VOLUME ["/data"]
WORKDIR /data
USER tenure:tenure
EXPOSE 8080

# /healthz answers {"status":"ok"} while the process serves. The slim
# image has no curl: bash's /dev/tcp sends the request instead.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

ENTRYPOINT ["tenure"]
CMD ["serve"]
