#!/usr/bin/env bash
# Each rank's local rank (which picks its GPU) on one host:
#   1. from Open MPI's OMPI_COMM_WORLD_LOCAL_RANK: ranks 0 and 1
#   2. where the launcher's variable does not number the ranks apart (an mpirun other than Open
#      MPI's inside a Slurm job leaves every rank the batch step's SLURM_LOCALID=0; here
#      Open MPI's variable is removed and SLURM_LOCALID=0 set for both): MPI's own numbering,
#      still 0 and 1 (every rank read 0, so every rank would have taken GPU 0)
# usage: placement_test.sh MLREC_DIST MPIRUN_WRAPPER
set -uo pipefail
bin="$1"
mpirun_local="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; echo "--- output ---"; cat "$work/out" 2>/dev/null; exit 1; }

"$bin" synth --out "$work/data" --users 60 --movies 30 --seed 4 >/dev/null || fail "synth"
train_args=(--config "$(dirname "$0")/../../configs/smoke.yaml" --set "data.dir=$work/data" --set train.epochs=1
            --set train.batch_size=16 --set train.log_every_steps=0 --set train.threads=1)

expect_local_ranks() {
  grep -q "rank 0: host .*, local rank 0," "$work/out" || fail "$1: rank 0 is not local rank 0"
  grep -q "rank 1: host .*, local rank 1," "$work/out" || fail "$1: rank 1 is not local rank 1"
}

echo "== 1. Open MPI's local rank"
timeout 120 "$mpirun_local" 2 "$bin" train "${train_args[@]}" --set "output.dir=$work/run1" >"$work/out" 2>&1 ||
  fail "the run failed"
expect_local_ranks "Open MPI"

echo "== 2. SLURM_LOCALID=0 on both ranks"
timeout 120 "$mpirun_local" 2 /usr/bin/env -u OMPI_COMM_WORLD_LOCAL_RANK SLURM_LOCALID=0 \
  "$bin" train "${train_args[@]}" --set "output.dir=$work/run2" >"$work/out" 2>&1 || fail "the run failed"
expect_local_ranks "SLURM_LOCALID=0"
grep -q "does not number this host's 2 ranks apart" "$work/out" || fail "no warning about the launcher's variable"
echo "2 passed, 0 failed"
