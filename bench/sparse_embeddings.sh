#!/usr/bin/env bash
# Sparse embedding updates at scale (issue 19): MF on a MovieLens-32M-shaped synthetic release,
# 1 and 2 ranks, dense AdamW against lazy_adam and rowwise_adagrad, then the accuracy cost of
# each on ML-1M (mf_tuned, 3 seeds). Prints one line per run: samples/s, bytes per step, MAE.
# usage: bench/sparse_embeddings.sh ML1M_DIR WORK_DIR [MLREC_DIST]
#   WORK_DIR gets the synthetic release (~860 MB, made once) and the runs.
set -euo pipefail
ml1m="$1"
work="$2"
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${3:-$root/build/mlrec_dist}"
synth="$work/synth-32m"
mkdir -p "$work"
if [ ! -f "$synth/ratings.csv" ]; then
  /usr/bin/time -f "synth: %e s, peak RSS %M KB" "$bin" synth --out "$synth" --format csv --ratings 32000000 \
    --users 200948 --movies 87585
fi
report() {  # report NAME RUN_DIR: one line from summary.json (or seeds.json)
  "${PYTHON:-python3}" - "$1" "$2" <<'PY'
import json, os, sys
name, run = sys.argv[1], sys.argv[2]
if os.path.exists(os.path.join(run, "seeds.json")):
    s = json.load(open(os.path.join(run, "seeds.json")))["valid"]
    print(f"{name:40s} valid MAE {s['mae']['mean']:.5f} +- {s['mae']['std']:.5f}  RMSE {s['rmse']['mean']:.5f} +- {s['rmse']['std']:.5f}")
else:
    s = json.load(open(os.path.join(run, "summary.json")))
    print(f"{name:40s} {s['samples_per_second']:>10,.0f} samples/s  {s['grad_bytes_per_step']:>12,} bytes/step  "
          f"comm wait {s['comm_wait_share']:.0%}  data {s['data_seconds']:.1f} s  valid MAE {s['valid']['mae']:.5f}")
PY
}
# run NAME RANKS ARGS...: a fresh run directory each time
source "$root/bench/run_lib.sh"
scale=(--config "$root/configs/mf.yaml" --set "data.dir=$synth" --set train.epochs=1 --set train.ranking=off
       --set train.log_every_steps=0 --set output.save_checkpoint=false)
echo "## MF, MovieLens-32M-shaped (32,000,000 ratings), global batch 1,024"
run 32m-np1-dense 1 "${scale[@]}" --set train.max_steps_per_epoch=100 --set train.embedding_optimizer=dense
for opt in lazy_adam rowwise_adagrad; do
  run "32m-np1-$opt" 1 "${scale[@]}" --set train.max_steps_per_epoch=1000 --set "train.embedding_optimizer=$opt"
done
run 32m-np2-dense 2 "${scale[@]}" --set train.max_steps_per_epoch=100 --set train.embedding_optimizer=dense
for opt in lazy_adam rowwise_adagrad; do
  run "32m-np2-$opt" 2 "${scale[@]}" --set train.max_steps_per_epoch=1000 --set "train.embedding_optimizer=$opt"
done
ml=(--config "$root/configs/mf.yaml" --set "data.dir=$ml1m" --set train.epochs=2 --set train.ranking=off
    --set train.log_every_steps=0 --set output.save_checkpoint=false --set train.patience=0)
echo "## MF on ML-1M, 2 whole epochs"
for opt in dense lazy_adam; do
  run "ml1m-np1-$opt" 1 "${ml[@]}" --set "train.embedding_optimizer=$opt"
  run "ml1m-np2-$opt" 2 "${ml[@]}" --set "train.embedding_optimizer=$opt"
done
echo "## Accuracy on ML-1M: configs/mf_tuned.yaml, seeds 42, 1, 2"
tuned=(--config "$root/configs/mf_tuned.yaml" --set "data.dir=$ml1m" --set train.ranking=off
       --set train.log_every_steps=0 --set output.save_checkpoint=false --seeds 42,1,2)
run ml1m-tuned-dense 1 "${tuned[@]}"
run ml1m-tuned-lazy_adam 1 "${tuned[@]}" --set train.embedding_optimizer=lazy_adam
run ml1m-tuned-rowwise_adagrad 1 "${tuned[@]}" --set train.embedding_optimizer=rowwise_adagrad --set train.lr=0.05
