#!/usr/bin/env bash
# Installs everything mlrec needs to build and run, on a fresh Debian 12 (or Ubuntu 24.04)
# machine. Idempotent: on a ready machine it checks and returns in seconds.
#
#   Debian packages  compilers, CMake, Ninja, Open MPI, Boost.Program_options, yaml-cpp, GoogleTest,
#                    nlohmann-json, librsvg (PNG plots)
#   .venv/           a virtual environment in the checkout holding the pinned PyTorch wheel, whose
#                    LibTorch (and its NCCL) the C++ build links; numpy and pandas serve the Python
#                    reference used by the benchmarks
#
# The wheels are cached outside the checkout, keyed by torch version and Python ABI, so a fresh
# clone on a machine that already has them doesn't download ~3 GB again:
#   ${MLREC_CACHE_DIR:-~/.cache/mlrec}/wheels/torch-<version>-<python tag>/
# --test-tools also installs what the test suite's cluster tests need (Slurm, munge, podman).
# No CUDA toolkit is needed: without one the CPU-only mlrec is built.
# MLREC_PYTHON=/path/to/python skips the venv and uses a Python that already has torch (the
# GPU machines, which have no network).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# torch 2.11.0 is the version on the GPU machines, and its PyPI wheel is built for CUDA 13.0,
# the toolkit installed in /usr/local/cuda: one CUDA runtime and one NCCL in the process.
TORCH_VERSION=2.11.0
# safetensors and tensorboard: the tests that read an exported model and a run's event file as a
# Python user would (README, "Using a trained model", "Watching a run").
PYTHON_PACKAGES=("torch==${TORCH_VERSION}" numpy pandas safetensors tensorboard)
DEBIAN_PACKAGES=(g++ cmake ninja-build pkg-config python3-venv curl unzip ca-certificates
                 openmpi-bin libopenmpi-dev libboost-program-options-dev libyaml-cpp-dev libgtest-dev
                 nlohmann-json3-dev librsvg2-dev zlib1g-dev)
# Only for the test suite (--test-tools; scripts/test.sh asks for them): what the cluster tests run
# for real, a one-host Slurm cluster (munge, slurmctld, slurmd; srun --mpi=pmix) and podman with
# runc (crun refuses hybrid cgroups), with debootstrap to make the plain Debian base image locally;
# chromium renders the HTML report headless (tests/e2e/report_browser_test.sh).
TEST_PACKAGES=(munge slurmctld slurmd slurm-client podman runc debootstrap chromium)

say() { echo "[setup] $*"; }

install_debian_packages() {
  local missing=()
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  # (through env: sudo's env_reset would drop a variable set in front of it)
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

report_cuda_toolkit() {
  # The CUDA build of mlrec compiles against the CUDA 13 toolkit (nvcc and its headers; no GPU
  # needed). Without one, CMake builds the CPU-only mlrec against the same LibTorch
  # (cmake/MlrecTorch.cmake): the same program, without train.device=cuda and NCCL.
  if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ] || \
     { [ -n "${CUDA_HOME:-}" ] && [ -x "$CUDA_HOME/bin/nvcc" ]; }; then
    say "CUDA toolkit found: the CUDA build of mlrec will be made"
  else
    say "no CUDA toolkit (nvcc) found: the CPU-only mlrec will be built; for GPUs install the"
    say "CUDA 13.0 toolkit and build again"
  fi
}

install_python_environment() {
  if [ -n "${MLREC_PYTHON:-}" ]; then
    "$MLREC_PYTHON" -c "import torch" || { echo "[setup] error: $MLREC_PYTHON has no torch" >&2; exit 1; }
    say "using torch from $MLREC_PYTHON"
    return 0
  fi
  local venv="$ROOT/.venv"
  if [ ! -x "$venv/bin/python" ]; then
    say "creating $venv"
    /usr/bin/python3 -m venv "$venv"
  fi
  local site
  site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  if ls -d "$site"/torch-"${TORCH_VERSION}".dist-info >/dev/null 2>&1 && \
     ls -d "$site"/pandas-*.dist-info >/dev/null 2>&1 && \
     ls -d "$site"/safetensors-*.dist-info >/dev/null 2>&1 && \
     ls -d "$site"/tensorboard-*.dist-info >/dev/null 2>&1; then
    return 0
  fi
  local tag cache
  tag="$("$venv/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
  cache="${MLREC_CACHE_DIR:-$HOME/.cache/mlrec}/wheels/torch-${TORCH_VERSION}-${tag}"
  # The marker names the package list, so that a package added here is fetched into an
  # existing cache (pip keeps the wheels already there).
  local marker
  marker="$cache/.complete-$(echo "${PYTHON_PACKAGES[*]}" | md5sum | cut -c1-8)"
  if [ ! -f "$marker" ]; then
    say "downloading torch ${TORCH_VERSION} and its CUDA libraries (~3 GB) into $cache"
    mkdir -p "$cache"
    "$venv/bin/python" -m pip download -q --dest "$cache" "${PYTHON_PACKAGES[@]}"
    touch "$marker"
  fi
  say "installing torch ${TORCH_VERSION} into $venv from $cache"
  "$venv/bin/python" -m pip install -q --no-index --find-links "$cache" "${PYTHON_PACKAGES[@]}"
}

case "${1:-}" in
  "") ;;
  --test-tools) DEBIAN_PACKAGES+=("${TEST_PACKAGES[@]}") ;;
  *) echo "usage: scripts/setup.sh [--test-tools]" >&2; exit 2 ;;
esac
install_debian_packages
report_cuda_toolkit
install_python_environment
say "ready"
