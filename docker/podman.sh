#!/usr/bin/env bash
# podman with the settings a machine like CI's needs, without touching /etc (run it; it ends in
# exec, so sourcing it would replace the caller's shell):
#   runtime runc     crun refuses hybrid (v1 + v2) cgroups
#   cgroupfs         no systemd to manage cgroups
#   ulimits          root cannot raise its limits here: podman's defaults (nofile 1048576) fail
#   events to file   no journald
# usage: docker/podman.sh ARGS...   (as podman ARGS...)
set -euo pipefail
conf="${MLREC_CONTAINERS_CONF:-}"
if [ -z "$conf" ]; then
  # Written afresh every time (through a temporary file of an unpredictable name, then renamed):
  # a file left at this path by an older version would configure podman unchecked, and in
  # /tmp another user's file of that name cannot be replaced (the rename fails: set -e stops).
  # A fixed path, not a folder removed at exit: exec leaves no exit to clean up at, and
  # podman's cleanup processes read the file after this script has gone.
  conf="${TMPDIR:-/tmp}/mlrec-containers-$(id -u).conf"
  tmp="$(mktemp "$conf.XXXXXX")"
  cat >"$tmp" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  chmod 644 "$tmp"
  mv -f "$tmp" "$conf"
fi
CONTAINERS_CONF="$conf" exec podman "$@"
