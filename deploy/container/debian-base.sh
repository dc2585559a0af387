#!/bin/sh
# A Python 3.11 base image made of Debian packages (bookworm), for machines that reach no
# container registry: debootstrap, then `podman import`. The root filesystem tarball is cached
# (CACHE_DIR), so debootstrap runs once per machine; the import takes seconds.
#
#   deploy/container/debian-base.sh IMAGE_TAG [CACHE_DIR]
#
# Needs root and the debootstrap package. MIRROR overrides debootstrap's default Debian mirror.
set -eu
tag=${1:?usage: debian-base.sh IMAGE_TAG [CACHE_DIR]}
cache=${2:-.cache/container}
engine=${ENGINE:-podman}
packages=python3,python3-venv,python-is-python3,git,ca-certificates
tarball="$cache/debian-bookworm-python3.tar"

if [ ! -s "$tarball" ]; then
    mkdir -p "$cache"
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    echo "debootstrap bookworm ($packages) into $root" >&2
    # shellcheck disable=SC2086
    debootstrap --variant=minbase --include="$packages" bookworm "$root" ${MIRROR:-} >&2
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/tmp/* \
        "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
    tar --numeric-owner -C "$root" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
fi
if ! $engine image inspect "$tag" >/dev/null 2>&1; then
    $engine import --change 'CMD ["/bin/bash"]' "$tarball" "$tag" >&2
fi
echo "$tag"
