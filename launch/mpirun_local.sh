#!/usr/bin/env bash
# Runs mlrec_dist on N local ranks with the flags these machines need:
#   --allow-run-as-root  Open MPI refuses root without it (added only when running as root)
#   --oversubscribe      more ranks than cores (e.g. 3 ranks on a 2-core machine)
#   --bind-to none       each rank runs several torch threads; binding would pin them to one core
# usage: launch/mpirun_local.sh NP [PROGRAM] [ARGS...]
#   launch/mpirun_local.sh 2 --config configs/mf.yaml --set train.epochs=3
# PROGRAM defaults to build/mlrec_dist; torch threads per rank default to cores / ranks.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
np="${1:?usage: mpirun_local.sh NP [PROGRAM] [ARGS...]}"
shift
# mpirun itself takes -np 0 as "one rank per slot" and a word as a confusing option error.
if ! [[ "$np" =~ ^[1-9][0-9]*$ ]]; then
  echo "mpirun_local.sh: NP must be a number of ranks >= 1, got '$np' (usage: mpirun_local.sh NP [PROGRAM] [ARGS...])" >&2
  exit 2
fi
program="$ROOT/build/mlrec_dist"
if [ $# -gt 0 ] && [ -f "$1" ] && [ -x "$1" ]; then
  program="$1"
  shift
fi
flags=(--oversubscribe --bind-to none)
[ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
exec mpirun "${flags[@]}" -np "$np" "$program" "$@"
