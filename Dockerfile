# Build: release binary.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin gateway

# Run: slim Debian, non-root, data in a volume.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/gateway --create-home gateway
COPY --from=build /src/target/release/gateway /usr/local/bin/gateway
USER gateway
WORKDIR /var/lib/gateway
# Listening beyond loopback, the gateway needs its public address for status URLs:
# docker run -e GATEWAY_PUBLIC_URL=https://pay.example.com … (it refuses to start without it).
ENV GATEWAY_LISTEN=0.0.0.0:8080 \
    GATEWAY_DATA_DIR=/var/lib/gateway/data
EXPOSE 8080
VOLUME ["/var/lib/gateway/data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/health || exit 1
ENTRYPOINT ["gateway"]
CMD ["serve"]
