#!/usr/bin/env bash
# make image / make push / make image-tag (see the Makefile):
#   image/build.sh build IMAGE VERSION          build IMAGE:VERSION from the Dockerfile
#   image/build.sh push IMAGE VERSION           push it
#   image/build.sh tag-manifests IMAGE VERSION  name it in k8s/base/kustomization.yaml
# The tool is $CONTAINER when set, else docker when its daemon answers, else podman. podman
# builds with --isolation=chroot (it works where podman's default runtime cannot start
# containers, as in CI here); set BUILD_FLAGS to pass others to the build.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:?build, push or tag-manifests}
image=${2:?IMAGE}
version=${3:?VERSION}
case "$version" in
    *[!0-9A-Za-z._-]* | '') echo "image/build.sh: VERSION '$version' is not a tag (letters, digits, . _ -)" >&2; exit 64 ;;
esac
tool() {
    if [ -n "${CONTAINER:-}" ]; then echo "$CONTAINER"
    elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then echo docker
    elif command -v podman >/dev/null 2>&1; then echo podman
    else echo "image/build.sh: neither a running docker nor podman (set CONTAINER=)" >&2; exit 69
    fi
}
case "$what" in
    build)
        t=$(tool)
        flags=${BUILD_FLAGS-}
        if [ -z "${BUILD_FLAGS+set}" ] && [ "$(basename "$t")" = podman ]; then
            flags="--isolation=chroot --network=host"
        fi
        rev=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
        git diff --quiet HEAD 2>/dev/null || rev="$rev-dirty"
        # shellcheck disable=SC2086
        "$t" build $flags -t "$image:$version" \
            --build-arg VERSION="$version" --build-arg REVISION="$rev" \
            --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
            --build-arg SOURCE="${SOURCE:-}" .
        echo "image/build.sh: built $image:$version with $t"
        ;;
    push)
        t=$(tool)
        "$t" push "$image:$version"
        ;;
    tag-manifests)
        k=k8s/base/kustomization.yaml
        # the images: entry named cronflux is the one place the manifests name the image
        awk -v img="$image" -v ver="$version" '
            /^images:/ { inimg = 1 }
            inimg && /- name: cronflux$/ { mine = 1 }
            mine && /newName:/ { sub(/newName:.*/, "newName: " img) }
            mine && /newTag:/ { sub(/newTag:.*/, "newTag: \"" ver "\""); mine = 0 }
            { print }' "$k" >"$k.new" && mv "$k.new" "$k"
        grep -A2 -- '- name: cronflux$' "$k"
        ;;
    *) echo "image/build.sh: $what? (build, push or tag-manifests)" >&2; exit 64 ;;
esac
