#!/usr/bin/env bash
# Makes the base images deploy/Dockerfile starts FROM without an image
# registry: a Debian 12 root made by debootstrap (--variant=minbase, from the
# Debian mirror, the same place scripts/deps.sh installs from), imported
# into the local Docker engine and tagged with every FROM name of the
# Dockerfile (debian:12 and debian:12-slim: one image serves both).
#
#   deploy/base-image.sh            make what is missing (needs root and debootstrap)
#   deploy/base-image.sh --force    import again even if the tags exist
#
# Images already present are kept (a real debian:12 pulled from a registry
# wins). The root is cached as a tarball, so making the images again after
# `docker image prune -a` takes seconds, not a download:
#   ASP_BASE_CACHE     cache folder (default ${XDG_CACHE_HOME:-~/.cache}/aftersales)
#   ASP_DEBIAN_MIRROR  Debian mirror (default http://deb.debian.org/debian)
#   ASP_DEBIAN_SECURITY_MIRROR  (default http://deb.debian.org/debian-security)
# Exit status: 0 the images exist, 1 they could not be made (reason on stderr).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DOCKERFILE="$ROOT/deploy/Dockerfile"
CACHE=${ASP_BASE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aftersales}
MIRROR=${ASP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${ASP_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
SUITE=bookworm
TARBALL="$CACHE/debian-$SUITE-minbase.tar"

say () { printf 'base-image: %s\n' "$*" >&2; }
die () { say "$*"; exit 1; }

force=0
[ "${1:-}" = --force ] && force=1

# Every FROM of the Dockerfile that names an image, not an earlier stage.
stages=$(sed -n 's/^FROM[[:space:]].*[[:space:]][Aa][Ss][[:space:]]\+\([^[:space:]]*\).*/\1/p' "$DOCKERFILE")
tags=()
for image in $(sed -n 's/^FROM[[:space:]]\+\([^[:space:]]*\).*/\1/p' "$DOCKERFILE" | sort -u); do
    grep -qx -- "$image" <<<"$stages" || tags+=("$image")
done
[ ${#tags[@]} -gt 0 ] || die "no FROM image found in $DOCKERFILE"

missing=()
for t in "${tags[@]}"; do
    if [ $force -eq 1 ] || ! docker image inspect "$t" >/dev/null 2>&1; then
        missing+=("$t")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    say "present: ${tags[*]}"
    exit 0
fi

# The root, once: debootstrap into a temporary folder, then a tarball in the
# cache (renamed into place only when complete).
if [ ! -s "$TARBALL" ]; then
    command -v debootstrap >/dev/null || die "debootstrap is not installed (scripts/deps.sh installs it)"
    [ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
    mkdir -p "$CACHE"
    work=$(mktemp -d "$CACHE/root.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    say "debootstrap --variant=minbase $SUITE from $MIRROR (log: $CACHE/debootstrap.log) ..."
    debootstrap --variant=minbase "$SUITE" "$work/root" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
        || die "debootstrap failed: see $CACHE/debootstrap.log"
    # As Debian's own images: the release, its updates and security
    # sources; no package lists or downloaded packages inside the image.
    cat >"$work/root/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY $SUITE-security main
EOF
    rm -rf "$work/root/var/lib/apt/lists/"* "$work/root/var/cache/apt/archives/"*.deb
    tar -C "$work/root" -cf "$work/root.tar" .
    mv "$work/root.tar" "$TARBALL"
    rm -rf "$work"
    trap - EXIT
fi

say "importing $TARBALL as ${missing[*]}"
id=$(docker import --change 'CMD ["bash"]' --message "debootstrap --variant=minbase $SUITE" \
         "$TARBALL") || die "docker import failed"
for t in "${missing[@]}"; do
    docker tag "$id" "$t" || die "docker tag $t failed"
done
say "ready: ${tags[*]}"
