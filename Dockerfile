# cronflux image: the four job binaries on an empty base (FROM scratch): the binaries,
# stripped, exactly the shared libraries they load, the CA bundle, a non-root user. No shell,
# no package manager. Build it with `make image` (docker or podman); the version comes from
# the VERSION file unless --build-arg VERSION= says otherwise.
#   make image IMAGE=ghcr.io/cronflux/cronflux [VERSION=x.y.z]

# Build stage: Debian 12, the -dev packages and a compiler.
FROM docker.io/library/debian:12-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential pkg-config ca-certificates \
      libcurl4-openssl-dev liboauth-dev libjansson-dev libsqlite3-dev zlib1g-dev libdeflate-dev liblz4-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile VERSION ./
COPY runtime ./runtime
COPY store ./store
COPY jobs ./jobs
COPY image ./image
ARG VERSION=
RUN make -j"$(nproc)" BINDIR=/out/bin ${VERSION:+VERSION=$VERSION} \
        /out/bin/cronflux /out/bin/twitter-stats /out/bin/cluster-metrics /out/bin/prom-metrics \
 && sh image/rootfs.sh /rootfs /out/bin

# Run stage: nothing but what image/rootfs.sh laid out.
FROM scratch
ARG VERSION=
ARG REVISION=
ARG CREATED=
ARG SOURCE=
LABEL org.opencontainers.image.title="cronflux" \
      org.opencontainers.image.description="One-shot jobs (twitter-stats, cluster-metrics, prom-metrics, cronflux) that spool points in sqlite and write them to InfluxDB" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="scratch"
COPY --from=build /rootfs/ /
# Any UID works (OpenShift assigns one): state lives in /var/lib/cronflux (group 0, writable).
USER 10001:0
ENV HOME=/tmp CRONFLUX_STATE=/var/lib/cronflux/cronflux.db \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
WORKDIR /var/lib/cronflux
VOLUME ["/var/lib/cronflux"]
ENTRYPOINT []
CMD ["/usr/local/bin/cronflux", "status"]
