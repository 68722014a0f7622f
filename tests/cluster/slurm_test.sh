#!/usr/bin/env bash
# launch/slurm.sbatch on a real (one-host) Slurm cluster, started under a temporary directory
# by tests/cluster/slurm_cluster.sh (issue 16):
#   plain     sbatch --ntasks=2 --cpus-per-task=1 launch/slurm.sbatch ... (srun --mpi=pmix) trains
#             MF to exactly the metrics of the same run under launch/mpirun_local.sh 2; the
#             binary is found in $SLURM_SUBMIT_DIR/build, the run directory is runs/slurm-JOBID
#   missing   MLREC_DIST naming no binary: the job fails at once with a clear error
#   slow      scancel while stand-in ranks take 3 s to checkpoint after SIGTERM: srun's own
#             SIGKILL request does not cut them short; exit 143, the job is not requeued
#   batch_usr1  SIGUSR1 to the batch shell only (sbatch --signal=B:USR1@T): the script's trap
#             passes it to srun, srun to the (stand-in) ranks: exit 138, the job requeues itself
#   usr1      scancel --signal=USR1 mid-run: the ranks checkpoint and exit 138, the script
#             requeues its job, the next attempt resumes; the result is identical to the
#             uninterrupted run and the job's output file holds both attempts
#   requeue   scontrol requeue from outside (what preemption with PreemptMode=REQUEUE does):
#             SIGTERM, checkpoint, exit 143, Slurm requeues, the next attempt resumes; identical
#   array     a sweep as a job array (launch/sweep.sbatch): one trial per array task; the ranked
#             table the last task writes equals `mlrec_dist sweep` run outside Slurm
# A requeue timeline (seconds since submission) is printed for both preemptions.
# usage: slurm_test.sh MLREC_DIST PYTHON        (root; Slurm 22.05 and munge installed)
set -uo pipefail
bin="$(realpath "$1")"
py="$2"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cluster_sh="$here/slurm_cluster.sh"
work="$(mktemp -d)"
cluster="$work/cluster"
t0=$SECONDS

cleanup() {
  if [ -n "${MLREC_SLURM_TEST_KEEP:-}" ]; then   # a folder to keep the job outputs and daemon logs in
    mkdir -p "$MLREC_SLURM_TEST_KEEP" && cp -r "$work"/*.out "$work"/*.log "$cluster/log" "$MLREC_SLURM_TEST_KEEP"/ 2>/dev/null
  fi
  "$cluster_sh" stop "$cluster"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "slurm_test: interrupted"; exit 130' INT TERM

fail() {
  echo "FAIL (slurm): $*"
  local f
  for f in "$work"/*.log "$work"/*.out; do
    [ -f "$f" ] || continue
    echo "--- $f (last 40 lines)"
    tail -40 "$f"
  done
  if [ -n "${job:-}" ]; then
    echo "--- scontrol show job $job"
    timeout 10 scontrol show job "$job" 2>&1
  fi
  "$cluster_sh" logs "$cluster"
  exit 1
}

for t in sbatch scontrol scancel slurmctld slurmd munged mpirun; do
  command -v "$t" >/dev/null || fail "$t not found (Debian 12: slurmctld slurmd slurm-client munge openmpi-bin)"
done

"$bin" synth --out "$work/data" --users 240 --movies 90 --seed 5 >/dev/null || fail "synth"

# A small MF: 8 epochs of 1,151 steps (global batch 8), ~10 s on 2 ranks of a 2-core machine,
# a checkpoint every 200 steps.
mf=("$root/configs/smoke.yaml" --set "data.dir=$work/data" --set train.threads=1
    --set train.log_every_steps=0 --set train.epochs=8 --set train.max_steps_per_epoch=0
    --set train.batch_size=8 --set train.patience=0 --set checkpoint.every_steps=200)

# The reference: the same run under mpirun.
"$root/launch/mpirun_local.sh" 2 "$bin" --config "${mf[@]}" --set "output.dir=$work/ref" \
  >"$work/ref.log" 2>&1 || fail "the reference run under mpirun_local.sh failed"
echo "   reference run under launch/mpirun_local.sh 2: done ($((SECONDS - t0)) s)"

"$cluster_sh" start "$cluster" 4 $$ || fail "the Slurm cluster did not start"
export SLURM_CONF="$cluster/slurm.conf"
# Open MPI refuses root without these (mpirun's --allow-run-as-root); sbatch passes them on.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
unset MLREC_DIST MLREC_RUN_DIR SLURM_JOB_ID

now() { date +%s.%N; }
field() {  # field JOB KEY: a value of `scontrol show job`
  timeout 10 scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}
# wait_for SECONDS WHAT CHECK...: runs CHECK every 0.2 s until it succeeds; fails after SECONDS.
wait_for() {
  local limit="$1" what="$2" deadline
  shift 2
  deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$what: not within $limit s"
    sleep 0.2
  done
}
state_is() { [ "$(field "$job" JobState)" = "$1" ]; }
done_state() { case "$(field "$job" JobState)" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED|BOOT_FAIL|DEADLINE) return 0 ;; esac; return 1; }
restarted() { [ "$(field "$job" Restarts)" -ge 1 ] 2>/dev/null; }
running_again() { restarted && state_is RUNNING; }
again_or_done() { running_again || { restarted && done_state; }; }
started() { state_is RUNNING || done_state; }            # a job that ends at once is seen too
epoch1_or_done() { in_out "epoch 1/8" || done_state; }
in_out() { grep -q -- "$1" "$out" 2>/dev/null; }
has_checkpoint() { ls -d "$work/runs/slurm-$job"/checkpoints/step-* >/dev/null 2>&1; }
expect_done() {  # expect_done WHAT: the job ended COMPLETED with exit 0
  local st code
  st="$(field "$job" JobState)"
  code="$(field "$job" ExitCode)"
  [ "$st" = COMPLETED ] && [ "$code" = "0:0" ] || fail "$1: job $job ended $st, exit code $code"
}
# submit NAME ARGS...: sbatch from $work (the default run directory and output file land there)
# with the allocation of the test and the small MF; sets $job, $out and $t_submit.
submit() {
  local name="$1"
  shift
  t_submit="$(now)"
  job="$(cd "$work" && sbatch --parsable --job-name="mlrec-$name" --ntasks=2 --cpus-per-task=1 "$@" \
           "$root/launch/slurm.sbatch" "${mf[@]}" 2>"$work/sbatch-$name.log")" ||
    fail "$name: sbatch failed: $(cat "$work/sbatch-$name.log")"
  job="${job%%;*}"
  out="$work/mlrec-$job.out"
}
at() { awk -v t="$1" -v s="$t_submit" 'BEGIN { printf "%6.1f s", t - s }'; }

# preempt NAME HOW: a job stopped mid-run by HOW (usr1: scancel --signal=USR1 to its tasks;
# requeue: scontrol requeue from outside), requeued, resumed, identical to the reference.
preempt() {
  local name="$1" how="$2" sig stop_line t_start t_signal t_ckpt t_requeue t_restart t_end ckpt
  submit "$name"
  wait_for 60 "$name: job $job running" started
  t_start="$(now)"
  # Past the first epoch: a checkpoint (every 200 steps, and the epoch's) is on disk.
  wait_for 90 "$name: job $job training past epoch 1" epoch1_or_done
  ! done_state || fail "$name: job $job ended ($(field "$job" JobState), exit $(field "$job" ExitCode)) before the signal"
  # (A checkpoint is on disk, so the stop below has one to resume from whatever it writes itself.)
  wait_for 30 "$name: a checkpoint of job $job on disk" has_checkpoint
  t_signal="$(now)"
  if [ "$how" = usr1 ]; then
    sig=SIGUSR1
    scancel --signal=USR1 "$job" || fail "$name: scancel --signal=USR1 $job failed"
  else
    sig=SIGTERM
    scontrol requeue "$job" || fail "$name: scontrol requeue $job failed"
  fi
  stop_line="stopped by $sig; checkpoint: "
  wait_for 30 "$name: the ranks' checkpoint on $sig" in_out "$stop_line"
  t_ckpt="$(now)"
  wait_for 30 "$name: job $job requeued" restarted
  t_requeue="$(now)"
  wait_for 90 "$name: job $job running again" again_or_done
  t_restart="$(now)"
  wait_for 90 "$name: job $job finished" done_state
  t_end="$(now)"
  expect_done "$name"

  grep -q "$sig received: stopping at epoch" "$out" || fail "$name: the ranks did not stop on $sig"
  ckpt="$(grep -o "$stop_line.*checkpoints/step-[0-9]*" "$out" | head -1 | sed "s/^$stop_line//")"
  [ -n "$ckpt" ] || fail "$name: the stop's checkpoint is not named"
  grep -q "attempt 1 on" "$out" && grep -q "attempt 2 on" "$out" ||
    fail "$name: $out does not hold both attempts (--open-mode=append)"
  [ "$(grep -c 'resuming from' "$out")" -eq 1 ] || fail "$name: not exactly one resume"
  grep -q "resuming from $ckpt " "$out" || fail "$name: the next attempt did not resume from $ckpt"
  if [ "$how" = usr1 ]; then
    grep -q "exit code 138" "$out" || fail "$name: the ranks did not exit 138"
    grep -q "slurm.sbatch: the ranks stopped on SIGUSR1 .*requeueing job $job" "$out" ||
      fail "$name: the batch script did not requeue its job"
  else
    grep -q "slurm.sbatch: the ranks stopped on SIGTERM .*not requeued here" "$out" ||
      fail "$name: the batch script did not see the ranks stop on SIGTERM"
  fi
  "$py" "$root/tests/e2e/compare_runs.py" exact "$work/ref" "$work/runs/slurm-$job" ||
    fail "$name: the resumed run differs from the uninterrupted one"
  echo "   $name: job $job stopped by $sig at $(grep -o "stopping at epoch [0-9]* step [0-9/]*" "$out" | head -1 | sed 's/^stopping at //')," \
       "requeued, resumed from ${ckpt##*/}, identical to the reference"
  echo "     timeline (since submission): submitted $(date -d "@$t_submit" +%T)," \
       "started $(at "$t_start"), $sig sent $(at "$t_signal"), checkpoint written $(at "$t_ckpt")," \
       "requeued $(at "$t_requeue"), restarted $(at "$t_restart"), finished $(at "$t_end")"
  echo "     requeue to restart: $(awk -v a="$t_requeue" -v b="$t_restart" 'BEGIN { printf "%.1f s", b - a }')" \
       "(the requeued job is eligible cred_expire + 1 s after its requeue; the scheduler then starts it)"
}

# plain: no MLREC_DIST, so the binary is $SLURM_SUBMIT_DIR/build/mlrec_dist.
mkdir -p "$work/build" && ln -s "$bin" "$work/build/mlrec_dist"
submit plain
wait_for 120 "plain: job $job finished" done_state
expect_done plain
grep -q "run directory runs/slurm-$job" "$out" || fail "plain: the run directory is not runs/slurm-$job"
grep -q "rank 1: host .*cpu (1 threads)" "$out" || fail "plain: not 2 ranks of 1 thread"
"$py" "$root/tests/e2e/compare_runs.py" exact "$work/ref" "$work/runs/slurm-$job" ||
  fail "plain: the Slurm run differs from the mpirun run"
metrics() {
  "$py" -c 'import json, sys; v = json.load(open(sys.argv[1]))["valid"]; print("valid MAE %.6f RMSE %.6f" % (v["mae"], v["rmse"]))' "$1/summary.json"
}
echo "   plain: sbatch --ntasks=2 (srun --mpi=pmix), job $job: $(metrics "$work/runs/slurm-$job");" \
     "mpirun_local.sh 2: $(metrics "$work/ref"): identical"
rm "$work/build/mlrec_dist"

# missing: a clear error, exit 2, no requeue.
MLREC_DIST="$work/nowhere/mlrec_dist" submit missing
wait_for 60 "missing: job $job finished" done_state
[ "$(field "$job" JobState)" = FAILED ] && [ "$(field "$job" ExitCode)" = "2:0" ] ||
  fail "missing: job $job ended $(field "$job" JobState) $(field "$job" ExitCode), expected FAILED 2:0"
grep -q "mlrec_dist not found at $work/nowhere/mlrec_dist" "$out" || fail "missing: no clear error"
[ "$(field "$job" Restarts)" = 0 ] || fail "missing: a failed job was requeued"
echo "   missing binary: job $job failed at once (exit 2), the path named, not requeued"

# slow: ranks that take 3 s to write their checkpoint after SIGTERM (a large model) are not cut
# short by srun, which turns its own SIGTERM into a SIGKILL request for its step: a plain
# scancel (KillWait=5) lets both finish, exit 143, and the job is not requeued.
cat >"$work/slow_rank" <<'EOF'
#!/usr/bin/env bash
stop() { echo "slow rank $SLURM_PROCID: $1, checkpointing for 3 s"; sleep 3; echo "slow rank $SLURM_PROCID: checkpoint written"; exit "$2"; }
trap 'stop SIGTERM 143' TERM
trap 'stop SIGUSR1 138' USR1
echo "slow rank $SLURM_PROCID: training"
for _ in $(seq 1 600); do sleep 0.1; done
EOF
chmod +x "$work/slow_rank"
MLREC_DIST="$work/slow_rank" submit slow
wait_for 60 "slow: job $job running" started
ranks_training() { [ "$(grep -c "training" "$out" 2>/dev/null)" -eq 2 ] || done_state; }
wait_for 30 "slow: both ranks started" ranks_training
! done_state || fail "slow: job $job ended ($(field "$job" JobState), exit $(field "$job" ExitCode)) before scancel"
scancel "$job" || fail "slow: scancel $job failed"
wait_for 30 "slow: job $job finished" done_state
[ "$(grep -c "slow rank .: checkpoint written" "$out")" -eq 2 ] ||
  fail "slow: a rank was killed during its 3 s checkpoint after SIGTERM"
grep -q "exit code 143" "$out" && grep -q "slurm.sbatch: the ranks stopped on SIGTERM .*not requeued here" "$out" ||
  fail "slow: the ranks' exit 143 was not seen by the batch script"
[ "$(field "$job" JobState)" = CANCELLED ] && [ "$(field "$job" Restarts)" = 0 ] ||
  fail "slow: job $job ended $(field "$job" JobState) with $(field "$job" Restarts) restarts, expected CANCELLED, 0"
echo "   scancel with ranks that checkpoint for 3 s: both finish (KillWait 5 s), exit 143, job $job not requeued"

# SIGUSR1 to the batch shell alone (as sbatch --signal=B:USR1@T sends it): its trap passes it to
# srun, srun to the ranks; they exit 138 and the script requeues its job (cancelled here, pending).
MLREC_DIST="$work/slow_rank" submit batch_usr1
wait_for 60 "batch_usr1: job $job running" started
wait_for 30 "batch_usr1: both ranks started" ranks_training
! done_state || fail "batch_usr1: job $job ended ($(field "$job" JobState), exit $(field "$job" ExitCode)) before the signal"
scancel --batch --signal=USR1 "$job" || fail "batch_usr1: scancel --batch --signal=USR1 $job failed"
wait_for 30 "batch_usr1: job $job requeued by its script" restarted
[ "$(grep -c "slow rank .: checkpoint written" "$out")" -eq 2 ] && grep -q "exit code 138" "$out" &&
  grep -q "slurm.sbatch: SIGUSR1 to the batch shell" "$out" &&
  grep -q "slurm.sbatch: the ranks stopped on SIGUSR1 .*requeueing job $job" "$out" ||
  fail "batch_usr1: SIGUSR1 to the batch shell did not stop both ranks (exit 138) and requeue the job"
scancel "$job"
wait_for 30 "batch_usr1: job $job cancelled" done_state
echo "   SIGUSR1 to the batch shell: passed on by srun to both ranks, exit 138, job $job requeued by its script"

export MLREC_DIST="$bin"
preempt usr1 usr1
preempt requeue requeue

# array: a sweep as a job array (launch/sweep.sbatch): trial i in array task i, each a one-rank
# run; the ranked table written when the last task finishes equals `mlrec_dist sweep` run here.
for name in ref array; do
  cat >"$work/sweep-$name.yaml" <<SWEEP
base: $root/configs/smoke.yaml
output: $work/sweep-$name
set:
  data.dir: $work/data
  train.threads: 1
  train.log_every_steps: 0
  train.epochs: 2
  train.batch_size: 64
grid:
  train.lr: [0.003, 0.01, 0.03]
SWEEP
done
"$bin" sweep --sweep "$work/sweep-ref.yaml" >"$work/sweep-ref.log" 2>&1 || fail "array: the sweep run here failed"
count="$("$bin" sweep --sweep "$work/sweep-array.yaml" --count)"
[ "$count" = 3 ] || fail "array: sweep --count printed '$count', expected 3"
t_submit="$(now)"
job="$(cd "$work" && sbatch --parsable --array=0-$((count - 1)) --ntasks=1 --cpus-per-task=1 \
         "$root/launch/sweep.sbatch" "$work/sweep-array.yaml" 2>"$work/sbatch-array.log")" ||
  fail "array: sbatch failed: $(cat "$work/sbatch-array.log")"
job="${job%%;*}"
out="$work/mlrec-sweep-${job}_2.out"
array_done() { [ "$(timeout 10 scontrol show job "$job" 2>/dev/null | grep -c 'JobState=COMPLETED')" -eq "$count" ]; }
array_over() { ! timeout 10 scontrol show job "$job" 2>/dev/null | grep -qE 'JobState=(PENDING|RUNNING|COMPLETING)'; }
wait_for 120 "array: the $count tasks of job $job finished" array_over
array_done || fail "array: not every task of job $job completed: $(scontrol show job "$job" | grep -o 'JobState=[A-Z]*' | tr '\n' ' ')"
for i in 0 1 2; do
  grep -q "sweep.sbatch: trial $i of 3" "$work/mlrec-sweep-${job}_$i.out" || fail "array: task $i did not run trial $i"
done
cmp -s "$work/sweep-ref/results.json" "$work/sweep-array/results.json" ||
  fail "array: the job array's results differ from the sweep run here: $(diff "$work/sweep-ref/results.json" "$work/sweep-array/results.json" | head -5)"
! grep -q "not finished" "$work/sweep-array/results.md" || fail "array: the last table still has unfinished trials"
echo "   array: job $job ran 3 trials as array tasks in $(at "$(now)"); the ranked table equals the sweep run here"

echo "PASS (slurm): $((SECONDS - t0)) s"
