#!/usr/bin/env bash
# The data at 32M ratings (issue 19): time to ready from the text and from the prepared-data
# cache, resident memory per rating for 1 rank, 4 local ranks' memory against 1 rank's, MF
# throughput with gathered windows on 1 and 2 ranks, and the BST's evaluation time.
# Prints one line per run from its summary.json.
# usage: bench/data_at_scale.sh WORK_DIR [MLREC_DIST]
#   WORK_DIR gets the synthetic release (~860 MB, made once), the cache and the runs.
set -euo pipefail
work="$1"
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${2:-$root/build/mlrec_dist}"
synth="$work/synth-32m"
cache="$work/cache"
mkdir -p "$work"
if [ ! -f "$synth/ratings.csv" ]; then
  "$bin" synth --out "$synth" --format csv --ratings 32000000 --users 200948 --movies 87585
fi
report() {  # report NAME RUN_DIR
  "${PYTHON:-python3}" - "$1" "$2" <<'PY'
import json, os, sys
name, run = sys.argv[1], sys.argv[2]
s = json.load(open(os.path.join(run, "summary.json")))
ratings = s["train_count"] + s["valid"]["count"] + s.get("test_count", 0)
print(f"{name:34s} data {s['data_seconds']:6.2f} s  rank 0 RSS {s['data_rss_bytes'] / ratings:5.1f} B/rating  "
      f"all ranks PSS {s['data_pss_bytes_all_ranks'] / 2**20:7,.0f} MB  {s['samples_per_second']:>9,.0f} samples/s  "
      f"windows {s['data_windows']}  cache {s['data_cache'].split(' ')[0] or '-'}")
PY
}
# run NAME RANKS ARGS...: a fresh run directory each time
source "$root/bench/run_lib.sh"
mf=(--config "$root/configs/mf.yaml" --set "data.dir=$synth" --set train.epochs=1 --set train.ranking=off
    --set train.log_every_steps=0 --set output.save_checkpoint=false --set checkpoint.every_steps=0
    --set train.embedding_optimizer=lazy_adam --set train.max_steps_per_epoch=1000)
echo "## MF, MovieLens-32M-shaped (32,000,000 ratings), lazy_adam, global batch 1,024, 1,000 steps"
run text-np1 1 "${mf[@]}"
rm -rf "$cache"
run cache-build-np1 1 "${mf[@]}" --set "data.cache_dir=$cache"
run cache-np1 1 "${mf[@]}" --set "data.cache_dir=$cache"
run materialized-np1 1 "${mf[@]}" --set "data.cache_dir=$cache" --set data.windows=materialized
run cache-np2 2 "${mf[@]}" --set "data.cache_dir=$cache"
run cache-np4 4 "${mf[@]}" --set "data.cache_dir=$cache" --set train.max_steps_per_epoch=100
run text-np4 4 "${mf[@]}" --set train.max_steps_per_epoch=100
echo "## BST (seq; the synthetic release has no user features), 32M, 100 steps: evaluation of every validation row"
run bst-np1 1 --config "$root/configs/seq.yaml" --set "data.dir=$synth" --set "data.cache_dir=$cache" \
  --set train.epochs=1 --set train.max_steps_per_epoch=100 --set train.ranking=off --set train.log_every_steps=0 \
  --set output.save_checkpoint=false --set checkpoint.every_steps=0 --set train.embedding_optimizer=lazy_adam
"${PYTHON:-python3}" -c "
import json; m = [json.loads(l) for l in open('$work/runs/bst-np1/metrics.jsonl')][-1]
print(f\"bst-np1 evaluation of {m['count']:,} validation rows: {m['eval_seconds']:.1f} s\")"
