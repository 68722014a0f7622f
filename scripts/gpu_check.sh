#!/usr/bin/env bash
# The checks that need a GPU, as one script for a GPU machine (no network there: it uses the
# machine's own torch, CMake and Open MPI, and skips scripts/setup.sh):
#   1. build into build-gpu/ (tests included when GoogleTest is installed or its sources are
#      carried: MLREC_GTEST_SOURCE_DIR=/path/to/googletest)
#   2. the CUDA / size-1 NCCL tests (tests/unit/gpu/cuda_test.cpp)
#   3. the five study configurations trained to completion, benchmarked, and the comparison table
#   4. the Python reference on the same GPU for the speed ratios (short: --max-steps)
# usage: scripts/gpu_check.sh DATA_DIR [OUT_DIR]
# Prepared without a GPU to run it on: not yet run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
data="${1:?usage: gpu_check.sh DATA_DIR [OUT_DIR]}"
out="${2:-${OUT:-/tmp/mlrec-gpu}}"
python="${MLREC_PYTHON:-python3}"
mkdir -p "$out"
export PATH="$PATH:/usr/local/cuda/bin"

tests=OFF
if [ -n "${MLREC_GTEST_SOURCE_DIR:-}" ] || [ -f /usr/lib/x86_64-linux-gnu/cmake/GTest/GTestConfig.cmake ]; then tests=ON; fi
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DMLREC_PYTHON="$python" \
      -DMLREC_BUILD_TESTS="$tests" -DMLREC_GTEST_SOURCE_DIR="${MLREC_GTEST_SOURCE_DIR:-}" | tail -3
cmake --build build-gpu -j "$(nproc)" 2>&1 | tail -3
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$out/gpu.txt"

if [ "$tests" = ON ]; then
  build-gpu/tests/mlrec_torch_tests --gtest_filter='Cuda.*:Dropout.*:Trainer.*' 2>&1 | tee "$out/gpu_tests.log" | tail -5
fi

configs=()
for model in baseline mf seq seq_ratings seq_features; do configs+=(--config "configs/$model.yaml"); done
for precision in fp32 tf32; do
  build-gpu/mlrec_dist bench "${configs[@]}" --set "data.dir=$data" --set "output.dir=$out/runs-$precision" \
    --set train.log_every_steps=0 --set train.device=cuda --set "train.precision=$precision" \
    --out "$out/bench-$precision.json" 2>&1 | grep -E "bench |error" | tee -a "$out/bench.log"
done
# bench puts each configuration's run in output.dir/<config stem>: the table of the fp32 runs
build-gpu/mlrec_dist compare "$out"/runs-fp32/{baseline,mf,seq,seq_ratings,seq_features} | tee "$out/table.md"

"$python" bench/compare_reference.py --binary build-gpu/mlrec_dist --data "$data" \
  --models mf,seq_features --epochs 1 --max-steps 300 --out "$out/compare.json" | tee "$out/compare.md"
