#!/bin/sh
# Lays out the final image's root (FROM scratch) in $1 from the binaries in $2, run in the
# Dockerfile's build stage (Debian 12):
#   - the binaries, stripped, in /usr/local/bin
#   - exactly the shared libraries they load: what ldd resolves for each binary, plus the
#     ones opened at run time (RUNTIME_LIBS) and what those need in turn. The list of
#     run-time ones is checked here: one real signed request (twitter-stats against a closed
#     loopback port) runs with LD_DEBUG=libs and any library it loads that is not in the
#     root fails the build. tests/integration/test_image.sh checks every binary the same way
#     inside the built image.
#   - the CA bundle, /etc/passwd and /etc/group for the non-root user (10001, group 0),
#     /etc/nsswitch.conf, writable /tmp (1777) and /var/lib/cronflux (group 0, 0775)
# Usage: image/rootfs.sh ROOT BINDIR
set -eu
root=$1
bindir=$2
multi=$(gcc -print-multiarch)
# Opened with dlopen, so ldd does not list them: NSS's software token and its crypto core
# (liboauth's HMAC-SHA1 goes through NSS). (libgcc_s, which glibc opens for pthread_exit and
# pthread_cancel, is not needed: no code calls them.)
RUNTIME_LIBS="libsoftokn3.so libfreeblpriv3.so"

mkdir -p "$root/usr/local/bin" "$root/usr/lib/$multi" "$root/usr/lib64" "$root/etc/ssl/certs" \
    "$root/tmp" "$root/var/lib/cronflux" "$root/dev" "$root/proc"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
for b in "$bindir"/*; do
    strip --strip-all -o "$root/usr/local/bin/$(basename "$b")" "$b"
done

# every library a file needs (ldd), as the resolved paths
needs() {
    ldd "$@" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// && $1 !~ /:$/ {print $1}'
}
libs=$(
    needs "$bindir"/*
    for l in $RUNTIME_LIBS; do
        p=/usr/lib/$multi/$l
        [ -e "$p" ] || { echo "rootfs.sh: $p does not exist" >&2; exit 1; }
        echo "$p"
        needs "$p"
    done
)
for p in $(printf '%s\n' $libs | sort -u); do
    name=$(basename "$p")
    case "$p" in
        # the interpreter, at the path the binaries name (/lib64 or /lib, merged into /usr)
        */ld-linux*) cp -L "$p" "$root/usr${p#/usr}" ;;
        *) cp -L "$p" "$root/usr/lib/$multi/$name" ;;
    esac
done

cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\ncronflux:x:10001:0:cronflux:/tmp:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\ncronflux:x:10001:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
chmod 1777 "$root/tmp"
chgrp 0 "$root/var/lib/cronflux"
chmod 0775 "$root/var/lib/cronflux"

# The run-time check: a signed request loads NSS's token; every library loaded must be in
# the root (at the same path).
state=$(mktemp -d)
LD_DEBUG=libs TWITTER_API_KEY=k TWITTER_API_SECRET=s TWITTER_ACCESS_TOKEN=1-t \
    TWITTER_ACCESS_SECRET=ts TWITTER_API_URL=http://127.0.0.1:1 INFLUXDB_URL=http://127.0.0.1:1 \
    INFLUXDB_DATABASE=x CRONFLUX_STATE="$state/s.db" CRONFLUX_RETRIES=0 \
    "$bindir/twitter-stats" --users probe --retries 0 >/dev/null 2>"$state/ld.log" || true
rm -f "$state/s.db"*
loaded=$(sed -n 's/.*calling init: \(\/.*\)$/\1/p' "$state/ld.log" | sort -u)
rm -rf "$state"
echo "$loaded" | grep -q libsoftokn3 || { echo "rootfs.sh: the signed request did not load NSS's token (LD_DEBUG)" >&2; exit 1; }
missing=
for p in $loaded; do
    [ -e "$root$p" ] || missing="$missing $p"
done
[ -z "$missing" ] || { echo "rootfs.sh: loaded at run time but not in the image:$missing" >&2; exit 1; }
echo "rootfs.sh: $(ls "$root/usr/lib/$multi" | wc -l) libraries, $(du -sk "$root" | cut -f1) KiB"
