# cronflux image: every job binary on a slim Debian 12 base, non-root, runtime libraries only.
#   docker build -t ghcr.io/cronflux/cronflux:0.1.0 .
# Build stage: the -dev packages and a compiler.
FROM debian:12-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential pkg-config \
      libcurl4-openssl-dev liboauth-dev libjansson-dev libsqlite3-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY jobs ./jobs
COPY store ./store
RUN make -j"$(nproc)" BINDIR=/out/bin build/libcfruntime.a build/libcfstore.a build/libcfjobs.a \
        /out/bin/cronflux /out/bin/twitter-stats /out/bin/cluster-metrics /out/bin/prom-metrics \
 && make install BINDIR=/out/bin PREFIX=/usr/local DESTDIR=/out/root

# Run stage: only the shared libraries the binaries link and CA certificates.
# Keep this list in step with tests/integration/test_image_libs.sh (it checks ldd against it).
FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates libcurl4 liboauth0 libjansson4 libsqlite3-0 zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/cronflux \
 && chgrp 0 /var/lib/cronflux && chmod 0775 /var/lib/cronflux
COPY --from=build /out/root/usr/local/bin/ /usr/local/bin/
# Any UID works (OpenShift assigns one): state lives in /var/lib/cronflux (group 0, writable).
USER 10001:0
ENV HOME=/tmp CRONFLUX_STATE=/var/lib/cronflux/cronflux.db
WORKDIR /var/lib/cronflux
VOLUME ["/var/lib/cronflux"]
ENTRYPOINT []
CMD ["/usr/local/bin/cronflux", "status"]
