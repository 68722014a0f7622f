#!/usr/bin/env bash
# A one-host Slurm cluster that lives entirely in one directory, for tests (issue 16):
#   slurm_cluster.sh start DIR [CPUS [OWNER_PID]]   start munged, slurmctld and slurmd under DIR
#   slurm_cluster.sh stop DIR                        cancel its jobs, stop the daemons, remove DIR
#   slurm_cluster.sh logs DIR                        the tails of the daemons' logs
# After start, clients use the cluster with `export SLURM_CONF=DIR/slurm.conf` (DIR/env says so).
#
# DIR holds everything: its own munge key and munged socket, slurm.conf (free ports picked at
# start), the state and spool folders, pid files and logs; nothing under /etc, /run or /var is
# touched and no systemd is needed. Must run as root (slurmd starts jobs as their user).
# The node declares CPUS CPUs (default 4) whatever the machine has (SlurmdParameters=
# config_overrides), so a 2-core machine can run a job of more tasks than cores.
# With OWNER_PID, a watchdog stops the cluster when that process is gone (a test killed by its
# timeout, whose EXIT trap never ran, leaves nothing running for long).
# Each daemon must answer within MLREC_SLURM_TIMEOUT seconds (default 60): otherwise start fails
# with the logs' tails, after stopping what it started. Nothing here waits without a timeout.
#
# What these settings are for (found on Debian 12, Slurm 22.05, no systemd, no cgroup setup):
#   NodeName = `hostname -s`          slurmd finds its node by the short host name
#   proctrack/linuxproc, task/none   no cgroup set-up needed
#   MpiDefault=pmix                  Open MPI 4.1 under `srun --mpi=pmix` (pmi2 does not work)
#   KillWait=5                       seconds between a job's SIGTERM and SIGKILL (default 30)
#   cred_expire=10                   a requeued job may start again once the old job's
#                                    credential has expired (default 120 s)
#   bf_interval=2                    the backfill scheduler looks every 2 s (default 30)
#   ReturnToService=2                the node is IDLE as soon as slurmd registers
set -uo pipefail

usage() { echo "usage: $0 start DIR [CPUS [OWNER_PID]] | stop DIR | logs DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd="$1"
dir="$2"
timeout="${MLREC_SLURM_TIMEOUT:-60}"

log_tails() {
  local f
  for f in "$dir"/log/*; do
    [ -f "$f" ] || continue
    echo "--- $f (last 25 lines)"
    tail -25 "$f"
  done
}

pid_of() { cat "$dir/run/$1.pid" 2>/dev/null; }

# stop_pid NAME SECONDS: SIGTERM the daemon NAME, SIGKILL it when it is still there after SECONDS.
stop_pid() {
  local pid i
  pid="$(pid_of "$1")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 $(($2 * 10))); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  echo "slurm_cluster: $1 (pid $pid) did not stop in $2 s: SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null
  sleep 0.2
}

# Processes of this cluster that outlive their daemon: slurmstepd (it inherits the daemons'
# MLREC_SLURM_CLUSTER) and the jobs' processes (their environment names this SLURM_CONF and
# holds a SLURM_JOB_ID, which the test's own shell does not).
leftovers() {
  local p env
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = "$$" ] && continue
    env="$(tr '\0' '\n' 2>/dev/null <"$p/environ")" || continue
    if grep -qxF "MLREC_SLURM_CLUSTER=$dir" <<<"$env" ||
       { grep -qxF "SLURM_CONF=$dir/slurm.conf" <<<"$env" && grep -q '^SLURM_JOB_ID=' <<<"$env"; }; then
      echo "${p#/proc/}"
    fi
  done
}

stop_cluster() {
  [ -d "$dir" ] || return 0
  export SLURM_CONF="$dir/slurm.conf"
  # The watchdog first, so that it does not stop the cluster a second time under our feet.
  local w
  w="$(pid_of watchdog)"
  [ -n "$w" ] && [ "$w" != "$$" ] && kill -TERM "$w" 2>/dev/null
  # Jobs first, while slurmctld and slurmd can still end them (slurmctld stopped before slurmd
  # leaves slurmd waiting on it for ~40 s).
  local ctld i pids
  ctld="$(pid_of slurmctld)"
  if [ -n "$ctld" ] && kill -0 "$ctld" 2>/dev/null; then
    timeout 10 scancel --quiet --full --signal=KILL --state=RUNNING "--user=$(id -un)" >/dev/null 2>&1
    timeout 10 scancel --quiet "--user=$(id -un)" >/dev/null 2>&1
    for i in $(seq 1 100); do
      [ -z "$(timeout 5 squeue -h -t RUNNING,COMPLETING,SUSPENDED -o %i 2>/dev/null)" ] && break
      sleep 0.1
    done
  fi
  stop_pid slurmd 15
  # slurmctld and munged take ~2 s each to stop: both at once.
  stop_pid slurmctld 15 &
  stop_pid munged 10 &
  wait
  # Whatever is still there (a slurmstepd or a task slurmd could not end) is killed.
  for i in 1 2 3; do
    pids="$(leftovers)"
    [ -z "$pids" ] && break
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null
    sleep 0.3
  done
  rm -rf "$dir"
}

# wait_for WHAT CHECK...: runs CHECK until it succeeds; fails the start after $timeout seconds.
wait_for() {
  local what="$1" deadline=$((SECONDS + timeout))
  shift
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "slurm_cluster: $what did not come up within $timeout s" >&2
      log_tails >&2
      stop_cluster
      exit 1
    fi
    sleep 0.2
  done
}

# died NAME: fails the start at once when the daemon NAME has exited.
alive_or_fail() {
  local pid
  pid="$(pid_of "$1")"
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
    echo "slurm_cluster: $1 exited during start" >&2
    log_tails >&2
    stop_cluster
    exit 1
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

ctld_up() { alive_or_fail slurmctld; scontrol ping | grep -q "is UP"; }
node_idle() {
  alive_or_fail slurmd
  local state
  state="$(scontrol show node "$node" 2>/dev/null | sed -n 's/.*State=\([A-Z+_]*\).*/\1/p')"
  [ "$state" = IDLE ]
}
munge_up() { alive_or_fail munged; munge -n -S "$dir/munge/munge.socket" | unmunge -S "$dir/munge/munge.socket"; }

start_cluster() {
  local cpus="${1:-4}" owner="${2:-}"
  [ "$(id -u)" -eq 0 ] || { echo "slurm_cluster: must run as root" >&2; exit 1; }
  for t in munged munge unmunge slurmctld slurmd scontrol scancel squeue python3; do
    command -v "$t" >/dev/null || { echo "slurm_cluster: $t not found (Debian: munge slurmctld slurmd slurm-client)" >&2; exit 1; }
  done
  if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
    echo "slurm_cluster: $dir exists and is not empty" >&2
    exit 1
  fi
  mkdir -p "$dir"/{munge,state,spool,tmp,log,run} || exit 1
  chmod 700 "$dir" "$dir/munge"
  node="$(hostname -s)"
  export SLURM_CONF="$dir/slurm.conf" MLREC_SLURM_CLUSTER="$dir"

  # munge: its own key and socket.
  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$dir/munge/munge.key"
  munged -F --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/run/munged.pid.own" --log-file="$dir/log/munged.log" \
    --seed-file="$dir/munge/munged.seed" </dev/null >>"$dir/log/munged.out" 2>&1 &
  echo $! >"$dir/run/munged.pid"
  wait_for munged munge_up

  local ctld_port slurmd_port
  ctld_port="$(free_port)"
  slurmd_port="$(free_port)"
  while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port="$(free_port)"; done
  : >"$dir/plugstack.conf"   # not Debian's /etc/slurm/plugstack.conf
  cat >"$dir/slurm.conf" <<EOF
# Written by tests/cluster/slurm_cluster.sh: a one-host cluster under $dir
ClusterName=mlrectest
SlurmctldHost=$node
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket,cred_expire=10
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
TmpFS=$dir/tmp
SlurmctldPidFile=$dir/run/slurmctld.pid.own
SlurmdPidFile=$dir/run/slurmd.pid.own
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$dir/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=pmix
SlurmdParameters=config_overrides
ReturnToService=2
JobRequeue=1
KillWait=5
MinJobAge=600
SchedulerParameters=bf_interval=2,sched_interval=2
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=$node CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF

  slurmctld -D -c -i -f "$dir/slurm.conf" </dev/null >>"$dir/log/slurmctld.out" 2>&1 &
  echo $! >"$dir/run/slurmctld.pid"
  wait_for slurmctld ctld_up
  slurmd -D -f "$dir/slurm.conf" </dev/null >>"$dir/log/slurmd.out" 2>&1 &
  echo $! >"$dir/run/slurmd.pid"
  wait_for "slurmd (node $node IDLE)" node_idle

  if [ -n "$owner" ]; then
    # setsid + its own pid file: the watchdog outlives the start command, not the owner.
    setsid bash -c 'while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 2; done
                    [ -d "$2" ] && exec "$0" stop "$2"' "$0" "$owner" "$dir" \
      </dev/null >>"$dir/log/watchdog.out" 2>&1 &
    echo $! >"$dir/run/watchdog.pid"
  fi
  echo "export SLURM_CONF=$dir/slurm.conf" >"$dir/env"
  echo "slurm_cluster: up in $dir (node $node, $cpus CPUs, slurmctld port $ctld_port, slurmd port $slurmd_port)"
}

case "$cmd" in
start) shift 2; start_cluster "$@" ;;
stop) stop_cluster ;;
logs) log_tails ;;
*) usage ;;
esac
