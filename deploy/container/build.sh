#!/bin/sh
# `make image`: build and tag the operator's image (IMAGE, default localhost/tuning-operator:dev).
#
# 1. A wheelhouse on this machine: the runtime pins (requirements-runtime.txt) and the project's
#    own wheel, with PYTHON's pip (the only step that reads a package index); the compiled
#    modules' debugging symbols stripped (strip-wheels.py, binutils).
# 2. The base: BASE if set (e.g. the official python:3.11-slim-bookworm); otherwise a base made
#    of Debian packages (debian-base.sh, its tarball cached per user in
#    ${XDG_CACHE_HOME:-~/.cache}/tuning-operator, shared by every clone), since these machines
#    reach no container registry.
# 3. podman build (docker where that is what exists), from a context that holds only the wheels
#    and the two scripts that slim the virtualenv (slim-venv.sh, warm-bytecode.py).
set -eu
cd "$(dirname "$0")/../.."
image=${IMAGE:-localhost/tuning-operator:dev}
python=${PYTHON:-python3}
cache=.cache/container
here=deploy/container

if command -v podman >/dev/null; then
    export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/$here/containers.conf}"
    # runc and cgroupfs: crun fails on hosts with hybrid cgroups.
    engine="podman --runtime ${CONTAINER_RUNTIME:-runc} --cgroup-manager cgroupfs"
elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    engine=docker
else
    echo "make image: neither podman nor a running docker found (apt-get install podman runc)" >&2
    exit 2
fi

context="$cache/context"
wheels="$context/wheelhouse"
stamp="$wheels/.pins-$(cat requirements-runtime.txt "$here/strip-wheels.py" | sha256sum | cut -c1-16)"
if [ ! -e "$stamp" ]; then
    rm -rf "$wheels" && mkdir -p "$wheels"
    "$python" -m pip wheel --quiet --disable-pip-version-check --wheel-dir "$wheels" \
        --requirement requirements-runtime.txt
    "$python" "$here/strip-wheels.py" "$wheels"
    touch "$stamp"
fi
cp requirements-runtime.txt "$wheels/requirements.txt"
mkdir -p "$context/build"
cp "$here/slim-venv.sh" "$here/warm-bytecode.py" "$context/build/"
rm -rf "$context/project"
"$python" -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir "$context/project" .

base=${BASE:-}
if [ -z "$base" ]; then
    base=$(ENGINE="$engine" "$here/debian-base.sh" localhost/tuning-operator-base)
fi
$engine build --network=host --build-arg "BASE=$base" \
    --file "$here/Containerfile" --tag "$image" "$context" >&2
echo "$image"
