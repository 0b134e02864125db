# Build: docker build -t stoa .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p stoa-api

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/stoa /usr/local/bin/stoa
ENV STOA_BIND=0.0.0.0:8080 STOA_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["stoa"]
CMD ["serve"]
