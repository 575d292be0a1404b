#!/usr/bin/env bash
# The image, built for real and run: `make image` (podman, chroot isolation) on a debian:12-slim
# base made from Debian's packages (mmdebstrap, cached in $CF_IMAGE_CACHE, default
# ~/.cache/cronflux), then every binary runs inside the image's root as an arbitrary UID
# (group 0, as OpenShift assigns) on a read-only root, with only /tmp (tmpfs), the state
# volume (/var/lib/cronflux) and /dev as a pod has them writable or present, and does its
# real work against the same local stack as the dashboards test (tests/lib/stack.sh): each
# job once, cronflux push, an InfluxDB outage and the run after it; cluster-metrics also the
# way it runs in a pod (KUBERNETES_SERVICE_HOST and the service account's files). Checked:
#  - the image: FROM scratch (no shell, no package manager), <= 32 MB, non-root USER, OCI
#    labels, the version of the VERSION file;
#  - each run's exit code; the points in InfluxDB; the state file on the volume;
#  - exactly the libraries loaded (LD_DEBUG=libs over every run) are in the image;
#  - the root is read-only (a state file outside the volume cannot be created: exit 73) and
#    the image's CA bundle is what verifies TLS (a private CA is refused without its file).
# Prints the image's size and how long the build took.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/stack.sh"
STACK_PREFIX='# '
MAX_BYTES=$((32 * 1000 * 1000))
for tool in podman mmdebstrap unshare chroot; do
    command -v "$tool" >/dev/null || { not_ok "$tool is installed (tests/deps.sh)"; finish; }
done
[ "$(id -u)" -eq 0 ] || { not_ok "runs as root (podman image mount, mount namespaces)"; finish; }
case "$T" in /tmp/*) ;; *) not_ok "the temp dir is under /tmp (it is bound into the image's /tmp)"; finish ;; esac

# ---- the base image: debian:12-slim from Debian's packages, the tar cached -----------------------
BASE=docker.io/library/debian:12-slim
CACHE=${CF_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cronflux}
t0=$(date +%s)
if ! podman image exists "$BASE"; then
    mkdir -p "$CACHE"
    if [ ! -f "$CACHE/debian-12-slim.tar" ] || [ ! -s "$CACHE/debian-12-slim.tar" ]; then
        rm -rf "$CACHE/debian-12-slim.tar"
        # --format=tar: mmdebstrap picks the format from the name's extension otherwise, and
        # makes a directory of "*.tar.part"
        rm -rf "$CACHE/debian-12-slim.tar.part"
        nice mmdebstrap --variant=minbase --format=tar bookworm "$CACHE/debian-12-slim.tar.part" \
            >"$T/mmdebstrap.log" 2>&1 &&
            mv "$CACHE/debian-12-slim.tar.part" "$CACHE/debian-12-slim.tar" ||
            { tail -5 "$T/mmdebstrap.log"; not_ok "mmdebstrap makes the debian:12-slim base"; finish; }
    fi
    podman import "$CACHE/debian-12-slim.tar" "$BASE" >"$T/import.log" 2>&1 ||
        { cat "$T/import.log"; not_ok "podman import of the base"; finish; }
fi
t1=$(date +%s)
ok "the debian:12-slim base is there ($((t1 - t0)) s)"

# ---- make image -----------------------------------------------------------------------------------
VERSION=$(cat "$ROOT/VERSION")
IMG=localhost/cronflux-test
TAG=$IMG:$VERSION
if (cd "$ROOT" && CONTAINER=podman nice make -s image IMAGE="$IMG") >"$T/build.log" 2>&1; then
    t2=$(date +%s)
    ok "make image IMAGE=$IMG builds $TAG with podman ($((t2 - t1)) s)"
else
    tail -15 "$T/build.log"
    not_ok "make image IMAGE=$IMG builds $TAG with podman"; finish
fi
grep '^rootfs.sh:' "$T/build.log" | sed 's/^/# /'

size=$(podman image inspect "$TAG" --format '{{.Size}}')
echo "# image size: $size bytes ($((size / 1000 / 1000)) MB)"
[ "$size" -le "$MAX_BYTES" ] && ok "image is $((size / 1000 / 1000)) MB (<= 32 MB)" ||
    not_ok "image is $size bytes: more than 32 MB"
check_eq "one layer (FROM scratch + one COPY)" "$(podman image inspect "$TAG" --format '{{len .RootFS.Layers}}')" 1
check_eq "USER is the non-root 10001, group 0" "$(podman image inspect "$TAG" --format '{{.Config.User}}')" "10001:0"
for l in title description version revision created source; do
    v=$(podman image inspect "$TAG" --format "{{index .Config.Labels \"org.opencontainers.image.$l\"}}")
    [ "$l" = source ] && continue   # empty unless SOURCE= is given
    [ -n "$v" ] && [ "$v" != "<no value>" ] && ok "label org.opencontainers.image.$l ($v)" ||
        not_ok "label org.opencontainers.image.$l is set"
done
check_eq "label version = VERSION" \
    "$(podman image inspect "$TAG" --format '{{index .Config.Labels "org.opencontainers.image.version"}}')" "$VERSION"

MNT=$(podman image mount "$TAG") || { not_ok "podman image mount $TAG"; finish; }
trap 'podman image unmount "$TAG" >/dev/null 2>&1; cleanup' EXIT
for f in bin/sh usr/bin/sh bin/bash usr/bin/apt-get usr/bin/dpkg usr/bin/env; do
    [ -e "$MNT/$f" ] && not_ok "no /$f in the image"
done
ok "no shell, no package manager (sh, bash, apt-get, dpkg, env: none)"
for b in cronflux twitter-stats cluster-metrics prom-metrics; do
    if [ -x "$MNT/usr/local/bin/$b" ] && ! readelf -S "$MNT/usr/local/bin/$b" | grep -q '\.symtab\|\.debug_'; then
        ok "/usr/local/bin/$b is there, stripped"
    else
        not_ok "/usr/local/bin/$b is there, stripped"
    fi
done
check "the CA bundle is there" test -s "$MNT/etc/ssl/certs/ca-certificates.crt"
check "passwd names the user 10001 (group 0)" grep -q '^cronflux:x:10001:0:' "$MNT/etc/passwd"
check_eq "/tmp is 1777" "$(stat -c %a "$MNT/tmp")" 1777
check_eq "/var/lib/cronflux: group 0, group-writable" "$(stat -c '%g %a' "$MNT/var/lib/cronflux")" "0 775"

# ---- every binary inside the image --------------------------------------------------------------
stack_start || { not_ok "the stack starts"; finish; }
RUN_UID=$((1000680000 + RANDOM))
echo "# running as UID $RUN_UID, group 0, root read-only"
STATE=$T/volume   # the state volume (a PVC in a pod)
LDD=$T/ld         # LD_DEBUG=libs output of every run
mkdir -p "$STATE" "$LDD" "$T/root" "$T/imgbin"
chgrp 0 "$STATE" "$LDD" && chmod 0770 "$STATE" "$LDD"
# the stand-ins' CA and token files and the queries are read by the jobs inside, through the
# bind mount of $T: group 0 may read them (as fsGroup makes a pod's mounted files readable)
chgrp -R 0 "$T" && chmod 0750 "$T" && chmod g+rX "$T/k8s-dev" "$T/k8s-recorded" "$T/k8s-token" \
    "$T/k8s-dev/ca.crt" "$T/k8s-recorded/ca.crt"
mkdir -p "$T/sa" && cp "$T/k8s-dev/ca.crt" "$T/sa/ca.crt" && cp "$T/k8s-token" "$T/sa/token" &&
    echo cronflux >"$T/sa/namespace" && chmod 0750 "$T/sa" && chmod 0640 "$T/sa"/*

cat >"$T/inimage.sh" <<'SH'
# inimage.sh NAME ARGS...: in a private mount namespace (unshare -m), the image's root bound
# read-only, a pod's mounts on it, then NAME run as $RUN_UID:0 with the job's environment only.
set -e
name=$1; shift
r=$T/root
mount --bind "$MNT" "$r"
mount -o remount,bind,ro "$r"
mount --rbind /dev "$r/dev"
mount -t proc proc "$r/proc"
mount -t tmpfs -o mode=1777,size=16m tmpfs "$r/tmp"
mount --bind "$STATE" "$r/var/lib/cronflux"
mkdir -p "$r$T"
mount --bind "$T" "$r$T"
mount -o remount,bind,ro "$r$T"
mount --bind "$LDD" "$r$LDD"
# LD_DEBUG is read by the host's chroot too: both write to $LDD/NAME.PID (the same file, the
# job being exec'd by chroot), which reads the same inside and out
umask 000
envs=(HOME=/tmp CRONFLUX_STATE=/var/lib/cronflux/cronflux.db LD_DEBUG=libs LD_DEBUG_OUTPUT=$LDD/$name)
for v in $(compgen -e); do
    case "$v" in
        INFLUXDB_* | TWITTER_* | KUBE_* | KUBERNETES_* | CLUSTER_NAME | PROMETHEUS_* | JOB_COMPLETION_INDEX) ;;
        CRONFLUX_STATE | CRONFLUX_BIN | CRONFLUX_FIXTURES) continue ;;
        CRONFLUX_*) ;;
        *) continue ;;
    esac
    envs+=("$v=${!v}")
done
exec env -i "${envs[@]}" "$CHROOT" --userspec="$RUN_UID:0" "$r" "/usr/local/bin/$name" "$@"
SH
for b in cronflux twitter-stats cluster-metrics prom-metrics; do
    printf '#!/bin/sh\nexec unshare --mount --propagation private /bin/bash %s %s "$@"\n' "$T/inimage.sh" "$b" >"$T/imgbin/$b"
    chmod +x "$T/imgbin/$b"
done
CHROOT=$(command -v chroot)
export T MNT STATE LDD RUN_UID CHROOT
HOST_BIN=$BIN
BIN=$T/imgbin

stack_run_jobs
stack_outage
for l in "${STACK_LABELS[@]}"; do
    check_eq "in the image: $l exits ${STACK_WANT[$l]}" "${STACK_GOT[$l]}" "${STACK_WANT[$l]}"
done
[ "${STACK_OUTAGE_PENDING:-0}" -gt 0 ] && ok "in the image: InfluxDB down, the run's points wait on the volume (${STACK_OUTAGE_PENDING})" ||
    not_ok "in the image: InfluxDB down, the run's points wait on the volume"
check_eq "in the image: the next run delivered them (pending points)" "${STACK_OUTAGE_AFTER:-?}" 0

# what each job wrote is in InfluxDB: the signed X requests, both Kubernetes stand-ins (TLS,
# own CA), Prometheus, cronflux push
for m in twitter_user twitter_post k8s_node k8s_pod prometheus room_temperature web_latency cronflux_job; do
    n=$(influx_scalar "$STACK_DB" "SELECT count(*) FROM \"$m\"" 2>/dev/null)
    [ "${n:-0}" != 0 ] && ok "in the image: points of $m reached InfluxDB ($n)" || not_ok "in the image: points of $m reached InfluxDB"
done
check_eq "cronflux push: the 4 points pushed, as pushed" \
    "$(influx_scalar "$STACK_DB" "SELECT sum(\"celsius\") FROM \"room_temperature\"")" 62.25
st=$(stat -c '%u %g' "$STATE/cronflux.db" 2>/dev/null)
check_eq "the state file is on the volume, owned by the run's UID, group 0" "$st" "$RUN_UID 0"

# cluster-metrics as in a pod: KUBERNETES_SERVICE_HOST/PORT and the service account's
# token and ca.crt (a private CA), no KUBE_API_URL
port=${STACK_K8S_URL_dev##*:}
(unset KUBE_API_URL KUBE_CA_FILE KUBE_TOKEN_FILE
 stack_run cluster-metrics-in-pod 0 KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT="$port" \
     KUBE_SA_DIR="$T/sa" -- cluster-metrics) && ok "in the image: cluster-metrics with the service account's files (TLS, private CA)" ||
    not_ok "in the image: cluster-metrics with the service account's files (TLS, private CA): $(tail -1 "$STACK_LOGS/cluster-metrics-in-pod.err")"

# the CA bundle in the image verifies TLS: the stand-in's private CA is not in it, so without
# its file the request is refused for the certificate (not for a missing bundle)
(unset KUBE_CA_FILE
 stack_run cluster-metrics-no-ca 69 KUBE_API_URL="$STACK_K8S_URL_dev" -- cluster-metrics) >/dev/null
if grep -qiE 'certificate|SSL' "$STACK_LOGS/cluster-metrics-no-ca.err" && ! grep -qiE 'CA (bundle|file).*(No such|cannot)|verify locations' "$STACK_LOGS/cluster-metrics-no-ca.err"; then
    ok "in the image: without the private CA, TLS is refused for the certificate (the image's bundle is read)"
else
    not_ok "in the image: without the private CA, TLS is refused for the certificate: $(tail -1 "$STACK_LOGS/cluster-metrics-no-ca.err")"
fi

# the root is read-only: state anywhere but the volume cannot be created
echo "m v=1i" >"$T/one.lp"
STACK_STDIN=$T/one.lp stack_run readonly-root 73 -- cronflux --state /cronflux.db push >/dev/null
check_eq "the root is read-only: cronflux --state /cronflux.db exits 73" "$STACK_RC" 73

# least privilege as k8s/base/influxdb.yaml sets it up: an InfluxDB with auth, the jobs' user
# with WRITE on the database only, Grafana's with READ only; the jobs need no more
APW=a$RANDOM$RANDOM$RANDOM$RANDOM WPW=w$RANDOM$RANDOM$RANDOM$RANDOM RPW=r$RANDOM$RANDOM$RANDOM$RANDOM
if start_influxd authdb auth; then
    influx_create_admin admin "$APW"
    q_as() { curl -sS -XPOST "$INFLUX_URL/query" -u "$1" --data-urlencode "db=lp" --data-urlencode "q=$2"; }
    for stmt in 'CREATE DATABASE "lp"' "CREATE USER \"writer\" WITH PASSWORD '$WPW'" 'GRANT WRITE ON "lp" TO "writer"' \
        "CREATE USER \"reader\" WITH PASSWORD '$RPW'" 'GRANT READ ON "lp" TO "reader"'; do
        q_as "admin:$APW" "$stmt" >/dev/null
    done
    STACK_STDIN=$T/one.lp stack_run push-write-only 0 INFLUXDB_URL="$INFLUX_URL" INFLUXDB_DATABASE=lp \
        INFLUXDB_USERNAME=writer INFLUXDB_PASSWORD="$WPW" -- cronflux push >/dev/null
    check_eq "in the image: cronflux push with the write-only user (exit 0)" "$STACK_RC" 0
    stack_run cluster-metrics-write-only 0 INFLUXDB_URL="$INFLUX_URL" INFLUXDB_DATABASE=lp INFLUXDB_USERNAME=writer \
        INFLUXDB_PASSWORD="$WPW" -- cluster-metrics >/dev/null
    check_eq "in the image: cluster-metrics with the write-only user (exit 0)" "$STACK_RC" 0
    n=$(q_as "reader:$RPW" 'SELECT count("v") FROM "m"' | "$PY" -c 'import json,sys; s=json.load(sys.stdin)["results"][0].get("series"); print(s[0]["values"][0][1] if s else 0)')
    check_eq "the read-only user reads what the jobs wrote" "$n" 1
    code=$(curl -sS -o /dev/null -w '%{http_code}' -XPOST "$INFLUX_URL/write?db=lp" -u "reader:$RPW" --data-binary 'm v=2i')
    check_eq "the read-only user cannot write (HTTP 403)" "$code" 403
    q_as "writer:$WPW" 'SELECT count("v") FROM "m"' | grep -q 'not authorized' &&
        ok "the write-only user cannot read" || not_ok "the write-only user cannot read"
else
    not_ok "influxd with auth starts"
fi

# exactly the libraries loaded: every one loaded is in the image, every one in the image was loaded
# (each file: chroot's loading, then the job's, which starts with the loader's own init)
loaded=$(for f in "$LDD"/*; do awk '/calling init: .*ld-linux/ { n = 0 } { l[n++] = $0 }
        END { for (i = 0; i < n; i++) print l[i] }' "$f"; done |
    sed -n 's/.*calling init: \(\/.*\)$/\1/p' | xargs -rn1 basename | sort -u)
inimage=$( (ls "$MNT/usr/lib/$(ls "$MNT/usr/lib" | grep -- -linux-)"; ls "$MNT/usr/lib64" 2>/dev/null) | sort -u)
echo "# libraries loaded over all runs: $(echo "$loaded" | wc -l), in the image: $(echo "$inimage" | wc -l)"
check_eq "every library in the image was loaded by a run, and every one loaded is in the image" \
    "$(comm -3 <(echo "$inimage") <(echo "$loaded") | tr -d '\t' | tr '\n' ' ')" ""
grep -q libsoftokn3 <<<"$loaded" && ok "NSS's libsoftokn3 (opened at run time for the OAuth signature) was loaded" ||
    not_ok "NSS's libsoftokn3 was loaded"

BIN=$HOST_BIN
keep_output jobs "$STACK_LOGS"/*
no_secrets "no X credential, bearer token or InfluxDB password in the jobs' output" "$STACK_TW_CK" "$STACK_TW_CS" \
    "$STACK_TW_TK" "$STACK_TW_TS" "$(cat "$STACK_K8S_TOKEN_FILE")" "$WPW" "$RPW" "$APW"
echo "# image test took $(($(date +%s) - t0)) s"
finish
