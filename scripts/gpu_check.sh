#!/usr/bin/env bash
# Everything that needs a GPU, as one script for the short-lived GPU machine (no network there:
# it uses the machine's own torch, CMake and Open MPI, and skips scripts/setup.sh). Stages run in
# order of importance; each is skipped when the time budget cannot cover it, so a run cut short
# still returns what it finished:
#   build (and an earlier commit's, for before/after) -> the tests of mlrec's CUDA kernels (which
#   decide whether the runs below use them) -> the other CUDA tests (crashes rerun under
#   cuda-gdb) and the tests of 2 ranks sharing the GPU over MPI -> BST + user features in TF32,
#   bf16 and fp32: mlrec's kernels, the earlier commit, torch's ops -> mlrec against the reference
#   under torch.compile (stage compile_reference) -> the five study models in one process, bf16,
#   TF32 and fp32 -> BST runs of 1 and 2 ranks sharing the GPU, graphs on and off -> kernel
#   profile (ncu) -> the A/B runs that decide defaults: MF and BST with the optimizer's update in
#   the graph and after it, MF with mlrec's kernel and torch's ops, the BST with the residual steps
#   fused and not, the BST and MF with mlrec's embedding backward and index_add_, the BST with the
#   attention's rewrite and its first version -> a graphed run stopped and resumed -> profiler
#   trace (what launched each kernel) -> compute-sanitizer on the changed kernels' tests -> the
#   sequence models over 3 seeds x 2 protocols -> the BST sweep -> the tuned BST over 3 seeds ->
#   sparse embedding updates: MF at MovieLens-32M's shape, the BST over 3 seeds (stages sparse_32m,
#   sparse_bst_seeds) -> the Python reference (speed ratios) -> why mlrec's kernels take their time
#   (ncu_detail: occupancy, stalls, memory traffic)
#
# usage: scripts/gpu_check.sh DATA_DIR OUT_DIR [BUDGET_SECONDS] [REFERENCE_PY]
#   (scripts/gpu_carry.sh prepares the .gpu/ folder to carry to such a machine, and says how)
#   MLREC_GTEST_SOURCE_DIR  GoogleTest sources, when GoogleTest is not installed (tests)
#   MLREC_BOOST_PO_SOURCE_DIR  Boost.Program_options sources (libs/program_options/src of the
#                           installed Boost headers' version), when only Boost's headers are installed
#   MLREC_GPU_DRY=1         rehearsal without a GPU: the existing build/, the CPU, 3 steps per run
#   MLREC_GPU_STAGES        the stages to run (names as in the log), e.g. "cuda_tests ncu";
#                           by default all but those already measured (done_stages below)
#   MLREC_GPU_BASELINE_SRC  the sources of an earlier commit (MLREC_BASELINE_REV=REV
#                           scripts/gpu_carry.sh DATA puts them in .gpu/baseline): built too, its BST runs are the "before" of a change
#                           measured in the same call (stages *_baseline)
#   MLREC_GPU_NCU_PRECISION the precision the ncu stage profiles (tf32 by default)
#   MLREC_GPU_COMPILE_ARGS  bench/compile_reference.py's choice of runs for the compile_reference
#                           stage (e.g. "--precisions bf16 --modes reduce-overhead,eager"); all by default
#   MLREC_GPU_COMPILE_BUDGET  the most seconds the compile_reference stage may take (by default
#                           all that is left): the stages after it keep the rest
#
# Issue 21 in one call of 600 s (stage times of earlier leases: build ~90 s, each BST run 10-20 s,
# the five models ~30 s, the tests a few seconds per family; the compile stage is capped at
# 180 s, the most important configurations first, and the stages after it share what is left:
# by that estimate the issue's figures fit and the A/B runs after them mostly do; the last ones,
# trace and ncu_detail, may not; the five models in TF32 were measured before, 30.6 s):
#   MLREC_GPU_STAGES="kernel_tests cuda_tests shared_gpu_tests bf16_kernels tf32_kernels fp32_kernels
#     compile_reference five_bf16 shared_gpu_1_ranks_graphs_true shared_gpu_2_ranks_graphs_true
#     shared_gpu_2_ranks_graphs_false ncu graph_optimizer_true graph_optimizer_false mf_kernel_mlrec
#     mf_kernel_torch residual_norm_mlrec residual_norm_torch embedding_backward_mlrec
#     embedding_backward_mf_mlrec embedding_backward_torch embedding_backward_mf_torch attention_short
#     attention_short_v1 graphed_resume trace ncu_detail"
#     MLREC_GPU_COMPILE_BUDGET=180 MLREC_GPU_NCU_PRECISION=bf16 scripts/gpu_check.sh DATA OUT 560 REFERENCE
#   (stages run in the script's order, whatever the list's; ncu_detail, the script's last, runs
#   only where the call has a minute left)
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
baseline_src="${MLREC_GPU_BASELINE_SRC:+$(realpath "$MLREC_GPU_BASELINE_SRC")}"
baseline_bin=""
export PATH="$PATH:/usr/local/cuda/bin" OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
start=$(date +%s)
log="$out/log.txt"

say() { echo "[gpu $(( $(date +%s) - start ))s] $*" | tee -a "$log"; }
bundle() { tar czf "$out/results.tar.gz.tmp" --exclude='*.pt' -C "$work" . && mv "$out/results.tar.gz.tmp" "$out/results.tar.gz"; }
# Whatever ends the script, what was measured is in OUT_DIR and the work folder goes.
trap 'bundle >/dev/null 2>&1; rm -rf "$work"' EXIT

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
  grep -E "^bench |error|warning|captured|over 3 seeds|sweep|trial|PASSED|FAILED|^PASS|^FAIL|resumed,|OK \]|samples/s|ratio|\| " "$work/$name.log" \
    | grep -v -e "^\[ *RUN" -e "\] epoch " | head -40 | tee -a "$log"
  say "$name: rc=$rc, $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $t0 }") s"
  bundle
  return $rc
}

info="nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; nproc;
  '$python' -c 'import torch; print(\"torch\", torch.__version__, torch.cuda.is_available() and torch.cuda.get_device_name(0))';
  cmake --version | head -1; mpirun --version | head -1; command -v ncu || true;
  ompi_info --parsable --all 2>/dev/null | grep -m1 'built_with_cuda_support:value' || true"
tests=OFF
if [ -n "${MLREC_GTEST_SOURCE_DIR:-}" ] || [ -f /usr/lib/x86_64-linux-gnu/cmake/GTest/GTestConfig.cmake ]; then tests=ON; fi
targets="mlrec_dist"; [ "$tests" = ON ] && targets="mlrec_dist mlrec_torch_tests mlrec_dist_tests"
build="cmake --build '$build_dir' -j $(nproc) --target $targets"
if [ "$dry" != 1 ]; then
  build="cmake -S . -B '$build_dir' -G Ninja -DCMAKE_BUILD_TYPE=Release -DMLREC_PYTHON='$python' -DMLREC_CUDA=ON \
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
  # (the lists' line breaks count as spaces)
  local chosen=" ${MLREC_GPU_STAGES:-} " done=" $done_stages "
  chosen=${chosen//$'\n'/ }; done=${done//$'\n'/ }
  if [ -n "${MLREC_GPU_STAGES:-}" ]; then [[ "$chosen" == *" $1 "* ]]; else [[ "$done" != *" $1 "* ]]; fi
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
# The earlier commit's binary, for before/after figures from one call (a rehearsal reuses the
# current build: compiling a second tree on the CPU takes too long).
if [ -n "$baseline_src" ] && want baseline_build; then
  if [ "$dry" = 1 ]; then baseline_bin="$bin"
  elif stage baseline_build 60 bash -c "cmake -S '$baseline_src' -B '$ROOT/build-baseline' -G Ninja \
      -DCMAKE_BUILD_TYPE=Release -DMLREC_PYTHON='$python' -DMLREC_BUILD_TESTS=OFF \
      -DMLREC_BOOST_PO_SOURCE_DIR='${MLREC_BOOST_PO_SOURCE_DIR:-}' && cmake --build '$ROOT/build-baseline' -j $(nproc) --target mlrec_dist"; then
    baseline_bin="$ROOT/build-baseline/mlrec_dist"
  else tail -20 "$work/baseline_build.log" | tee -a "$log"; fi
fi
# The tests of mlrec's CUDA kernels first, a process per family: the speed stages below run a
# family only where its tests pass (without this stage, they run the defaults). A crash names its test (the last RUN line).
tests_bin="$build_dir/tests/mlrec_torch_tests"
kernels=()
run_tests() {  # NAME FILTER
  stage "$1" 20 stdbuf -oL -eL "$tests_bin" --gtest_filter="$2"
  local rc=$?
  if (( rc > 128 )); then
    local crashed; crashed=$(grep '^\[ RUN' "$work/$1.log" | tail -1 | awk '{ print $NF }')
    say "$1: crashed (rc=$rc) in $crashed"
    if want gdb && command -v cuda-gdb >/dev/null; then
      stage "gdb_$1" 30 cuda-gdb -batch -ex run -ex bt -ex "thread apply all bt 8" --args "$tests_bin" --gtest_filter="$crashed"
      grep -A25 "^#0" "$work/gdb_$1.log" | head -40 | tee -a "$log"
    fi
  fi
  return $rc
}
if [ -x "$tests_bin" ] && want kernel_tests; then
  # The attention: its rewrite (short) where its tests pass, else its first version (short_v1,
  # the default on CUDA until the rewrite is measured) where those pass, else torch's.
  attention=torch
  run_tests attention_v1_tests 'ShortAttentionV1.*' && attention=short_v1
  if run_tests attention_tests 'ShortAttention.*'; then attention=short
  else say "ShortAttention failed: the speed stages run model.attention=$attention"; fi
  kernels+=(--set "model.attention=$attention")
  # stage name, test suite, the setting that selects the family
  for family in "feed_forward_tests FusedFeedForward model.feed_forward=fused" \
                "layer_norm_tests MlrecLayerNorm model.layer_norm=mlrec" \
                "batch_norm_tests MlrecBatchNormMish model.batch_norm=mlrec" \
                "linear_tests MlrecLinear model.linear=mlrec" \
                "mf_tests MlrecMf model.mf_kernel=mlrec" \
                "residual_norm_tests MlrecResidualNorm model.residual_norm=mlrec" \
                "embedding_tests MlrecEmbedding model.embedding_backward=mlrec"; do
    read -r name suite setting <<< "$family"
    # (a family that fails is pinned to torch's ops: the default, auto, would select it)
    if run_tests "$name" "$suite.*"; then kernels+=(--set "$setting")
    else kernels+=(--set "${setting%%=*}=torch"); say "$suite failed: the speed stages run torch's ops instead of $setting"; fi
  done
  # The optimizer's update inside the step's graph is mlrec's AdamW kernel: where its test fails,
  # the runs keep the update outside the graph (ATen's fused AdamW, host numbers).
  if ! run_tests adamw_tests 'Cuda.ScheduledAdamW*'; then
    kernels+=(--set train.graph_optimizer=false); say "the scheduled AdamW test failed: the runs set train.graph_optimizer=false"
  fi
  # The wrappers' refusals of inconsistent inputs (they select nothing: no caller passes such)
  run_tests input_check_tests 'KernelInputChecks.*' || true
fi
torch_ops=(--set model.attention=torch --set model.feed_forward=torch --set model.layer_norm=torch
  --set model.batch_norm=torch --set model.linear=torch)
# The other GPU tests: NCCL on the device, the training loop, graphs against eager steps.
[ -x "$tests_bin" ] && want cuda_tests && run_tests cuda_tests 'Cuda.*'
# Issue 21, the multi-rank GPU path on the one GPU: NCCL refuses two ranks on a GPU, the MPI
# communicator (dist.backend=mpi) serves them. The test: 2 ranks sharing the GPU train as 1 rank
# with the same global batch, eagerly and with graphs (the all-reduces after each replay), and the
# synchroniser's two paths agree (NCCL inside a captured graph is in cuda_tests). (The BST runs of
# 1 and 2 ranks sharing the GPU come after the speed stages.)
dist_tests_bin="$build_dir/tests/mlrec_dist_tests"
[ -x "$dist_tests_bin" ] && run_stage shared_gpu_tests 30 launch/mpirun_local.sh 2 "$dist_tests_bin" \
  --gtest_filter='DataParallel.RanksSharingOneGpu*:DataParallel.GradientsAveraged*'
# Issue 4: BST + user features in TF32, bf16 autocast and strict fp32, each with mlrec's kernels
# (those whose tests passed), the earlier commit's build (with its defaults) and torch's ops.
# Each run trains to completion (early stopping), data loading included.
bst=(bench --config configs/seq_features.yaml)
for precision in tf32 bf16 fp32; do
  run_stage "${precision}_kernels" 20 "$bin" "${bst[@]}" --set "train.precision=$precision" \
    "${kernels[@]}" "${common[@]}" $(to "$precision-kernels")
  [ -n "$baseline_bin" ] && run_stage "${precision}_baseline" 20 "$baseline_bin" "${bst[@]}" \
    --set "train.precision=$precision" "${common[@]}" $(to "$precision-baseline")
  run_stage "${precision}_torch" 20 "$bin" "${bst[@]}" --set "train.precision=$precision" "${torch_ops[@]}" \
    "${common[@]}" $(to "$precision-torch")
done
# Issue 21, the strongest Python peer: the reference eager and under each torch.compile mode with
# fused AdamW, in bf16, TF32 and fp32, beside mlrec in the same precision (last of 2 whole epochs
# timed, the first epoch's extra time reported as compile time), within what is left of the budget.
if [ -f "$reference" ] && want compile_reference; then
  read -r -a compile_args <<< "--epochs 2 ${MLREC_GPU_COMPILE_ARGS:-}"
  [ "$dry" = 1 ] && compile_args+=(--max-steps 3 --modes default,eager --precisions fp32)
  left=$(( budget - ($(date +%s) - start) - 20 ))
  # (MLREC_GPU_COMPILE_BUDGET caps it, leaving the stages after it their time)
  (( left > ${MLREC_GPU_COMPILE_BUDGET:-$left} )) && left=$MLREC_GPU_COMPILE_BUDGET
  stage compile_reference 120 "$python" bench/compile_reference.py --data "$data" --binary "$bin" \
    --reference "$reference" --python "$python" --set "train.device=$device" "${kernels[@]}" "${compile_args[@]}" \
    --budget "$left" --runs-dir "$work/compile-runs" --out "$work/compile.json"
fi
# All five models of the study, one process, data loading included, with the kernels whose
# tests passed: bf16, TF32, then strict fp32 (the default precision); each with its comparison table.
for precision in bf16 tf32 fp32; do
  if run_stage "five_$precision" 60 "$bin" bench "${five[@]}" --set "train.precision=$precision" "${kernels[@]}" \
       "${common[@]}" $(to "five-$precision") && want "five_$precision"; then
    "$bin" compare "$work/runs-five-$precision"/{baseline,mf,seq,seq_ratings,seq_features} \
      > "$work/table-five-$precision.md" 2>&1 && tee -a "$log" < "$work/table-five-$precision.md"
  fi
done
# Issue 21: the whole BST + user features run, global batch 1,024, on 1 rank and on 2 ranks sharing
# the GPU over MPI, graphs on and off (MAE and speed).
shared_epochs=3; [ "$dry" = 1 ] && shared_epochs=1
for ranks in 1 2; do
  for graphs in true false; do
    run_stage "shared_gpu_${ranks}_ranks_graphs_$graphs" 30 launch/mpirun_local.sh "$ranks" "$bin" "${bst[@]}" \
      --set dist.backend=mpi --set "train.cuda_graphs=$graphs" "${kernels[@]}" "${common[@]}" \
      --set "train.epochs=$shared_epochs" $(to "shared-$ranks-ranks-graphs-$graphs")
  done
done
# Where a graph-replayed BST step spends its GPU time: per-kernel durations of ~2 steps with the
# kernels, in TF32 or MLREC_GPU_NCU_PRECISION. Capped: a profiler that stalls must not eat the stages after it.
if command -v ncu >/dev/null && want ncu; then
  run_stage ncu 60 timeout 120 ncu --clock-control none --metrics gpu__time_duration.sum --csv \
    --launch-skip 4000 --launch-count 400 \
    "$bin" bench --config configs/seq_features.yaml "${common[@]}" --set "output.dir=$work/runs-ncu" \
    "${kernels[@]}" --set "train.precision=${MLREC_GPU_NCU_PRECISION:-tf32}" --set train.epochs=1 \
    --set train.max_steps_per_epoch=60
  if [ -f "$work/ncu.log" ]; then
    "$python" bench/ncu_summary.py "$work/ncu.log" --top 80 > "$work/ncu_summary.md" 2>&1
    head -30 "$work/ncu_summary.md" | tee -a "$log"; bundle
  fi
fi
# The A/B runs that decide defaults (each family's choice against the one it would replace), after
# the issue's figures above: where a call runs short, those come first.
# Issue 21: the optimizer's update inside the step's graph (the default) against one fused launch
# after each replay (train.graph_optimizer=false), MF and BST + user features in bf16, one process
# each way, the two ways run one after the other.
for inside in true false; do
  run_stage "graph_optimizer_$inside" 40 "$bin" bench --config configs/mf.yaml --config configs/seq_features.yaml \
    --set train.precision=bf16 --set "train.graph_optimizer=$inside" "${kernels[@]}" "${common[@]}" \
    $(to "graph-optimizer-$inside")
done
# Issue 21: MF with mlrec's kernel (one each way) against torch's ops, TF32, one after the other.
for mf_kernel in mlrec torch; do
  run_stage "mf_kernel_$mf_kernel" 20 "$bin" bench --config configs/mf.yaml --set train.precision=tf32 \
    "${kernels[@]}" --set "model.mf_kernel=$mf_kernel" "${common[@]}" $(to "mf-kernel-$mf_kernel")
done
# The residual steps' dropout + add + LayerNorm as one kernel each way (model.residual_norm=mlrec,
# where its tests passed) against the separate ops: BST + user features in bf16, one after the other.
for residual_norm in mlrec torch; do
  run_stage "residual_norm_$residual_norm" 20 "$bin" "${bst[@]}" --set train.precision=bf16 "${kernels[@]}" \
    --set "model.residual_norm=$residual_norm" "${common[@]}" $(to "residual-norm-$residual_norm")
done
# The embedding tables' gradients by mlrec's kernel against index_add_: BST + user features in bf16,
# and MF in TF32 through torch's ops (its own kernel off), whose four lookups take it.
for backward in mlrec torch; do
  run_stage "embedding_backward_$backward" 20 "$bin" "${bst[@]}" --set train.precision=bf16 "${kernels[@]}" \
    --set "model.embedding_backward=$backward" "${common[@]}" $(to "embedding-backward-$backward")
  run_stage "embedding_backward_mf_$backward" 20 "$bin" bench --config configs/mf.yaml --set train.precision=tf32 \
    "${kernels[@]}" --set model.mf_kernel=torch --set "model.embedding_backward=$backward" "${common[@]}" \
    $(to "embedding-backward-mf-$backward")
done
# The attention's rewrite (model.attention=short, where its tests passed) against its first
# version (short_v1): BST + user features in bf16, one after the other.
if [ "${attention:-}" = short ]; then
  for version in short short_v1; do
    run_stage "attention_$version" 20 "$bin" "${bst[@]}" --set train.precision=bf16 "${kernels[@]}" \
      --set "model.attention=$version" "${common[@]}" $(to "attention-$version")
  done
fi
# Issue 21: a graphed run (the optimizer's update in the graph) stopped mid-epoch and resumed ends
# as the uninterrupted run: MF and the sequence model (tests/e2e/resume_test.sh, section gpu).
resume_device=cuda; [ "$dry" = 1 ] && resume_device=cpu
run_stage graphed_resume 40 env MLREC_RESUME_DEVICE="$resume_device" tests/e2e/resume_test.sh "$bin" \
  launch/mpirun_local.sh "$python" gpu
# What launched each of those kernels: a profiler trace (profile.*) of the first 8 steps of the
# same run, the 3 eager ones (op -> kernel) and the capture and replays (kernels as they ran,
# concurrently, not serialised as under ncu); bench/trace_summary.py tables it. Capped: a
# profiler that stalls must not eat the stages after it.
if run_stage trace 30 timeout 90 "$bin" bench --config configs/seq_features.yaml "${common[@]}" "${kernels[@]}" \
     --set "output.dir=$work/runs-trace" --set "train.precision=${MLREC_GPU_NCU_PRECISION:-tf32}" \
     --set train.epochs=1 --set train.max_steps_per_epoch=12 --set profile.steps=8 --set profile.skip_steps=0 &&
   want trace; then
  trace_file=$(find "$work/runs-trace" -name trace.rank0.json | head -1)
  if [ -n "$trace_file" ]; then
    "$python" bench/trace_summary.py "$trace_file" --top 60 > "$work/trace_summary.md" 2>&1
    head -60 "$work/trace_summary.md" | tee -a "$log"; bundle
  fi
fi
# Out-of-bounds and uninitialised accesses of the kernels no GPU has run yet (the attention's
# rewrite, the embeddings', the residual steps', MF's, the scheduled AdamW) and the feed-forward,
# linear and BatchNorm ones, on exact allocations: torch's caching allocator would hide overruns
# inside its blocks.
if [ -x "$tests_bin" ] && command -v compute-sanitizer >/dev/null && want sanitizer; then
  stage sanitizer 60 env PYTORCH_NO_CUDA_MEMORY_CACHING=1 timeout 120 compute-sanitizer --tool memcheck --error-exitcode 99 \
    "$tests_bin" --gtest_filter='ShortAttention.Matches*:MlrecEmbedding.Matches*:MlrecResidualNorm.Matches*:MlrecMf.Matches*:Cuda.ScheduledAdamW*:FusedFeedForward.Matches*:MlrecLinear.Matches*:MlrecBatchNormMish.Matches*'
  grep -E "ERROR SUMMARY|Invalid|uninitialized" "$work/sanitizer.log" | head -10 | tee -a "$log"
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
# Issue 19: sparse embedding updates on the GPU. MF at MovieLens-32M's shape (a synthetic release
# made here: ~18 s, 860 MB) with each embedding optimizer, and the BST's accuracy over 3 seeds
# with them on ML-1M (the dense figures are the README's).
summarise() {  # summarise RUN_DIR NAME: throughput, data time and MAE from summary.json
  "$python" - "$1" "$2" <<'PY'
import json, sys
s = json.load(open(sys.argv[1] + "/summary.json"))
print(sys.argv[2], f"{s['samples_per_second']:,.0f} samples/s, data {s['data_seconds']:.1f} s, valid MAE {s['valid']['mae']:.5f}")
PY
}
if want sparse_32m; then
  synth32="$work/synth-32m"
  shape=(--ratings 32000000 --users 200948 --movies 87585)
  [ "$dry" = 1 ] && shape=(--ratings 200000 --users 2000 --movies 1000)
  "$bin" synth --out "$synth32" --format csv "${shape[@]}" >"$work/synth-32m.log" 2>&1
  for opt in dense lazy_adam rowwise_adagrad; do
    steps=1000; [ "$opt" = dense ] && steps=300
    stage "sparse_32m_$opt" 30 "$bin" --config configs/mf.yaml "${common[@]}" --set "data.dir=$synth32" \
      --set train.epochs=1 --set "train.max_steps_per_epoch=$steps" --set train.ranking=off \
      --set "train.embedding_optimizer=$opt" --set "output.dir=$work/sparse-32m-$opt" &&
      say "$(summarise "$work/sparse-32m-$opt" "$opt")"
  done
  # At this size data.windows=auto gathers the windows per batch (tensor ops on the device);
  # materialized on the device they take 4.6 GB: which is faster on the GPU is not yet measured.
  stage "sparse_32m_lazy_adam_materialized" 30 "$bin" --config configs/mf.yaml "${common[@]}" \
    --set "data.dir=$synth32" --set train.epochs=1 --set train.max_steps_per_epoch=1000 --set train.ranking=off \
    --set train.embedding_optimizer=lazy_adam --set data.windows=materialized \
    --set "output.dir=$work/sparse-32m-lazy_adam-materialized" &&
    say "$(summarise "$work/sparse-32m-lazy_adam-materialized" "lazy_adam, windows materialized")"
  rm -rf "$synth32"
fi
if want sparse_bst_seeds; then
  for opt in lazy_adam rowwise_adagrad; do
    stage "sparse_bst_$opt" 60 "$bin" --config configs/seq_features.yaml "${common[@]}" \
      --set "train.embedding_optimizer=$opt" --set "output.dir=$work/sparse-bst-$opt" --seeds 42,1,2
  done
fi
# The Python reference on the same GPU and data (speed ratios), last: the longest to wait for.
if [ -f "$reference" ]; then
  run_stage reference 60 "$python" bench/compare_reference.py --binary "$bin" --reference "$reference" --data "$data" \
    --models mf,seq_features --epochs 1 --max-steps "$ref_steps" --set "train.device=$device" "${kernels[@]}" \
    --out "$work/compare.json"
fi
# Why mlrec's own kernels take what the ncu stage measured (the attention's two, ~50 us each for
# work the GPU's memory streams in a few us, are the largest): occupancy, launch shape, warp stall
# reasons and memory traffic of one step's worth of them, ncu's text report. Last, and not in the
# issue-21 list: it runs where a call has time left.
if command -v ncu >/dev/null && want ncu_detail; then
  run_stage ncu_detail 60 timeout 150 ncu --clock-control none \
    --kernel-name "regex:^(attention|gelu_dropout|partial_column_sums|layer_norm|batch_norm_mish|mf_)" \
    --launch-skip 60 --launch-count 40 --section SpeedOfLight --section Occupancy --section LaunchStats \
    --section WarpStateStats --section SchedulerStats --section MemoryWorkloadAnalysis \
    "$bin" bench --config configs/seq_features.yaml "${common[@]}" --set "output.dir=$work/runs-ncu-detail" \
    "${kernels[@]}" --set "train.precision=${MLREC_GPU_NCU_PRECISION:-tf32}" --set train.epochs=1 \
    --set train.max_steps_per_epoch=20
  grep -E "^  [a-z_]+.*\(|Duration|Achieved Occupancy|Theoretical Occupancy|Registers Per|Block Limit|Stall|Memory Throughput" \
    "$work/ncu_detail.log" 2>/dev/null | head -80 | tee -a "$log"
fi
say "done"
bundle
