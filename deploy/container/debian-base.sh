#!/bin/sh
# A Python 3.11 base image made of Debian packages (bookworm), for machines that reach no
# container registry: debootstrap, then `podman import`. The root filesystem tarball is cached
# (CACHE_DIR, by default a per-user directory, so every clone on the machine shares it), so
# debootstrap runs once per machine and per version of this script; the import takes seconds.
# Tag and tarball carry a digest of this script: a changed recipe never reuses an old base.
#
#   deploy/container/debian-base.sh IMAGE_REPOSITORY [CACHE_DIR]   (prints the tag it made)
#
# Needs root and the debootstrap package. MIRROR overrides debootstrap's default Debian mirror.
#
# What the operator never runs is taken out, through dpkg so its database (which image scanners
# read) stays true: perl (git depends on it for scripts like git-svn and send-email; the operator
# runs `git rev-parse` and `git log`, which are built in) and apt (no package is installed at run
# time). Then files: git's server and mail programs (daemon, http-backend, http-push, imap-send,
# shell, scalar) and the second copy of the git binary, glibc's iconv charset modules (UTF-8 is built in), lib2to3 and pydoc's topics,
# documentation, manuals, locales.
set -eu
repository=${1:?usage: debian-base.sh IMAGE_REPOSITORY [CACHE_DIR]}
cache=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/tuning-operator}
engine=${ENGINE:-podman}
packages=python3,python3-venv,python-is-python3,git,ca-certificates
recipe=$(sha256sum "$0" | cut -c1-12)
tag="$repository:bookworm-$recipe"
tarball="$cache/debian-bookworm-python3-$recipe.tar"

if [ ! -s "$tarball" ]; then
    mkdir -p "$cache"
    root=$(mktemp -d)
    trap 'rm -rf "$root" "$tarball.$$"' EXIT
    echo "debootstrap bookworm ($packages) into $root" >&2
    # shellcheck disable=SC2086
    debootstrap --variant=minbase --include="$packages" bookworm "$root" ${MIRROR:-} >&2
    chroot "$root" dpkg --purge --force-depends perl libperl5.36 perl-modules-5.36 liberror-perl \
        apt libapt-pkg6.0 >&2
    rm -rf "$root"/var/cache/apt "$root"/var/lib/apt "$root"/tmp/* \
        "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/* \
        "$root"/usr/share/info/* "$root"/usr/share/lintian "$root"/usr/share/gitweb \
        "$root"/usr/lib/git-core/git-daemon "$root"/usr/lib/git-core/git-http-backend \
        "$root"/usr/lib/git-core/git-http-push "$root"/usr/lib/git-core/git-imap-send \
        "$root"/usr/lib/git-core/git-shell "$root"/usr/bin/git-shell \
        "$root"/usr/lib/git-core/scalar "$root"/usr/bin/scalar \
        "$root"/usr/lib/x86_64-linux-gnu/gconv \
        "$root"/usr/lib/python3.11/lib2to3 "$root"/usr/lib/python3.11/pydoc_data
    # git's own copy of itself in git-core is the same file as /usr/bin/git: one copy.
    if cmp -s "$root"/usr/bin/git "$root"/usr/lib/git-core/git; then
        ln -f "$root"/usr/bin/git "$root"/usr/lib/git-core/git
    fi
    tar --numeric-owner -C "$root" -cf "$tarball.$$" .
    mv "$tarball.$$" "$tarball"
fi
if ! $engine image inspect "$tag" >/dev/null 2>&1; then
    $engine import --change 'CMD ["/bin/bash"]' "$tarball" "$tag" >&2
fi
echo "$tag"
