#!/usr/bin/env bash
# Everything that needs a GPU, as one script for the short-lived GPU machine (no network there:
# it uses the machine's own torch, CMake and Open MPI, and skips scripts/setup.sh). Stages run in
# order of importance; each is skipped when the time budget cannot cover it, so a run cut short
# still returns what it finished:
#   build -> each CUDA test (crashes rerun under cuda-gdb) -> the five study models (fp32, CUDA
#   graphs) -> BST in tf32 and bf16 -> BST with mlrec's attention kernels -> eager vs graph ->
#   kernel profile (ncu) -> the sequence models over 3 seeds x 2 protocols -> the BST sweep ->
#   the tuned BST over 3 seeds -> the Python reference (speed ratios)
#
# usage: scripts/gpu_check.sh DATA_DIR OUT_DIR [BUDGET_SECONDS] [REFERENCE_PY]
#   (scripts/gpu_carry.sh prepares the .gpu/ folder to carry to such a machine, and says how)
#   MLREC_GTEST_SOURCE_DIR  GoogleTest sources, when GoogleTest is not installed (tests)
#   MLREC_BOOST_PO_SOURCE_DIR  Boost.Program_options sources (libs/program_options/src of the
#                           installed Boost headers' version), when only Boost's headers are installed
#   MLREC_GPU_DRY=1         rehearsal without a GPU: the existing build/, the CPU, 3 steps per run
#   MLREC_GPU_STAGES        the stages to run (names as in the log), e.g. "cuda_tests ncu";
#                           by default all but those already measured (done_stages below)
# OUT_DIR receives log.txt (the summary lines) and results.tar.gz (every log, JSON and run
# directory), refreshed after each stage.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
data="$(realpath "${1:?usage: gpu_check.sh DATA_DIR OUT_DIR [BUDGET_SECONDS] [REFERENCE_PY]}")"
out="$(mkdir -p "${2:?OUT_DIR}" && realpath "$2")"
budget="${3:-540}"
reference="${4:-$ROOT/../shared/reference/seed_reference.py}"
python="${MLREC_PYTHON:-$(command -v python3)}"
work="$(mktemp -d /tmp/mlrec-gpu.XXXX)"
dry="${MLREC_GPU_DRY:-0}"
build_dir="$ROOT/build-gpu"; device=cuda; ref_steps=300
if [ "$dry" = 1 ]; then build_dir="$ROOT/build"; device=cpu; ref_steps=3; fi
bin="$build_dir/mlrec_dist"
export PATH="$PATH:/usr/local/cuda/bin" OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
start=$(date +%s)
log="$out/log.txt"

say() { echo "[gpu $(( $(date +%s) - start ))s] $*" | tee -a "$log"; }
bundle() { tar czf "$out/results.tar.gz.tmp" --exclude='*.pt' -C "$work" . && mv "$out/results.tar.gz.tmp" "$out/results.tar.gz"; }

# stage NAME NEEDED_SECONDS COMMAND...: runs COMMAND into $work/NAME.log when at least
# NEEDED_SECONDS of the budget are left, never past the budget; prints its summary lines.
stage() {
  local name=$1 need=$2; shift 2
  local left=$(( budget - ($(date +%s) - start) ))
  if (( left < need )); then say "SKIP $name (${left}s left, needs ~${need}s)"; return 1; fi
  say "=== $name"
  local t0; t0=$(date +%s.%N)
  timeout --kill-after=5 "$left" "$@" >"$work/$name.log" 2>&1
  local rc=$?
  grep -E "^bench |error|warning|captured|over 3 seeds|sweep|trial|PASSED|FAILED|OK \]|samples/s|ratio|\| " "$work/$name.log" \
    | grep -v -e "^\[ *RUN" -e "\] epoch " | head -40 | tee -a "$log"
  say "$name: rc=$rc, $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $t0 }") s"
  bundle
  return $rc
}

info="nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; nproc;
  '$python' -c 'import torch; print(\"torch\", torch.__version__, torch.cuda.is_available() and torch.cuda.get_device_name(0))';
  cmake --version | head -1; mpirun --version | head -1; command -v ncu || true"
tests=OFF
if [ -n "${MLREC_GTEST_SOURCE_DIR:-}" ] || [ -f /usr/lib/x86_64-linux-gnu/cmake/GTest/GTestConfig.cmake ]; then tests=ON; fi
targets="mlrec_dist"; [ "$tests" = ON ] && targets="mlrec_dist mlrec_torch_tests"
build="cmake --build '$build_dir' -j $(nproc) --target $targets"
if [ "$dry" != 1 ]; then
  build="cmake -S . -B '$build_dir' -G Ninja -DCMAKE_BUILD_TYPE=Release -DMLREC_PYTHON='$python' \
    -DMLREC_BUILD_TESTS=$tests -DMLREC_GTEST_SOURCE_DIR='${MLREC_GTEST_SOURCE_DIR:-}' \
    -DMLREC_BOOST_PO_SOURCE_DIR='${MLREC_BOOST_PO_SOURCE_DIR:-}' && $build"
fi
# Every run: on the GPU, no progress lines, no checkpoints (the tarball stays small).
common=(--set "data.dir=$data" --set "train.device=$device" --set train.log_every_steps=0 --set output.save_checkpoint=false)
[ "$dry" = 1 ] && common+=(--set train.epochs=1 --set train.max_steps_per_epoch=3 --set train.threads=2)
# the arguments that put a benchmark's runs and JSON under $work, by name
to() { echo "--set" "output.dir=$work/runs-$1" "--out" "$work/bench-$1.json"; }
five=(); for m in baseline mf seq seq_ratings seq_features; do five+=(--config "configs/$m.yaml"); done

# Which stages run: MLREC_GPU_STAGES (space-separated names below), by default all but the ones
# whose figures a GPU session already measured (the "done" list, kept in step with BENCHMARKS.md
# and the README).
done_stages="seeds_seq_study seeds_seq_valid_test seeds_ratings_study seeds_ratings_valid_test
  seeds_features_study seeds_features_valid_test sweep tuned_valid_test tuned_study"
want() {
  if [ -n "${MLREC_GPU_STAGES:-}" ]; then [[ " $MLREC_GPU_STAGES " == *" $1 "* ]]; else [[ " $done_stages " != *" $1 "* ]]; fi
}
run_stage() { local name=$1; shift; if want "$name"; then stage "$name" "$@"; else return 0; fi; }

stage info 5 bash -c "$info"
# A build failure in mlrec's own CUDA kernels must not cost the lease: retried without them.
if ! stage build 60 bash -c "$build"; then
  tail -30 "$work/build.log" | tee -a "$log"
  [ "$dry" = 1 ] && { say "build failed: stopping"; exit 1; }
  stage build_without_kernels 60 bash -c "${build/-DMLREC_BUILD_TESTS/-DMLREC_CUDA_KERNELS=OFF -DMLREC_BUILD_TESTS}" ||
    { say "build failed: stopping"; tail -30 "$work/build_without_kernels.log" | tee -a "$log"; exit 1; }
fi
# Each CUDA test in its own process (a crash names its test); a crash is rerun under cuda-gdb for
# the host backtrace (gdb itself is not on those machines), unless MLREC_GPU_STAGES leaves out "gdb".
tests_bin="$build_dir/tests/mlrec_torch_tests"
if want cuda_tests && [ -x "$tests_bin" ]; then
  # "Suite.Test" names of the GPU suites (gtest lists the suite, then its tests indented)
  for t in $("$tests_bin" --gtest_list_tests --gtest_filter='Cuda.*:ShortAttention.*' |
             awk '/^[^ ]/ { suite = $1 } /^  / { print suite $1 }'); do
    # line-buffered, so that a crash does not swallow the verdicts already printed
    stage "test_$t" 20 stdbuf -oL -eL "$tests_bin" --gtest_filter="$t"
    rc=$?
    if (( rc > 128 )) && want gdb && command -v cuda-gdb >/dev/null; then
      stage "gdb_$t" 30 cuda-gdb -batch -ex run -ex bt -ex "thread apply all bt 8" --args "$tests_bin" --gtest_filter="$t"
      grep -A25 "^#0" "$work/gdb_$t.log" | head -40 | tee -a "$log"
    fi
  done
fi
# Issue 4: the five models to completion, data loading included (also issue 2's GPU criterion).
if run_stage bench_fp32 60 "$bin" bench "${five[@]}" --set train.precision=fp32 "${common[@]}" $(to fp32) && want bench_fp32; then
  "$bin" compare "$work"/runs-fp32/{baseline,mf,seq,seq_ratings,seq_features} > "$work/table-fp32.md" 2>&1 && tee -a "$log" < "$work/table-fp32.md"
fi
run_stage bench_tf32 20 "$bin" bench --config configs/seq_features.yaml --set train.precision=tf32 "${common[@]}" $(to tf32)
run_stage bench_bf16 20 "$bin" bench --config configs/seq_features.yaml --set train.precision=bf16 "${common[@]}" $(to bf16)
# mlrec's attention kernels (model.attention=short; on CUDA opt-in until measured) against the rows above.
run_stage short_fp32 20 "$bin" bench --config configs/seq_features.yaml --set model.attention=short \
  --set train.precision=fp32 "${common[@]}" $(to short-fp32)
run_stage short_tf32 20 "$bin" bench --config configs/seq_features.yaml --set model.attention=short \
  --set train.precision=tf32 "${common[@]}" $(to short-tf32)
# The same 300 steps with and without the graph: what the capture is worth.
short=(--config configs/mf.yaml --config configs/seq_features.yaml --set train.epochs=1 --set train.max_steps_per_epoch=300)
run_stage eager 20 "$bin" bench "${short[@]}" --set train.cuda_graphs=false "${common[@]}" $(to eager)
run_stage graph 15 "$bin" bench "${short[@]}" "${common[@]}" $(to graph)
# Where a graph-replayed BST step spends its GPU time: per-kernel durations of ~2 steps, in TF32
# (the precision of the 1M samples/s target; fp32 differs only in the matrix products), with
# torch's attention (ncu) and with mlrec's kernels (ncu_short). Capped: a profiler that stalls
# must not eat the stages after it.
if command -v ncu >/dev/null; then
  for variant in ncu:torch ncu_short:short; do
    name=${variant%%:*}
    run_stage "$name" 60 timeout 120 ncu --clock-control none --metrics gpu__time_duration.sum --csv \
      --launch-skip 4000 --launch-count 400 \
      "$bin" bench --config configs/seq_features.yaml "${common[@]}" --set "output.dir=$work/runs-$name" \
      --set "model.attention=${variant#*:}" --set train.precision=tf32 --set train.epochs=1 \
      --set train.max_steps_per_epoch=60
    if [ -f "$work/$name.log" ]; then
      "$python" bench/ncu_summary.py "$work/$name.log" > "$work/${name}_summary.md" 2>&1
      head -30 "$work/${name}_summary.md" | tee -a "$log"; bundle
    fi
  done
fi
# Issue 5: the study's sequence models over 3 seeds on both protocols, the sweep, the tuned model.
for model in seq seq_ratings seq_features; do
  run_stage "seeds_${model#seq_}_study" 60 "$bin" --config "configs/$model.yaml" "${common[@]}" \
    --set "output.dir=$work/seeds-$model-study" --seeds 42,1,2
  run_stage "seeds_${model#seq_}_valid_test" 60 "$bin" --config "configs/$model.yaml" "${common[@]}" --set data.test_per_user=1 \
    --set "output.dir=$work/seeds-$model-valid-test" --seeds 42,1,2
done
if want sweep; then
  # (the sweep writes where sweeps/seq.yaml says: runs/sweep-seq, copied into the results)
  rm -rf runs/sweep-seq
  stage sweep 60 "$bin" sweep --sweep sweeps/seq.yaml "${common[@]}"
  cp -r runs/sweep-seq "$work/" 2>/dev/null && bundle
fi
run_stage tuned_valid_test 45 "$bin" --config configs/seq_tuned.yaml "${common[@]}" --set data.test_per_user=1 \
  --set "output.dir=$work/tuned-valid-test" --seeds 42,1,2
run_stage tuned_study 45 "$bin" --config configs/seq_tuned.yaml "${common[@]}" \
  --set "output.dir=$work/tuned-study" --seeds 42,1,2
# The Python reference on the same GPU and data (speed ratios), last: the longest to wait for.
if [ -f "$reference" ]; then
  run_stage reference 60 "$python" bench/compare_reference.py --binary "$bin" --reference "$reference" --data "$data" \
    --models mf,seq_features --epochs 1 --max-steps "$ref_steps" --set "train.device=$device" --out "$work/compare.json"
fi
say "done"
bundle
