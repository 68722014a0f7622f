#!/usr/bin/env bash
# podman with the settings a machine like CI's needs, without touching /etc (sourced or run):
#   runtime runc     crun refuses hybrid (v1 + v2) cgroups
#   cgroupfs         no systemd to manage cgroups
#   ulimits          root cannot raise its limits here: podman's defaults (nofile 1048576) fail
#   events to file   no journald
# usage: docker/podman.sh ARGS...   (as podman ARGS...)
set -euo pipefail
conf="${MLREC_CONTAINERS_CONF:-${TMPDIR:-/tmp}/mlrec-containers.conf}"
if [ ! -f "$conf" ]; then
  cat >"$conf.$$" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  mv "$conf.$$" "$conf"
fi
CONTAINERS_CONF="$conf" exec podman "$@"
