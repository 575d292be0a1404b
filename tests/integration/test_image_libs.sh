#!/usr/bin/env bash
# The image's root without an image tool: image/rootfs.sh (what the Dockerfile's build stage
# runs, on the same Debian 12) lays out a root from the binaries built here, and then each
# binary, chrooted into that root alone as a non-root UID, starts and does offline work
# (--version, --help, a dry run, cronflux status on a new state file). So a library missing
# from the list (ldd + the ones opened at run time) shows here in a second, before the slower
# image build of test_image.sh. Also: the Dockerfile's final stage is FROM scratch and takes
# the root only from the build stage.
. "$(dirname "$0")/../lib/common.sh"
[ "$(id -u)" -eq 0 ] || { not_ok "runs as root (chroot)"; finish; }
command -v chroot >/dev/null || { not_ok "chroot is installed"; finish; }
R=$T/root
mkdir -p "$T/bins"
for b in cronflux twitter-stats cluster-metrics prom-metrics; do
    cp "$BIN/$b" "$T/bins/" || { not_ok "binary $b built"; finish; }
done
if sh "$ROOT/image/rootfs.sh" "$R" "$T/bins" >"$T/rootfs.log" 2>&1; then
    ok "image/rootfs.sh lays out the root: $(tail -1 "$T/rootfs.log" | sed 's/^rootfs.sh: //')"
else
    not_ok "image/rootfs.sh: $(tail -3 "$T/rootfs.log" | tr '\n' ' ')"; finish
fi
check "no shell in the root" test ! -e "$R/bin/sh"
check_eq "the root holds 4 binaries" "$(ls "$R/usr/local/bin" | tr '\n' ' ')" "cluster-metrics cronflux prom-metrics twitter-stats "
kb=$(du -sk "$R" | cut -f1)
[ "$kb" -le 31250 ] && ok "the root is ${kb} KiB (<= 32 MB)" || not_ok "the root is ${kb} KiB: more than 32 MB"

uid=$((1000680000 + RANDOM))
chgrp 0 "$R/var/lib/cronflux"
CHROOT=$(command -v chroot)
inroot() { env -i HOME=/tmp CRONFLUX_STATE=/var/lib/cronflux/s.db "$CHROOT" --userspec="$uid:0" "$R" "$@"; }
for b in cronflux twitter-stats cluster-metrics prom-metrics; do
    out=$(inroot "/usr/local/bin/$b" --version 2>&1)
    check_eq "$b --version runs in the root alone as UID $uid" "$out" "$b $(cat "$ROOT/VERSION")"
    inroot "/usr/local/bin/$b" --help >/dev/null 2>&1 && ok "$b --help" || not_ok "$b --help"
done
out=$(echo "cpu,host=a v=1 1700000000000000000" | inroot /usr/local/bin/cronflux push --dry-run 2>/dev/null)
check_eq "cronflux push --dry-run prints the point" "$out" "cpu,host=a v=1 1700000000000000000"
inroot /usr/local/bin/cronflux status >"$T/status.out" 2>&1 &&
    grep -q '^pending: 0 batches' "$T/status.out" && ok "cronflux status on a new state file" ||
    not_ok "cronflux status: $(head -3 "$T/status.out" | tr '\n' ' ')"

# the Dockerfile: built on Debian 12, final stage from scratch, the root only from image/rootfs.sh
df=$ROOT/Dockerfile
check "build stage FROM debian:12-slim" grep -qE '^FROM (docker\.io/library/)?debian:12-slim AS build' "$df"
check_eq "final stage FROM scratch" "$(grep '^FROM ' "$df" | tail -1)" "FROM scratch"
check_eq "the final stage copies only the laid-out root" \
    "$(awk '/^FROM scratch/ {s = 1} s && /^(COPY|ADD|RUN) /' "$df")" "COPY --from=build /rootfs/ /"
check "the build stage runs image/rootfs.sh" grep -q 'image/rootfs.sh /rootfs' "$df"
check "USER is non-root (10001, group 0)" grep -qx 'USER 10001:0' "$df"
finish
