#!/usr/bin/env bash
# Render a backfill Job (or, with SLICES > 1, an Indexed Job) to stdout:
#   k8s/backfill/render.sh JOB FROM [TO] [SLICES] [PARALLEL]
# JOB: prom-metrics or twitter-stats. FROM, TO: RFC 3339 UTC (2026-10-01T00:00:00Z), a date
# (2026-10-01, midnight UTC), Unix seconds, relative (-30d, -12h; s m h d w) or now; TO
# defaults to now. Relative times are fixed here, at render time, so every pod (and a
# restarted one) reads the same range. The image is the one k8s/base/kustomization.yaml names
# (make image-tag); IMAGE= overrides it, NAMESPACE= the namespace (cronflux); OPENSHIFT=1
# leaves fsGroup out (restricted-v2 assigns it).
# Works with GNU and BSD date (macOS). The Jobs need Kubernetes >= 1.21, Indexed ones >= 1.24.
# Exit 64 on a bad argument, with a one-line reason.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
die() { echo "render.sh: $*" >&2; exit 64; }
job=${1:-}
from=${2:-}
to=${3:-now}
slices=${4:-1}
parallel=${5:-2}
[ -n "$job" ] || die "JOB is missing: make backfill JOB=prom-metrics|twitter-stats FROM=... [TO=...]"
[ -n "$from" ] || die "FROM is missing: e.g. FROM=-30d or FROM=2026-10-01T00:00:00Z"
[ -n "$to" ] || to=now
case "$slices" in '' | *[!0-9]* | 0) die "SLICES must be a number >= 1 (got '$slices')" ;; esac
case "$parallel" in '' | *[!0-9]* | 0) die "PARALLEL must be a number >= 1 (got '$parallel')" ;; esac

# the image the manifests use: the images: entry "cronflux" of k8s/base/kustomization.yaml
image=${IMAGE:-$(awk '/^images:/ {i = 1} i && /- name: cronflux$/ {m = 1}
    m && /newName:/ {n = $2} m && /newTag:/ {t = $2; gsub(/"/, "", t); print n ":" t; exit}' \
    "$here/../base/kustomization.yaml")}
case "$image" in *:?*) ;; *) die "no image found in k8s/base/kustomization.yaml (images: - name: cronflux, newName, newTag)" ;; esac
ns=${NAMESPACE:-cronflux}

now_s=$(date -u +%s)
# epoch seconds -> RFC 3339 UTC, GNU date or BSD date
fmt() {
    date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -r "$1" +%Y-%m-%dT%H:%M:%SZ
}
# what: FROM or TO; t: as given. Prints RFC 3339 UTC.
absolute() {
    local what=$1 t=$2 n unit secs
    case "$t" in
        now) fmt "$now_s" ;;
        -[0-9]*[smhdw])
            n=${t:1:${#t}-2}; unit=${t: -1}
            case "$n" in *[!0-9]*) die "$what=$t: a relative time is -N followed by s, m, h, d or w" ;; esac
            case "$unit" in s) secs=$n ;; m) secs=$((n * 60)) ;; h) secs=$((n * 3600)) ;;
                d) secs=$((n * 86400)) ;; w) secs=$((n * 604800)) ;; esac
            fmt $((now_s - secs)) ;;
        [0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9])
            echo "${t}T00:00:00Z" ;;
        [0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]Z)
            echo "$t" ;;
        *[!0-9]* | '')
            die "$what=$t: give RFC 3339 UTC (2026-10-01T00:00:00Z), a date (2026-10-01), Unix seconds, -30d or now" ;;
        *) fmt "$t" ;;
    esac
}
# month 01-12, day 01-31, hour 00-23, second 00-60 (a leap second)
check_fields() {
    local what=$1 t=$2
    [ "${#t}" -eq 20 ] || return 0
    if ((10#${t:5:2} < 1 || 10#${t:5:2} > 12 || 10#${t:8:2} < 1 || 10#${t:8:2} > 31 || 10#${t:11:2} > 23)); then
        die "$what=$t: not a date and time"
    fi
}
from_abs=$(absolute FROM "$from")
to_abs=$(absolute TO "$to")
check_fields FROM "$from_abs"
check_fields TO "$to_abs"
# RFC 3339 UTC of one width: string order is time order
[[ "$from_abs" < "$to_abs" ]] || die "FROM ($from_abs) must be before TO ($to_abs)"
now_abs=$(fmt "$now_s")
[[ "$from_abs" < "$now_abs" ]] || die "FROM ($from_abs) is in the future"

case "$job" in
    prom-metrics) args="\"--from\", \"$from_abs\", \"--to\", \"$to_abs\", \"--resume\"" ;;
    twitter-stats) args="\"--since\", \"$from_abs\", \"--until\", \"$to_abs\"" ;;
    cluster-metrics) die "cluster-metrics has no history to backfill (the API knows only now)" ;;
    *) die "JOB must be prom-metrics or twitter-stats (got '$job')" ;;
esac
name="$job-backfill-$(date -u +%Y%m%d%H%M%S)"
tmpl=$here/job.yaml.in
[ "$slices" -gt 1 ] && tmpl=$here/indexed-job.yaml.in
echo "render.sh: $name: $job from $from_abs to $to_abs, image $image$([ "$slices" -gt 1 ] && echo ", $slices slices (Kubernetes >= 1.24)" || echo " (Kubernetes >= 1.21)")" >&2
sed -e "s|@JOB@|$job|g" -e "s|@NAME@|$name|g" -e "s|@ARGS@|$args|g" -e "s|@SA@|cronflux-job|g" \
    -e "s|@AUTOMOUNT@|false|g" -e "s|@IMAGE@|$image|g" -e "s|@SLICES@|$slices|g" \
    -e "s|@PARALLEL@|$parallel|g" -e "s|@NAMESPACE@|$ns|g" "$tmpl" |
    if [ "${OPENSHIFT:-0}" = 1 ]; then sed -e '/fsGroup: /d' -e '/fsGroupChangePolicy: /d'; else cat; fi
