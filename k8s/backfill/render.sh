#!/usr/bin/env bash
# Render a backfill Job (or, with SLICES > 1, an Indexed Job) to stdout.
#   k8s/backfill/render.sh JOB FROM TO [SLICES] [PARALLEL] [IMAGE]
set -euo pipefail
job=${1:?JOB: twitter-stats or prom-metrics}
from=${2:?FROM: RFC 3339, Unix seconds or relative (-30d)}
to=${3:?TO}
slices=${4:-1}
parallel=${5:-2}
image=${6:-ghcr.io/cronflux/cronflux:0.1.0}
here=$(cd "$(dirname "$0")" && pwd)
# Relative times are fixed now, at render time, so every pod of an Indexed Job (and a retried
# pod) reads the same range.
absolute() {
    local t=$1 n unit secs
    case "$t" in
        now) date -u +%Y-%m-%dT%H:%M:%SZ; return ;;
        -[0-9]*[smhdw])
            n=${t:1:${#t}-2}; unit=${t: -1}
            case "$unit" in s) secs=$n ;; m) secs=$((n * 60)) ;; h) secs=$((n * 3600)) ;;
                d) secs=$((n * 86400)) ;; w) secs=$((n * 604800)) ;; esac
            date -u -d "@$(($(date -u +%s) - secs))" +%Y-%m-%dT%H:%M:%SZ; return ;;
    esac
    printf '%s\n' "$t"
}
from=$(absolute "$from")
to=$(absolute "$to")
case "$job" in
    prom-metrics) args="\"--from\", \"$from\", \"--to\", \"$to\", \"--resume\""; sa=cronflux-job; automount=false ;;
    twitter-stats) args="\"--since\", \"$from\", \"--until\", \"$to\""; sa=cronflux-job; automount=false ;;
    *) echo "render.sh: JOB must be twitter-stats or prom-metrics (cluster-metrics has no history to backfill)" >&2; exit 64 ;;
esac
case "$slices" in ''|*[!0-9]*) echo "render.sh: SLICES must be a number" >&2; exit 64 ;; esac
name="$job-backfill-$(date -u +%Y%m%d%H%M%S)"
tmpl=$here/job.yaml.in
[ "$slices" -gt 1 ] && tmpl=$here/indexed-job.yaml.in
sed -e "s|@JOB@|$job|g" -e "s|@NAME@|$name|g" -e "s|@ARGS@|$args|g" -e "s|@SA@|$sa|g" \
    -e "s|@AUTOMOUNT@|$automount|g" -e "s|@IMAGE@|$image|g" -e "s|@SLICES@|$slices|g" \
    -e "s|@PARALLEL@|$parallel|g" "$tmpl"
