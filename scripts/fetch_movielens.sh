#!/usr/bin/env bash
# Downloads a MovieLens release from GroupLens, verifies its checksum and unpacks it.
#   scripts/fetch_movielens.sh RELEASE [DEST]     RELEASE: ml-1m | ml-100k | ml-latest-small | ml-20m | ml-25m
# The release lands in DEST/RELEASE (DEST defaults to data/ in the checkout). MovieLens may not be
# redistributed: never commit what this fetches (data/ is git-ignored).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
release="${1:?usage: fetch_movielens.sh ml-1m|ml-100k|ml-latest-small|ml-20m|ml-25m [DEST]}"
dest="${2:-$ROOT/data}"
base="https://files.grouplens.org/datasets/movielens"
# Published MD5s of the zips we know; for the others GroupLens' own .md5 file is checked.
case "$release" in
  ml-1m) md5="c4d9eecfca2ab87c1945afe126590906" ;;
  ml-100k) md5="0e33842e24a9c977be4e0107933c0723" ;;
  ml-latest-small|ml-20m|ml-25m) md5="" ;;
  *) echo "fetch_movielens: unknown release '$release'" >&2; exit 2 ;;
esac
# The release is there when its ratings file is (an empty or half-written folder is not it).
if [ -f "$dest/$release/ratings.dat" ] || [ -f "$dest/$release/ratings.csv" ] || [ -f "$dest/$release/u.data" ]; then
  echo "fetch_movielens: $dest/$release already exists"
  exit 0
fi
if [ -e "$dest/$release" ] && [ -n "$(ls -A "$dest/$release" 2>/dev/null)" ]; then
  echo "fetch_movielens: $dest/$release exists but holds no ratings file: remove it and run again" >&2
  exit 2
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "fetch_movielens: downloading $base/$release.zip"
curl -fsSL --connect-timeout 15 --max-time "${MLREC_FETCH_TIMEOUT:-600}" -o "$tmp/$release.zip" "$base/$release.zip"
if [ -z "$md5" ]; then
  curl -fsSL --connect-timeout 15 --max-time 60 -o "$tmp/$release.zip.md5" "$base/$release.zip.md5"
  md5="$(grep -oE '[0-9a-f]{32}' "$tmp/$release.zip.md5" | head -1)"
fi
actual="$(md5sum "$tmp/$release.zip" | cut -d' ' -f1)"
if [ "$actual" != "$md5" ]; then
  echo "fetch_movielens: checksum mismatch for $release.zip (expected $md5, got $actual)" >&2
  exit 1
fi
mkdir -p "$dest"
unzip -q "$tmp/$release.zip" -d "$tmp/unpacked"
rmdir "$dest/$release" 2>/dev/null || true  # an empty folder of that name: mv would move the release into it
mv "$tmp/unpacked/$release" "$dest/$release"
echo "fetch_movielens: $release verified and unpacked into $dest/$release"
