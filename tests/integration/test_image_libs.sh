#!/usr/bin/env bash
# The image cannot be built here (no Docker engine), so check what it would need: every
# shared library each binary loads (ldd) must come from a package the Dockerfile's run stage
# installs, or from one of their dependencies (what apt would pull in), and every library a
# binary names directly (DT_NEEDED) from a package listed by name.
. "$(dirname "$0")/../lib/common.sh"
pkgs=$(awk '/^FROM / {n++} n == 2 && /apt-get install/ {grab=1; next}
            grab { if ($0 ~ /rm -rf/) {grab=0; next}; gsub(/\\|&&/, ""); for (i = 1; i <= NF; i++) print $i }' \
       "$ROOT/Dockerfile" | grep -v '^-' | sort -u)
check "Dockerfile run stage lists its packages" test -n "$pkgs"
echo "# run-stage packages: $(echo $pkgs)"
# what apt pulls in with them (installed here: same Debian release), plus the base image's libc
closure=$( { echo "$pkgs"; for p in $pkgs; do apt-cache depends --recurse --installed --no-recommends \
    --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances "$p" 2>/dev/null |
    grep -v '^ ' ; done; echo libc6; echo libgcc-s1; } | sed 's/:.*//' | sort -u)
# The package that owns a library file. Debian 12 is merged-/usr but dpkg may have recorded
# either spelling (/lib/... or /usr/lib/...), so ask for each, resolved and as named.
owner() {
    local p c
    for p in "$1" "$(readlink -f "$1")"; do
        for c in "$p" "${p#/usr}" "/usr$p"; do
            dpkg -S "$c" 2>/dev/null | head -1 | cut -d: -f1 | grep . && return 0
        done
    done
    return 1
}
bins=$(ls "$BIN"/* 2>/dev/null)
check "binaries built" test -n "$bins"
for b in $bins; do
    name=$(basename "$b")
    missing=""
    while read -r lib path; do
        [ -z "$path" ] && continue
        pkg=$(owner "$path")
        if ! grep -qx "$pkg" <<<"$closure"; then missing="$missing $lib($pkg)"; fi
    done < <(ldd "$b" | awk '/=>/ && $3 ~ /^\// {print $1, $3}')
    if [ -z "$missing" ]; then ok "$name: every library ldd resolves comes with the run stage's packages"
    else not_ok "$name: libraries not installed by the Dockerfile:$missing"; fi
    direct_missing=""
    for lib in $(readelf -d "$b" | awk -F'[][]' '/NEEDED/ {print $2}'); do
        path=$(ldd "$b" | awk -v l="$lib" '$1 == l {print $3}')
        pkg=$(owner "$path")
        case "$lib" in libc.so.*|libm.so.*|ld-linux*) continue ;; esac
        grep -qx "$pkg" <<<"$pkgs" || direct_missing="$direct_missing $lib($pkg)"
    done
    if [ -z "$direct_missing" ]; then ok "$name: each library it links directly is a package the Dockerfile names"
    else not_ok "$name: linked directly but not named in the Dockerfile:$direct_missing"; fi
done
finish
