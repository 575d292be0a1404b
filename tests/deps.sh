#!/usr/bin/env bash
# Install what building, testing and the demo need, from Debian's packages (and npm for the
# deploy checks), when it is missing. The one list of dependencies: .ci/run calls this too.
# Quiet when everything is there already.
set -euo pipefail
PKGS=(
    build-essential pkg-config ca-certificates curl git procps time jq
    libcurl4-openssl-dev liboauth-dev libjansson-dev libsqlite3-dev zlib1g-dev libdeflate-dev liblz4-dev sqlite3
    valgrind clang-tidy
    influxdb influxdb-client prometheus
    python3 python3-oauthlib python3-yaml python3-requests python3-requests-oauthlib
    python3-tweepy python3-influxdb python3-openssl openssl
    podman mmdebstrap
)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
command -v kubectl >/dev/null || missing+=(kubernetes-client)
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}" >&2
    SUDO=
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The packaged services must not run as system daemons holding the default ports: the tests
# and the demo start their own on free loopback ports.
for svc in influxdb prometheus; do
    if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
        SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
        $SUDO systemctl stop "$svc" || true
    fi
done
# npm packages for the offline manifest and dashboard checks (pinned by package-lock.json).
here=$(cd "$(dirname "$0")" && pwd)
want=$(cd "$here/deploy" && node -p 'require("./package.json").dependencies["@grafana/schema"]' 2>/dev/null || true)
have=$(cd "$here/deploy" && node -p 'require("@grafana/schema/package.json").version' 2>/dev/null || true)
if [ ! -d "$here/deploy/node_modules/kubernetes-models" ] || [ "$want" != "$have" ]; then
    (cd "$here/deploy" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
