#!/usr/bin/env bash
# The container path, for real (issue 16): docker/Dockerfile built with podman from a plain
# Debian 12 base made here (docker/make_debian_base.sh; no registry is needed), which proves the
# fresh-machine setup without a CUDA toolkit (the CPU-only build); then a 2-rank mpirun MF
# training inside the image on data mounted from outside, whose metrics must equal the same
# run of this checkout's mlrec_dist on this machine, bit for bit.
#
# The base image and the setup stage (packages and wheels) are kept between runs, as a registry
# pull and a layer cache would be; the image built here is removed at the end. The wheel cache
# (scripts/setup.sh) is mounted into the build, so the ~3 GB of wheels are not downloaded again.
# Prints the build's times and the image's size.
# usage: container_test.sh MLREC_DIST PYTHON
set -uo pipefail
bin="$1"
py="$2"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
podman=("$root/docker/podman.sh")
base="localhost/mlrec-debian:bookworm"
setup_image="localhost/mlrec-setup:debian-bookworm"
image="localhost/mlrec-cpu:test-$$"
work="$(mktemp -d)"
cleanup() {
  "${podman[@]}" rm -f -a --filter "ancestor=$image" >/dev/null 2>&1
  "${podman[@]}" rmi -f "$image" >/dev/null 2>&1
  "${podman[@]}" image prune -f >/dev/null 2>&1   # layers of this build no tagged image uses
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL (container): $*"; for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -30 "$f"; }; done; exit 1; }
seconds() { echo $((SECONDS - $1)); }

command -v podman >/dev/null || fail "podman is not installed (scripts/setup.sh --test-tools installs it)"
# Images left by runs of this test that were killed before their cleanup (their process is gone),
# 800 MB each: their names go here, their layers with the cleanup's prune. The filter lists every
# name of a matching image, so the names are matched again here, and `untag IMAGE NAME` removes
# that one name (`untag IMAGE` alone would strip the base's name from an image tagged as both).
for stale in $("${podman[@]}" images --format '{{.Repository}}:{{.Tag}}' --filter "reference=localhost/mlrec-cpu:test-*"); do
  [[ "$stale" =~ ^localhost/mlrec-cpu:test-([0-9]+)$ ]] || continue
  kill -0 "${BASH_REMATCH[1]}" 2>/dev/null || "${podman[@]}" untag "$stale" "$stale" >/dev/null 2>&1
done
t=$SECONDS
"$root/docker/make_debian_base.sh" "$base" >"$work/base.log" 2>&1 || fail "the Debian base image could not be made"
echo "base image: $(seconds $t) s ($(tail -1 "$work/base.log"))"

cache="${MLREC_CACHE_DIR:-$HOME/.cache/mlrec}"
mkdir -p "$cache"
build=("${podman[@]}" build -f "$root/docker/Dockerfile" -v "$cache:/var/cache/mlrec"
       --build-arg "BASE_IMAGE=$base" --build-arg "RUNTIME_IMAGE=$base"
       --build-arg "MLREC_GIT_COMMIT=$(git -C "$root" describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)")
t=$SECONDS
"${build[@]}" --target setup -t "$setup_image" "$root" >"$work/setup.log" 2>&1 || fail "the setup stage did not build"
echo "setup stage (packages, wheels; cached while scripts/setup.sh is unchanged): $(seconds $t) s"
t=$SECONDS
"${build[@]}" -t "$image" "$root" >"$work/build.log" 2>&1 || fail "the image did not build"
echo "build and runtime stages: $(seconds $t) s"
# Whether the build was the CPU-only one is asked of the image's mlrec_dist (--version, below),
# not of this build's log: where an image of the same tree is still there (a run killed before
# its cleanup, or one running beside this), podman takes the layers from its cache and prints no
# build output. That failed a CI run once, on a correct image.
size=$("${podman[@]}" image inspect --format '{{.Size}}' "$image")
echo "image size: $((size / 1000000)) MB ($image)"

in_image() { "${podman[@]}" run --rm "$@"; }
# Runtime stage: the program and its libraries, no compilers, wheels or build tree.
in_image "$image" sh -c '! command -v g++ && ! command -v cmake && [ ! -e /src ] && mlrec_dist --version' \
  >"$work/contents.log" 2>&1 || fail "the runtime image holds build tools, or mlrec_dist does not start"
echo "in the image: $(tail -1 "$work/contents.log")"
grep -q "CPU-only build" "$work/contents.log" || fail "mlrec_dist --version does not say it is the CPU-only build"
# The CPU-only build refuses what needs CUDA with one configuration error (exit 2), not a crash.
in_image "$image" mlrec_dist --config configs/smoke.yaml --set dist.backend=nccl --set data.dir=/nowhere \
  >"$work/nccl.log" 2>&1
status=$?
[ "$status" -eq 2 ] && grep -q "dist.backend.*needs the CUDA build" "$work/nccl.log" \
  || fail "dist.backend=nccl in the CPU-only build: exit $status, expected 2 naming dist.backend"

"$bin" synth --out "$work/data" --users 240 --movies 90 --seed 5 >/dev/null || fail "synth"
mkdir -p "$work/out"
args=(--config configs/smoke.yaml --set train.threads=1 --set train.log_every_steps=0
      --set train.epochs=2 --set train.max_steps_per_epoch=0 --set train.batch_size=96)
t=$SECONDS
in_image -v "$work/data:/data:ro" -v "$work/out:/out" "$image" \
  mpirun -np 2 --oversubscribe --bind-to none mlrec_dist "${args[@]}" \
  --set data.dir=/data --set output.dir=/out/container >"$work/container.log" 2>&1 \
  || fail "2-rank mpirun training in the container failed"
echo "2-rank training in the container: $(seconds $t) s"
(cd "$root" && "$root/launch/mpirun_local.sh" 2 "$bin" "${args[@]}" \
  --set "data.dir=$work/data" --set "output.dir=$work/out/host") >"$work/host.log" 2>&1 \
  || fail "the same run on this machine failed"
"$py" "$root/tests/e2e/compare_runs.py" exact "$work/out/host" "$work/out/container" \
  || fail "the container's run differs from this machine's"
"$py" - "$work/out/container/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"container run: world_size {s['world_size']}, backend {s['backend']}, valid MAE {s['valid']['mae']:.6f}, RMSE {s['valid']['rmse']:.6f}")
PY
# The image draws plots: librsvg and a font came with the runtime packages (text renders).
in_image -v "$work/out:/out" "$image" mlrec_dist plot /out/container --out /out/curves.png >"$work/plot.log" 2>&1 \
  || fail "plot --out curves.png in the container"
"$bin" plot "$work/out/container" --out "$work/host_curves.png" >/dev/null || fail "plot on this machine"
"$py" "$root/tests/e2e/check_png.py" "$work/out/curves.png" --width 2000 --colour 1f77b4:300 \
  --like "$work/host_curves.png" || fail "the container's plot differs from this machine's"
echo "PASS: image built from plain Debian, 2-rank training inside it equals this machine's run, it plots"
