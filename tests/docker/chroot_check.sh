#!/usr/bin/env bash
# Builds the Dockerfile's two stages without Docker, in clean Debian 12 chroots made with
# debootstrap (the closest thing to debian:12-slim available here), using exactly the package
# sets the Dockerfile installs:
#   1. build chroot: scripts/deps --install build, then scripts/build as in the Dockerfile;
#   2. runtime chroot: scripts/deps --install runtime fonts, the binary copied in, then
#      `craftkit version` and an offline `craftkit render` of the golden invoice to PDF, which
#      loads every library and font the server needs.
# Needs root and the Debian mirror apt uses; a few minutes on first use (the chroots are kept in
# WORKDIR and reused). Run by CTest as docker.chroot: tests/docker/chroot_check.sh [WORKDIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="${1:-/var/tmp/craftkit-chroot-check}"
# The mirror apt is set up with (deb822 or one-line sources), unless DEBIAN_MIRROR says otherwise.
default_mirror="$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)"
[[ -n "$default_mirror" ]] || default_mirror="$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)"
mirror="${DEBIAN_MIRROR:-${default_mirror:-http://deb.debian.org/debian}}"
[[ $(id -u) -eq 0 ]] || { echo "chroot_check: needs root" >&2; exit 2; }
command -v debootstrap >/dev/null || { apt-get update -qq; apt-get install -y -qq debootstrap >/dev/null; }

make_chroot() { # DIR
  if [[ ! -f "$1/.ready" ]]; then
    rm -rf "$1"
    debootstrap --variant=minbase bookworm "$1" "$mirror" >"$1.log" 2>&1 || { tail -20 "$1.log"; exit 1; }
    touch "$1/.ready"
  fi
}
# Unmounts whatever is mounted under DIR (innermost first).
unmount_under() { # DIR
  local m
  for m in $(awk -v d="$1/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
}
# /proc is unmounted again however the command ends (set -e would skip a RETURN trap, and
# mounts stacked up run after run).
in_chroot() { # DIR CMD...
  local dir="$1" rc=0; shift
  mountpoint -q "$dir/proc" || mount --bind /proc "$dir/proc"
  chroot "$dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive "$@" || rc=$?
  umount "$dir/proc" 2>/dev/null || true
  return $rc
}

mkdir -p "$work"
# One run at a time per WORKDIR: two runs installing into the same chroot interrupt each
# other's dpkg (seen when several checkouts ran their suites at once).
exec 8>"$work/.lock"
flock 8
unmount_under "$work" # left by runs killed before this fix
# A run killed mid-install leaves dpkg half-configured or a package half-unpacked: finish what
# dpkg can, and start over from a fresh chroot when it still reports a broken package.
for d in "$work/build" "$work/runtime"; do
  [[ -f "$d/.ready" ]] || continue
  in_chroot "$d" dpkg --configure -a >/dev/null 2>&1 || true
  if [[ -n "$(in_chroot "$d" dpkg --audit 2>&1)" ]]; then
    echo "chroot_check: $d has broken packages (an interrupted run); making it again"
    unmount_under "$d"
    awk -v d="$d/" 'index($2, d) == 1 {exit 1}' /proc/mounts || { echo "chroot_check: $d still has mounts" >&2; exit 1; }
    rm -rf "$d"
  fi
done
echo "== build stage"
make_chroot "$work/build"
rm -rf "$work/build/src" && mkdir -p "$work/build/src"
(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work/build/src")
in_chroot "$work/build" /bin/sh -c 'cd /src && scripts/deps --install build && CMAKE_BUILD_TYPE=Release CRAFTKIT_BUILD_TARGET=craftkit scripts/build /src/build/docker -DCRAFTKIT_TESTS=OFF -DWERROR=OFF >/dev/null && strip /src/build/docker/craftkit'
echo "== runtime stage"
make_chroot "$work/runtime"
cp "$root/scripts/deps" "$work/runtime/tmp/deps"
in_chroot "$work/runtime" /tmp/deps --install runtime fonts
cp "$work/build/src/build/docker/craftkit" "$work/runtime/usr/local/bin/craftkit"
mkdir -p "$work/runtime/tmp/golden"
cp "$root"/tests/golden/invoice/{layout.json,manifest.json,data.json} "$work/runtime/tmp/golden/"
in_chroot "$work/runtime" /usr/local/bin/craftkit version
in_chroot "$work/runtime" /usr/local/bin/craftkit render --layout /tmp/golden/layout.json \
  --manifest /tmp/golden/manifest.json --data /tmp/golden/data.json -o /tmp/golden/out.pdf
head -c 5 "$work/runtime/tmp/golden/out.pdf" | grep -q '%PDF-' || { echo "chroot_check: no PDF" >&2; exit 1; }
echo "chroot_check: both stages work with exactly the scripts/deps package sets"
