#!/usr/bin/env bash
# Checkpoints, resuming and stop signals, end to end on generated data (issue 15):
#   exact       a run stopped by a signal (mid-epoch, during evaluation) and resumed ends
#               bit-identical to the uninterrupted run: MF and a sequence model, 1 and 2 ranks
#   world_size  resumed on another number of ranks (2 -> 1, 1 -> 3): the same epochs, every
#               validation row scored, metrics within a tolerance
#   safety      a finished run is not trained again; a damaged newest checkpoint falls back; a
#               checkpoint of another configuration or other data is refused; a directory
#               holding another run is refused (or overwritten when asked); a locked directory
#               is refused; a NaN loss stops the run; a checkpoint that cannot be written is
#               one error line
#   kill9       kill -9 at up to 20 random moments with a checkpoint every step: every restart
#               resumes from a complete checkpoint and the run ends bit-identical
#   agree       ranks given different settings (mpirun's MPMD form) stop before training
#   launchers   SIGUSR1 to mpirun (forwarded), SIGTERM to mpirun (its grace period set), and
#               SIGTERM to one rank (as srun delivers it)
#   gpu         (not in ctest: scripts/gpu_check.sh runs it, stage graphed_resume) on a GPU, with
#               the step and the optimizer's update in a CUDA graph: stopped mid-epoch and
#               resumed, MF and the sequence model end as the uninterrupted run, to a tolerance
#               (the embeddings' atomic adds on the GPU are not bit-reproducible). The device
#               schedule's step counter must start at the resumed step: the trainer checks it
#               against its own count every epoch. MLREC_RESUME_DEVICE=cpu rehearses it.
# usage: resume_test.sh MLREC_DIST MPIRUN_WRAPPER PYTHON SECTION
set -uo pipefail
bin="$1"
mpirun_local="$2"
py="$3"
section="$4"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'pkill -KILL -f "$work" 2>/dev/null; rm -rf "$work"' EXIT
fail() { echo "FAIL ($section): $*"; for f in "$work"/*.log; do echo "--- $f"; tail -20 "$f"; done; exit 1; }

"$bin" synth --out "$work/data" --users 240 --movies 90 --seed 5 >/dev/null || fail "synth"

# A small MF and a small sequence model (with dropout: its random state must resume too).
mf=(--config "$here/../../configs/smoke.yaml" --set "data.dir=$work/data" --set train.threads=1
    --set train.log_every_steps=0 --set train.epochs=3 --set train.max_steps_per_epoch=0
    --set train.batch_size=96 --set train.patience=0)
seq=(--config "$here/../../configs/seq_features.yaml" --set "data.dir=$work/data" --set train.threads=1
     --set train.log_every_steps=0 --set train.epochs=2 --set train.max_steps_per_epoch=12
     --set train.batch_size=96 --set model.embedding_dim=16 --set model.heads=2 --set model.ff_dim=32
     --set model.mlp_dims=32,16 --set data.sequence_length=4)

# run NAME NP ARGS...: trains into $work/NAME with NP ranks (1: no mpirun); sets $status.
run() {
  local name="$1" np="$2"
  shift 2
  if [ "$np" -eq 1 ]; then
    "$bin" "$@" --set "output.dir=$work/$name" >>"$work/$name.log" 2>&1
  else
    "$mpirun_local" "$np" "$bin" "$@" --set "output.dir=$work/$name" >>"$work/$name.log" 2>&1
  fi
  status=$?
}
expect_status() {  # expect_status WANTED WHAT
  [ "$status" -eq "$1" ] || fail "$2: exit $status, expected $1"
}
exact() { "$py" "$here/compare_runs.py" exact "$work/$1" "$work/$2" || fail "$2 differs from $1"; }

# stop_and_resume REF NAME NP SIGNAL_SPEC ARGS...: a run stopped by MLREC_TEST_SIGNAL, then the
# same command again; the result must equal REF's exactly.
stop_and_resume() {
  local ref="$1" name="$2" np="$3" spec="$4"
  shift 4
  MLREC_TEST_SIGNAL="$spec" run "$name" "$np" "$@"
  [ "$status" -ne 0 ] || fail "$name: a run stopped by $spec exited 0"
  [ "$np" -gt 1 ] || expect_status 143 "$name stopped by $spec"
  grep -q "SIGTERM received: stopping" "$work/$name.log" || fail "$name: no stop logged"
  grep -q "checkpoint: .*checkpoints/step-" "$work/$name.log" || fail "$name: the checkpoint is not named"
  [ ! -f "$work/$name/summary.json" ] || fail "$name: a stopped run wrote summary.json"
  run "$name" "$np" "$@"
  expect_status 0 "$name resumed"
  grep -q "resuming from .*checkpoints/step-" "$work/$name.log" || fail "$name: did not resume"
  exact "$ref" "$name"
  echo "   $name: stopped by $spec, resumed, identical to $ref"
}

case "$section" in
exact)
  run ref_mf 1 "${mf[@]}"; expect_status 0 "ref_mf"
  stop_and_resume ref_mf mf_mid 1 "TERM@train:2:5" "${mf[@]}"
  grep -q "stopping at epoch 2 step 5/" "$work/mf_mid.log" || fail "mf_mid did not stop at epoch 2 step 5"
  stop_and_resume ref_mf mf_eval 1 "TERM@eval:2" "${mf[@]}"
  grep -q "stopping after epoch 2" "$work/mf_eval.log" || fail "mf_eval did not stop after epoch 2's evaluation"
  run ref_seq 1 "${seq[@]}"; expect_status 0 "ref_seq"
  stop_and_resume ref_seq seq_mid 1 "TERM@train:1:7" "${seq[@]}"
  stop_and_resume ref_seq seq_eval 1 "TERM@eval:1" "${seq[@]}"
  # Two ranks: the signal reaches rank 1 only; both stop at the same step.
  run ref_mf2 2 "${mf[@]}"; expect_status 0 "ref_mf2"
  stop_and_resume ref_mf2 mf2_mid 2 "TERM@train:2:3:1" "${mf[@]}"
  # The epoch's communication wait before the stop is resumed with it (it restarted at 0, so a
  # resumed run's comm_wait_share read 0.03 where the uninterrupted one's read 0.4).
  MLREC_TEST_SIGNAL="TERM@train:2:3:1" run comm2 2 "${mf[@]}"
  saved=$("$py" -c 'import glob, json, sys
print(json.load(open(sorted(glob.glob(sys.argv[1] + "/checkpoints/step-*/checkpoint.json"))[-1]))["state"]["trainer"]["epoch_comm_wait_seconds"])' "$work/comm2") ||
    fail "comm2: no epoch_comm_wait_seconds in the stop's checkpoint"
  run comm2 2 "${mf[@]}"; expect_status 0 "comm2 resumed"
  "$py" -c 'import json, sys
epochs = [json.loads(line) for line in open(sys.argv[1] + "/metrics.jsonl")]
saved = float(sys.argv[2])
assert saved > 0 and epochs[1]["comm_wait_seconds"] >= saved, (saved, epochs[1]["comm_wait_seconds"])' "$work/comm2" "$saved" ||
    fail "comm2: epoch 2's comm_wait_seconds lost the $saved s before the stop"
  echo "   comm2: the wait before the stop ($saved s) is part of epoch 2's comm_wait_seconds"
  run ref_seq2 2 "${seq[@]}"; expect_status 0 "ref_seq2"
  stop_and_resume ref_seq2 seq2_mid 2 "TERM@train:1:4:1" "${seq[@]}"
  # Several ranks read a step's agreement after the next step (so that no step waits for it):
  # rank 1's signal of step 4 stops every rank after step 5.
  grep -q "stopping at epoch 1 step 5/12" "$work/seq2_mid.log" || fail "seq2_mid did not stop at epoch 1 step 5"
  # A signal of the epoch's second-last step is in the agreement still in flight at its end:
  # every rank stops after the epoch's evaluation.
  stop_and_resume ref_seq2 seq2_late 2 "TERM@train:1:11:1" "${seq[@]}"
  grep -q "stopping after epoch 1" "$work/seq2_late.log" || fail "seq2_late did not stop after epoch 1"
  stop_and_resume ref_seq2 seq2_eval 2 "TERM@eval:1:0" "${seq[@]}"
  # Sparse table updates: the tables' optimizer state (moments, row sums, step counts) resumes
  # too, on 1 and 2 ranks.
  run ref_lazy 1 "${mf[@]}" --set train.embedding_optimizer=lazy_adam; expect_status 0 "ref_lazy"
  stop_and_resume ref_lazy lazy_mid 1 "TERM@train:2:5" "${mf[@]}" --set train.embedding_optimizer=lazy_adam
  run ref_rowwise2 2 "${seq[@]}" --set train.embedding_optimizer=rowwise_adagrad; expect_status 0 "ref_rowwise2"
  stop_and_resume ref_rowwise2 rowwise2_mid 2 "TERM@train:1:4:1" "${seq[@]}" --set train.embedding_optimizer=rowwise_adagrad
  ;;

world_size)
  # A global batch that 1, 2 and 3 ranks divide.
  ws=("${mf[@]}" --set train.batch_size=96)
  run ref_1 1 "${ws[@]}"; expect_status 0 "ref_1"
  MLREC_TEST_SIGNAL="TERM@train:2:4:0" run two_to_one 2 "${ws[@]}"
  [ "$status" -ne 0 ] || fail "two_to_one was not stopped"
  run two_to_one 1 "${ws[@]}"; expect_status 0 "two_to_one resumed on 1 rank"
  grep -q "taken on 2 rank(s)" "$work/two_to_one.log" || fail "two_to_one: the world size change is not reported"
  "$py" "$here/compare_runs.py" close "$work/ref_1" "$work/two_to_one" 0.02 || fail "2 -> 1 ranks"
  MLREC_TEST_SIGNAL="TERM@train:2:4" run one_to_three 1 "${ws[@]}"
  expect_status 143 "one_to_three stopped"
  run one_to_three 3 "${ws[@]}"; expect_status 0 "one_to_three resumed on 3 ranks"
  "$py" "$here/compare_runs.py" close "$work/ref_1" "$work/one_to_three" 0.02 || fail "1 -> 3 ranks"
  echo "   2 -> 1 and 1 -> 3 ranks: same epochs, every validation row, metrics within 0.02"
  ;;

safety)
  run done_run 1 "${mf[@]}"; expect_status 0 "done_run"
  before="$(sha1sum "$work/done_run/metrics.jsonl" "$work/done_run/summary.json")"
  run done_run 1 "${mf[@]}"; expect_status 0 "a finished run resumed"
  grep -q "finished .*nothing to train" "$work/done_run.log" || fail "a finished run did not say so"
  [ "$before" = "$(sha1sum "$work/done_run/metrics.jsonl" "$work/done_run/summary.json")" ] ||
    fail "a finished run was trained again"
  echo "   a finished run: exit 0, nothing trained"

  # The newest checkpoint damaged: the one before it is used, and the result is still exact.
  MLREC_TEST_SIGNAL="TERM@train:3:4" run damaged 1 "${mf[@]}"; expect_status 143 "damaged: stop"
  newest="$(ls -d "$work"/damaged/checkpoints/step-* | sort | tail -1)"
  printf 'garbage' | dd of="$newest/state.pt" bs=1 seek=100 conv=notrunc 2>/dev/null
  run damaged 1 "${mf[@]}"; expect_status 0 "damaged: resume"
  grep -q "damaged: .*falling back" "$work/damaged.log" || fail "the damaged checkpoint was not reported"
  exact done_run damaged
  echo "   a damaged newest checkpoint: reported, the previous one resumed, result identical"

  # A checkpoint continues only its own run.
  ckpt="$(ls -d "$work"/damaged/checkpoints/step-* | sort | tail -1)"
  run other_cfg 1 "${mf[@]}" --set train.lr=0.02 --set "checkpoint.resume=$ckpt"; expect_status 2 "another config"
  grep -q "another configuration: train.lr (0.01 there, 0.02 here)" "$work/other_cfg.log" ||
    fail "the differing key is not named"
  "$bin" synth --out "$work/data2" --users 240 --movies 90 --seed 6 >/dev/null || fail "synth 2"
  run other_data 1 "${mf[@]}" --set "data.dir=$work/data2" --set "checkpoint.resume=$ckpt"
  expect_status 2 "other data"
  grep -q "was taken on other data" "$work/other_data.log" || fail "other data not named"
  [ ! -e "$work/other_cfg/config.yaml" ] && [ ! -e "$work/other_data/config.yaml" ] ||
    fail "a refused run wrote files"
  echo "   a checkpoint of another configuration or other data: refused (exit 2), the difference named"

  # A directory holding another run.
  run done_run 1 "${mf[@]}" --set train.lr=0.02; expect_status 2 "another run's directory"
  grep -q "holds the files of another run (train.lr (0.01 there, 0.02 here))" "$work/done_run.log" ||
    fail "another run's directory: no clear error"
  run done_run 1 "${mf[@]}" --set train.lr=0.02 --set output.overwrite=true; expect_status 0 "overwrite"
  grep -q '"lr": 0.02\|lr: 0.02' "$work/done_run/config.yaml" || fail "overwrite kept the old config"
  echo "   another run's directory: refused, replaced with output.overwrite=true"

  # A directory in use.
  "$bin" "${mf[@]}" --set train.epochs=400 --set train.batch_size=8 --set "output.dir=$work/locked" \
    >"$work/holder.log" 2>&1 &
  holder=$!
  for _ in $(seq 1 200); do grep -q "epoch 1/" "$work/holder.log" && break; sleep 0.1; done
  run locked 1 "${mf[@]}"; expect_status 2 "a locked directory"
  grep -q "is in use by another run (pid $holder on" "$work/locked.log" || fail "the lock holder is not named"
  kill -KILL "$holder"; wait "$holder" 2>/dev/null
  echo "   a directory in use: refused, the holder named"

  # A loss that becomes NaN or infinite.
  run nan 1 "${mf[@]}" --set train.lr=1e300; expect_status 1 "a NaN loss"
  grep -q "training loss became .* at epoch 1 step" "$work/nan.log" || fail "NaN: no error naming the step"
  ! ls "$work"/nan/checkpoints/step-* >/dev/null 2>&1 || fail "NaN: a checkpoint was written"
  echo "   a non-finite loss: exit 1, epoch and step named, no checkpoint"

  # Checks that need the data run before anything is written.
  run big_batch 1 "${mf[@]}" --set train.batch_size=100000; expect_status 2 "a batch larger than the data"
  grep -q "config key 'train.batch_size'" "$work/big_batch.log" || fail "big batch: the key is not named"
  [ ! -e "$work/big_batch" ] || fail "a run refused for its batch size wrote its directory"
  echo "   a global batch larger than the training set: exit 2, nothing written"

  # --seeds stopped during its first seed continues with that seed, then the rest.
  run seeds_ref 1 "${mf[@]}" --seeds 3,4; expect_status 0 "seeds_ref"
  MLREC_TEST_SIGNAL="TERM@train:2:3" run seeds 1 "${mf[@]}" --seeds 3,4; expect_status 143 "seeds: stop"
  [ ! -e "$work/seeds/seed-4" ] || fail "seeds: the second seed started after the stop"
  run seeds 1 "${mf[@]}" --seeds 3,4; expect_status 0 "seeds: continue"
  cmp -s "$work/seeds_ref/seeds.json" "$work/seeds/seeds.json" || fail "seeds.json differs after the resume"
  run seeds 1 "${mf[@]}" --seeds 3,4; expect_status 0 "seeds: again"
  [ "$(grep -c 'finished .*nothing to train' "$work/seeds.log")" -eq 2 ] || fail "seeds: finished seeds trained again"
  echo "   --seeds stopped in its first seed: continued, seeds.json identical; run again, nothing trained"

  # A checkpoint that cannot be written (the file size limit stands in for a full disk).
  (trap '' XFSZ; ulimit -f 40; exec "$bin" "${mf[@]}" --set "output.dir=$work/full" >"$work/full.log" 2>&1)
  status=$?
  expect_status 1 "a checkpoint that cannot be written"
  grep -q "state.pt: cannot write: File too large" "$work/full.log" || fail "full disk: no clear error"
  ! ls -a "$work/full/checkpoints" 2>/dev/null | grep -q partial || fail "full disk: a partial checkpoint was left"
  echo "   a checkpoint that cannot be written: one error line with the reason, exit 1, nothing partial"
  ;;

kill9)
  # Every kill lands while the run trains and writes a checkpoint per step: a start is killed
  # only once it has written one, after a further random 0-0.3 s.
  k=("${mf[@]}" --set train.epochs=4 --set train.batch_size=16 --set checkpoint.every_steps=1 --set checkpoint.keep=3)
  run ref 1 "${k[@]}"; expect_status 0 "ref"
  kills=0
  for i in $(seq 1 20); do
    [ ! -f "$work/killed/summary.json" ] || break
    touch "$work/killed.log"
    written=$(grep -c "^\[mlrec\] checkpoint /" "$work/killed.log")
    "$bin" "${k[@]}" --set "output.dir=$work/killed" >>"$work/killed.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 600); do
      [ "$(grep -c "^\[mlrec\] checkpoint /" "$work/killed.log")" -gt "$written" ] && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    sleep "$(awk -v s="$RANDOM" 'BEGIN { print (s % 100) * 0.003 }')"
    kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
    wait "$pid" 2>/dev/null
  done
  [ "$kills" -ge 10 ] || fail "only $kills kills landed while the run trained"
  run killed 1 "${k[@]}"; expect_status 0 "the run after the kills"
  ! grep -q "damaged" "$work/killed.log" || fail "a checkpoint was damaged by kill -9"
  ! find "$work/killed" -name '.partial-*' -o -name '*.tmp.*' | grep -q . || fail "temporary files were left"
  exact ref killed
  resumed=$(grep -c 'resuming from' "$work/killed.log")
  [ "$resumed" -ge "$kills" ] || fail "$kills kills but only $resumed resumed starts"
  echo "   $kills x kill -9 during training and checkpoint writes: every restart resumed, result identical"
  ;;

agree)
  flags=(--oversubscribe --bind-to none)
  [ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
  for setting in train.seed=7 model.name=seq train.max_steps_per_epoch=3 train.epochs=4; do
    key="${setting%%=*}"
    timeout 120 mpirun "${flags[@]}" -np 1 "$bin" "${mf[@]}" --set "output.dir=$work/mpmd" : \
      -np 1 "$bin" "${mf[@]}" --set "output.dir=$work/mpmd" --set "$setting" >"$work/mpmd.log" 2>&1
    status=$?
    expect_status 2 "ranks disagreeing on $key"
    grep -q "ranks disagree with rank 0 before training: rank 1 has another $key" "$work/mpmd.log" ||
      fail "the differing key $key is not named"
    [ ! -e "$work/mpmd/config.yaml" ] || fail "disagreeing ranks wrote files"
    echo "   ranks disagreeing on $key: exit 2 before training, the key named"
  done
  # Each host may read its own copy of the data: the same data at another path agrees (the
  # path was part of the compared item, and such ranks were refused as "another data").
  cp -r "$work/data" "$work/data_copy"
  timeout 120 mpirun "${flags[@]}" -np 1 "$bin" "${mf[@]}" --set "output.dir=$work/copies" : \
    -np 1 "$bin" "${mf[@]}" --set "output.dir=$work/copies" --set "data.dir=$work/data_copy" >"$work/copies.log" 2>&1
  status=$?
  expect_status 0 "the same data at two paths"
  # ... and other data at another path does not.
  "$bin" synth --out "$work/data_other" --users 240 --movies 90 --seed 6 >/dev/null || fail "synth"
  timeout 120 mpirun "${flags[@]}" -np 1 "$bin" "${mf[@]}" --set "output.dir=$work/others" : \
    -np 1 "$bin" "${mf[@]}" --set "output.dir=$work/others" --set "data.dir=$work/data_other" >"$work/others.log" 2>&1
  status=$?
  expect_status 2 "other data on rank 1"
  grep -q "rank 1 has another data fingerprint" "$work/others.log" || fail "other data: not named"
  echo "   the same data at another path on rank 1 trains; other data is refused"
  ;;

launchers)
  # A rank count that is not one is refused by the launcher, before mpirun starts anything.
  for np in 0 x; do
    "$mpirun_local" "$np" "$bin" "${mf[@]}" --set "output.dir=$work/np$np" >"$work/np.log" 2>&1
    status=$?
    [ "$status" -eq 2 ] || fail "mpirun_local.sh $np: exit $status, not 2"
    grep -q "NP must be a number of ranks >= 1, got '$np'" "$work/np.log" || fail "mpirun_local.sh $np: $(cat "$work/np.log")"
    [ ! -e "$work/np$np" ] || fail "mpirun_local.sh $np started a run"
  done
  long=("${mf[@]}" --set train.epochs=300 --set train.batch_size=8 --set train.log_every_steps=0)
  # SIGUSR1 to mpirun: Open MPI forwards it to every rank.
  "$mpirun_local" 2 "$bin" "${long[@]}" --set "output.dir=$work/usr1" >"$work/usr1.log" 2>&1 &
  job=$!
  for _ in $(seq 1 300); do grep -q "epoch 1/" "$work/usr1.log" && break; sleep 0.1; done
  kill -USR1 "$job"
  wait "$job"
  status=$?
  [ "$status" -ne 0 ] || fail "a run stopped by SIGUSR1 exited 0"
  grep -q "SIGUSR1 received: stopping" "$work/usr1.log" || fail "SIGUSR1 to mpirun did not stop the ranks"
  grep -q "checkpoint: .*checkpoints/step-" "$work/usr1.log" || fail "SIGUSR1: no checkpoint"
  echo "   SIGUSR1 to mpirun: every rank stopped, checkpoint written (exit $status)"
  # SIGTERM to mpirun: Open MPI cannot forward it; it sends the ranks SIGTERM itself after
  # odls_base_sigkill_timeout seconds (then SIGKILL after as long again).
  flags=(--oversubscribe --bind-to none --mca odls_base_sigkill_timeout 3)
  [ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
  mpirun "${flags[@]}" -np 2 "$bin" "${long[@]}" --set "output.dir=$work/mpirun_term" >"$work/mpirun_term.log" 2>&1 &
  job=$!
  for _ in $(seq 1 300); do grep -q "epoch 1/" "$work/mpirun_term.log" && break; sleep 0.1; done
  kill -TERM "$job"
  wait "$job"
  grep -q "SIGTERM received: stopping" "$work/mpirun_term.log" || fail "SIGTERM to mpirun did not reach the ranks"
  grep -q "checkpoint: .*checkpoints/step-" "$work/mpirun_term.log" || fail "SIGTERM to mpirun: no checkpoint"
  echo "   SIGTERM to mpirun (odls_base_sigkill_timeout 3): every rank stopped, checkpoint written"
  # SIGTERM to one rank, as srun delivers signals to the tasks themselves.
  "$mpirun_local" 2 "$bin" "${long[@]}" --set "output.dir=$work/term" >"$work/term.log" 2>&1 &
  job=$!
  for _ in $(seq 1 300); do grep -q "epoch 1/" "$work/term.log" && break; sleep 0.1; done
  for pid in $(pgrep -f "output.dir=$work/term"); do
    if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then kill -TERM "$pid"; fi
  done
  wait "$job"
  job_status=$?
  grep -q "SIGTERM received: stopping" "$work/term.log" || fail "SIGTERM to rank 1 did not stop the job"
  grep -q "checkpoint: .*checkpoints/step-" "$work/term.log" || fail "SIGTERM: no checkpoint"
  echo "   SIGTERM to one rank: every rank stopped, checkpoint written (exit $job_status)"
  run term 2 "${long[@]}" --set train.epochs=2
  expect_status 2 "resuming with another train.epochs"
  grep -q "holds the files of another run (train.epochs (300 there, 2 here))" "$work/term.log" || fail "train.epochs not named"
  run term 2 "${long[@]}" --set train.epochs=2 --set checkpoint.resume=never --set output.overwrite=true
  expect_status 0 "starting again over the stopped run"
  echo "   resuming with another train.epochs: refused; started again with resume=never + overwrite"
  # A sweep over 2 ranks whose rank 0 has finished its trial when the signal stops rank 1's: rank 0
  # waited at the sweep's end for ever (and rank 1 in MPI_Finalize). Every rank now learns of
  # the stop there and exits 143; the same command then resumes the stopped trial.
  printf 'base: %s\noutput: %s\nset:\n  data.dir: %s\n  train.threads: 1\n  train.log_every_steps: 0\n  train.patience: 0\ngrid:\n  train.epochs: [1, 4]\n' \
    "$here/../../configs/smoke.yaml" "$work/sweep" "$work/data" >"$work/sweep.yaml"
  MLREC_TEST_SIGNAL="TERM@train:4:2" timeout 120 "$mpirun_local" 2 "$bin" sweep --sweep "$work/sweep.yaml" >"$work/sweep.log" 2>&1
  status=$?
  [ "$status" -ne 124 ] || fail "sweep: a rank stopped while the other waited at the sweep's end: hung"
  [ "$status" -ne 0 ] || fail "sweep: stopped, yet exit 0"
  grep -q "trial 1 (train.epochs=4) stopped by SIGTERM; checkpoint: .*trial-001/checkpoints/step-" "$work/sweep.log" ||
    fail "sweep: trial 1's stop not logged"
  grep -q "\[mlrec 0/2\] stopped by SIGTERM; checkpoint: .*trial-001 (trial 1, on rank 1)" "$work/sweep.log" ||
    fail "sweep: rank 0 did not report rank 1's stop"
  [ -f "$work/sweep/trial-000/summary.json" ] || fail "sweep: trial 0 did not finish"
  timeout 120 "$mpirun_local" 2 "$bin" sweep --sweep "$work/sweep.yaml" >>"$work/sweep.log" 2>&1
  status=$?
  expect_status 0 "the stopped sweep run again"
  grep -q "resuming from .*trial-001/checkpoints/step-" "$work/sweep.log" || fail "sweep: trial 1 did not resume"
  [ -f "$work/sweep/trial-001/summary.json" ] || fail "sweep: trial 1 did not finish"
  echo "   sweep on 2 ranks, rank 1 stopped while rank 0 had finished: both exit, the rerun resumes"
  ;;

gpu)
  device="${MLREC_RESUME_DEVICE:-cuda}"
  for model in mf seq; do
    if [ "$model" = mf ]; then args=("${mf[@]}"); tol=1e-3; else args=("${seq[@]}"); tol=1e-2; fi
    args+=(--set "train.device=$device")
    run "gpu_ref_$model" 1 "${args[@]}"; expect_status 0 "gpu_ref_$model"
    MLREC_TEST_SIGNAL="TERM@train:2:5" run "gpu_$model" 1 "${args[@]}"
    expect_status 143 "gpu_$model stopped by TERM@train:2:5"
    run "gpu_$model" 1 "${args[@]}"; expect_status 0 "gpu_$model resumed"
    grep -q "resuming from .*checkpoints/step-" "$work/gpu_$model.log" || fail "gpu_$model: did not resume"
    if [ "$device" = cuda ]; then
      [ "$(grep -c "captured as a CUDA graph (step, with the optimizer's update)" "$work/gpu_$model.log")" = 2 ] ||
        fail "gpu_$model: the step and the optimizer's update were not captured in both runs"
    fi
    "$py" "$here/compare_runs.py" close "$work/gpu_ref_$model" "$work/gpu_$model" "$tol" ||
      fail "gpu_$model differs from gpu_ref_$model"
    echo "   gpu_$model ($device): stopped at epoch 2 step 5, resumed, within $tol of gpu_ref_$model"
  done
  ;;

*)
  fail "unknown section $section"
  ;;
esac
echo "PASS ($section)"
