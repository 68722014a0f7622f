#!/usr/bin/env bash
# A failing rank must end the whole job, never hang it:
#   1. a rank that throws (here: rank 1 alone points at a data folder that does not exist) -> non-zero exit, quickly
#   2. a rank stopped with SIGSTOP -> the others time out (dist.timeout_seconds) and name it
#   3. a rank killed with SIGKILL -> the job ends non-zero quickly
# usage: fault_test.sh MLREC_DIST MPIRUN_WRAPPER
set -uo pipefail
bin="$1"
mpirun_local="$2"
work="$(mktemp -d)"
trap 'pkill -KILL -f "$work" 2>/dev/null; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; echo "--- output ---"; cat "$work/out" 2>/dev/null; exit 1; }

"$bin" synth --out "$work/data" --users 400 --movies 120 --seed 4 >/dev/null || fail "synth"
# Long enough to still be training when the fault is injected (tiny batches, many epochs).
train_args=(--config "$(dirname "$0")/../../configs/smoke.yaml" --set "data.dir=$work/data"
            --set "output.dir=$work/run" --set train.epochs=500 --set train.max_steps_per_epoch=0
            --set train.batch_size=8 --set train.log_every_steps=0 --set train.threads=1)

elapsed() { echo $(( $(date +%s) - $1 )); }

# Waits until training has produced its first epoch (so every rank is inside the loop).
wait_for_training() {
  for _ in $(seq 1 300); do
    grep -q "epoch 1/" "$work/out" 2>/dev/null && return 0
    sleep 0.2
  done
  fail "training did not start"
}

# PID of the process whose Open MPI rank is $1
rank_pid() {
  for pid in $(pgrep -f "output.dir=$work/run"); do
    if tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1"; then
      echo "$pid"
      return 0
    fi
  done
  return 1
}

echo "== 1. a rank that throws"
start=$(date +%s)
flags=(--oversubscribe --bind-to none)
[ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
timeout 120 mpirun "${flags[@]}" -np 1 "$bin" "${train_args[@]}" : \
  -np 1 "$bin" "${train_args[@]}" --set "data.dir=$work/nowhere" >"$work/out" 2>&1
status=$?
[ "$status" -ne 0 ] || fail "job exited 0 although rank 1 failed"
[ "$status" -ne 124 ] || fail "job hung"
grep -q "no MovieLens release found: data directory $work/nowhere" "$work/out" || fail "rank 1's error was not reported"
echo "   exit $status after $(elapsed "$start") s"

# Starts a 2-rank run (extra arguments appended), sends signal $1 to rank 1 once training is
# under way, and waits for the job: sets status and took (seconds from the signal to the end).
signal_rank_1() {
  local signal="$1"
  shift
  timeout 120 "$mpirun_local" 2 "$bin" "${train_args[@]}" "$@" >"$work/out" 2>&1 &
  local job=$!
  wait_for_training
  local pid
  pid="$(rank_pid 1)" || fail "rank 1 not found"
  kill "-$signal" "$pid"
  local start
  start=$(date +%s)
  wait "$job"
  status=$?
  took=$(elapsed "$start")
  [ "$status" -ne 0 ] || fail "job exited 0 after SIG$signal to rank 1"
  [ "$status" -ne 124 ] || fail "job hung after SIG$signal to rank 1"
}

echo "== 2. a stopped rank trips the timeout"
signal_rank_1 STOP --set dist.timeout_seconds=5
[ "$took" -le 25 ] || fail "the job took $took s to end (timeout 5 s)"
grep -q "rank 1 did not arrive" "$work/out" || fail "the report does not name rank 1"
echo "   exit $status after $took s: $(grep -o 'rank 1 did not arrive at.*' "$work/out" | head -1)"

echo "== 3. a killed rank"
# (another run directory: the stopped run of case 2 would be resumed, mid-way, in its own)
signal_rank_1 KILL --set "output.dir=$work/run3"
[ "$took" -le 30 ] || fail "the job took $took s to end"
echo "   exit $status after $took s"
echo "3 passed, 0 failed"
