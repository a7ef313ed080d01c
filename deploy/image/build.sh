#!/bin/sh
# make image: a reproducible OCI image of harden, built here from Debian packages and the
# wheels of this checkout (no registry but PyPI and the host's Debian mirror).
#   build.sh PYTHON TAG
# 1. wheels: this checkout and its dependencies at the versions of constraints.txt
#    (python-prctl is compiled here, without debug information; wheels carry
#    SOURCE_DATE_EPOCH as their timestamps);
# 2. mmdebstrap: Debian bookworm with python3 and the C libraries harden loads (libseccomp,
#    libcap), harden installed into /opt/harden from those wheels only, bytecode compiled
#    with unchecked hashes (no timestamps), every mtime clamped to SOURCE_DATE_EPOCH;
# 3. archive.py: the tarball as a Docker image archive with a fixed creation time, loaded
#    with `docker load`. The same commit, constraints and Debian packages give the same
#    image ID (printed); SOURCE_DATE_EPOCH is the commit's time.
set -eu
python=$1
tag=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct)}
export SOURCE_DATE_EPOCH
version=$("$python" -c 'import harden; print(harden.__version__)')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# -g0: no debug information, which would hold pip's random build directory (python-prctl
# is compiled here; with it, two builds of its wheel differed in those bytes alone)
CFLAGS="${CFLAGS:-} -g0" "$python" -m pip wheel --quiet --disable-pip-version-check --no-cache-dir \
  -c "$here/constraints.txt" -w "$work/wheels" "$root" 2>&1 \
  | { grep -v "^WARNING: Location 'file:" || true; }
ls "$work"/wheels/harden_containers-*.whl >/dev/null  # the wheels were built (sh has no pipefail)
set -- --variant=apt --mode=root --format=tar \
  --include=python3,python3-venv,libseccomp2,libcap2 \
  --customize-hook="mkdir -p \"\$1/tmp/wheels\"" \
  --customize-hook="copy-in $(cd "$work/wheels" && echo *.whl | sed "s|\([^ ]*\)|$work/wheels/\1|g") /tmp/wheels" \
  --customize-hook='chroot "$1" python3 -m venv /opt/harden' \
  --customize-hook='chroot "$1" /opt/harden/bin/pip install --quiet --no-index --no-compile --find-links /tmp/wheels harden-containers' \
  --customize-hook='chroot "$1" /opt/harden/bin/python -m compileall -q --invalidation-mode unchecked-hash /opt/harden' \
  --customize-hook='rm -rf "$1/tmp/wheels" "$1/root/.cache" && ln -s /opt/harden/bin/harden "$1/usr/local/bin/harden"' \
  --customize-hook='rm -f "$1/etc/machine-id" "$1/var/cache/ldconfig/aux-cache" && find "$1/var/log" -type f -delete'
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  mmdebstrap --quiet "$@" bookworm "$work/rootfs.tar" - < /etc/apt/sources.list.d/debian.sources
else
  mmdebstrap --quiet "$@" bookworm "$work/rootfs.tar"
fi
"$python" "$here/archive.py" "$work/rootfs.tar" "$work/image.tar" "$tag" "$version" "$SOURCE_DATE_EPOCH" > "$work/id"
docker load --quiet < "$work/image.tar" >/dev/null
echo "$tag $(cat "$work/id")"
