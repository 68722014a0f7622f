#!/usr/bin/env bash
# Makes a plain Debian 12 base image locally, for machines that reach no container registry
# (CI's): debootstrap --variant=minbase from the Debian mirror this machine's apt uses, imported
# into podman. `podman build --build-arg BASE_IMAGE=<name>` then builds docker/Dockerfile on it.
# usage: docker/make_debian_base.sh [IMAGE_NAME]   (default localhost/mlrec-debian:bookworm)
# An image of that name that exists already is kept (MLREC_REBUILD_BASE=1 makes it again).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
image="${1:-localhost/mlrec-debian:bookworm}"
podman=("$here/podman.sh")
if [ "${MLREC_REBUILD_BASE:-0}" != 1 ] && "${podman[@]}" image exists "$image"; then
  echo "[base] $image exists"
  exit 0
fi
# The first mirror apt is configured with (deb822 .sources or one-line .list), else Debian's CDN.
# (|| true: with no such file grep fails, and under pipefail and set -e the script would end
# there, silently, before the fallbacks.)
mirror="$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -1 || true)"
[ -n "$mirror" ] || mirror="$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}' | head -1 || true)"
mirror="${mirror:-http://deb.debian.org/debian}"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
echo "[base] debootstrap --variant=minbase bookworm from $mirror"
start=$SECONDS
debootstrap --variant=minbase bookworm "$root/rootfs" "$mirror" >"$root/debootstrap.log" 2>&1 || {
  tail -20 "$root/debootstrap.log" >&2
  echo "[base] error: debootstrap failed (log above)" >&2
  exit 1
}
# Security updates as well as the release (apt in the image sees what this machine's apt sees).
cat >"$root/rootfs/etc/apt/sources.list" <<LIST
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
LIST
rm -rf "$root/rootfs/var/cache/apt/archives/"*.deb "$root/rootfs/var/lib/apt/lists/"*
tar -C "$root/rootfs" -c . | "${podman[@]}" import --quiet --change 'CMD ["/bin/bash"]' - "$image" >/dev/null
echo "[base] $image made in $((SECONDS - start)) s"
