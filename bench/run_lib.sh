# Shared by the bench scripts: run NAME RANKS ARGS... trains into a fresh $work/runs/NAME (one
# rank directly, more under launch/mpirun_local.sh), logs to $work/NAME.log, then calls the
# script's own `report NAME RUN_DIR`. Needs $work, $bin and $root set.
run() {
  local name="$1" ranks="$2"
  shift 2
  rm -rf "$work/runs/$name"
  if [ "$ranks" -eq 1 ]; then
    "$bin" "$@" --set "output.dir=$work/runs/$name" >"$work/$name.log" 2>&1
  else
    "$root/launch/mpirun_local.sh" "$ranks" "$bin" "$@" --set "output.dir=$work/runs/$name" >"$work/$name.log" 2>&1
  fi
  report "$name" "$work/runs/$name"
}
