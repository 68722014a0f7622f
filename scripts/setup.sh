#!/usr/bin/env bash
# Installs everything mlrec needs to build and run, on a fresh Debian 12 (or Ubuntu 24.04)
# machine. Idempotent: on a ready machine it checks and returns in seconds.
#
#   Debian packages  compilers, CMake, Ninja, Open MPI, Boost.Program_options, yaml-cpp, GoogleTest,
#                    nlohmann-json
#   .venv/           a virtual environment in the checkout holding the pinned PyTorch wheel, whose
#                    LibTorch (and its NCCL) the C++ build links; numpy and pandas serve the Python
#                    reference used by the benchmarks
#
# The wheels are cached outside the checkout, keyed by torch version and Python ABI, so a fresh
# clone on a machine that already has them doesn't download ~3 GB again:
#   ${MLREC_CACHE_DIR:-~/.cache/mlrec}/wheels/torch-<version>-<python tag>/
# MLREC_PYTHON=/path/to/python skips the venv and uses a Python that already has torch (the
# GPU machines, which have no network).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# torch 2.11.0 is the version on the GPU machines, and its PyPI wheel is built for CUDA 13.0,
# the toolkit installed in /usr/local/cuda: one CUDA runtime and one NCCL in the process.
TORCH_VERSION=2.11.0
PYTHON_PACKAGES=("torch==${TORCH_VERSION}" numpy pandas)
DEBIAN_PACKAGES=(g++ cmake ninja-build pkg-config python3-venv curl unzip ca-certificates
                 openmpi-bin libopenmpi-dev libboost-program-options-dev libyaml-cpp-dev libgtest-dev
                 nlohmann-json3-dev)

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
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

check_cuda_toolkit() {
  # The CUDA build of LibTorch needs the toolkit's headers and nvcc to configure, even on a
  # machine without a GPU (CUDA code compiles and links here; it runs only where a GPU is).
  if ! command -v nvcc >/dev/null 2>&1 && [ ! -x /usr/local/cuda/bin/nvcc ]; then
    echo "[setup] error: the CUDA 13 toolkit was not found (no nvcc on PATH or in /usr/local/cuda)." >&2
    echo "[setup] install the CUDA 13.0 toolkit (with NCCL headers), then run this again." >&2
    exit 1
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
     ls -d "$site"/pandas-*.dist-info >/dev/null 2>&1; then
    return 0
  fi
  local tag cache
  tag="$("$venv/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
  cache="${MLREC_CACHE_DIR:-$HOME/.cache/mlrec}/wheels/torch-${TORCH_VERSION}-${tag}"
  if [ ! -f "$cache/.complete" ]; then
    say "downloading torch ${TORCH_VERSION} and its CUDA libraries (~3 GB) into $cache"
    mkdir -p "$cache"
    "$venv/bin/python" -m pip download -q --dest "$cache" "${PYTHON_PACKAGES[@]}"
    touch "$cache/.complete"
  fi
  say "installing torch ${TORCH_VERSION} into $venv from $cache"
  "$venv/bin/python" -m pip install -q --no-index --find-links "$cache" "${PYTHON_PACKAGES[@]}"
}

install_debian_packages
check_cuda_toolkit
install_python_environment
say "ready"
