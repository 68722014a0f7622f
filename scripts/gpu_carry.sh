#!/usr/bin/env bash
# Fills .gpu/ (git-ignored) with what scripts/gpu_check.sh needs on a GPU machine that has no
# network: MovieLens-1M, GoogleTest's sources, nlohmann-json's headers, Boost.Program_options'
# sources (those machines have Boost's headers but not its compiled libraries) and the Python
# reference; with
# MLREC_BASELINE_REV, that commit's sources in .gpu/baseline (gpu_check.sh's "before" runs with
# MLREC_GPU_BASELINE_SRC=.gpu/baseline). Run it here, then carry .gpu to the device:
#   [MLREC_BASELINE_REV=REV] scripts/gpu_carry.sh DATA_DIR [REFERENCE_PY] [BOOST_VERSION]
#   (device) MLREC_GTEST_SOURCE_DIR=$PWD/.gpu/googletest \
#            MLREC_BOOST_PO_SOURCE_DIR=$PWD/.gpu/boost-program-options/src \
#            scripts/gpu_check.sh .gpu/data/ml-1m $OUT 560 .gpu/reference/seed_reference.py
# BOOST_VERSION must be the version of the device's Boost headers (1.83 on the Ubuntu 24.04
# image seen so far); its sources come from Debian's archive (the boostX.YY source package).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="${1:?usage: gpu_carry.sh DATA_DIR [REFERENCE_PY] [BOOST_VERSION]}"
reference="${2:-$ROOT/../shared/reference/seed_reference.py}"
boost="${3:-1.83}"
carry="$ROOT/.gpu"

for f in movies.dat ratings.dat users.dat; do
  [ -f "$data/$f" ] || { echo "gpu_carry: $data/$f: missing (DATA_DIR must hold MovieLens-1M)" >&2; exit 2; }
done
mkdir -p "$carry/data/ml-1m" "$carry/reference"
cp "$data"/{movies,ratings,users}.dat "$carry/data/ml-1m/"
if [ -f "$reference" ]; then
  cp "$reference" "$carry/reference/"
elif [ -n "${2:-}" ]; then
  # Named and missing: gpu_check.sh would skip the reference stages without a word.
  echo "gpu_carry: $reference: missing (REFERENCE_PY)" >&2
  exit 2
fi
[ -d "$carry/googletest" ] || cp -r /usr/src/googletest "$carry/googletest"
# nlohmann-json's headers (header-only; CMake looks in .gpu/nlohmann-json/include when the
# package is not installed there).
[ -d "$carry/nlohmann-json/include/nlohmann" ] || { mkdir -p "$carry/nlohmann-json/include" &&
  cp -r /usr/include/nlohmann "$carry/nlohmann-json/include/"; }
if [ -n "${MLREC_BASELINE_REV:-}" ]; then
  rm -rf "$carry/baseline" && mkdir -p "$carry/baseline"
  git -C "$ROOT" archive "$MLREC_BASELINE_REV" | tar x -C "$carry/baseline"
  echo "gpu_carry: $(git -C "$ROOT" rev-parse --short "$MLREC_BASELINE_REV") in $carry/baseline"
fi

if [ ! -f "$carry/boost-program-options/src/cmdline.cpp" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  tarball="boost${boost}_${boost}.0.orig.tar.xz"
  curl -fsSL -o "$tmp/$tarball" "https://deb.debian.org/debian/pool/main/b/boost${boost}/$tarball"
  tar xJf "$tmp/$tarball" -C "$tmp" --wildcards '*/libs/program_options/src/*'
  mkdir -p "$carry/boost-program-options"
  cp -r "$tmp"/*/libs/program_options/src "$carry/boost-program-options/"
fi
du -sh "$carry"
