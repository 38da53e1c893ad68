#!/usr/bin/env bash
# Makes the real services the PostgreSQL test run needs available on a Debian machine, as root (CI, development):
#   PostgreSQL   127.0.0.1:5432  (the machine's cluster; started if it is not answering, installed if missing)
#   Redis        127.0.0.1:6379  (started if it is not answering, installed if missing)
#   PgBouncer    127.0.0.1:6432  (transaction mode, deploy/pgbouncer.ini; installed if missing, started by this
#                                 script from a runtime dir, since there is no systemd to start it)
#
# Usage: scripts/services.sh [start|stop|status]
#   start (default)  idempotent: starts only what is not answering, then waits until
#                    `psql -h 127.0.0.1 -p 6432 -U postgres -d postgres -c 'select 1'` works
#   stop             stops the PgBouncer this script started (its pidfile in the runtime dir); never PostgreSQL or
#                    Redis, which belong to the machine
#   status           says what answers
#
# Environment: TALLY_PGBOUNCER_DIR, the runtime dir (default /tmp/tally-pgbouncer): rendered ini, userlist, log,
# pidfile. It must be a directory of its own (not /, /tmp or another top-level directory): this script hands it
# to the postgres user.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INI_SOURCE="$ROOT/deploy/pgbouncer.ini"
RUNDIR="${TALLY_PGBOUNCER_DIR:-/tmp/tally-pgbouncer}"
PIDFILE="$RUNDIR/pgbouncer.pid"
export PGCONNECT_TIMEOUT=3

log() { printf '[services] %s\n' "$*"; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }
warn() { printf '[services] WARNING: %s\n' "$*" >&2; }

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for SECONDS DESCRIPTION COMMAND...: retries COMMAND every 0.5 s until it succeeds or time runs out.
wait_for() {
  local seconds=$1 what=$2
  shift 2
  local tries=$((seconds * 2))
  while ((tries-- > 0)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  return 1
}

APT_UPDATED=0
apt_install() {
  [[ $(id -u) -eq 0 ]] || die "installing $* needs root"
  if ((APT_UPDATED == 0)); then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" </dev/null
}

psql_ok() { # psql_ok PORT DATABASE: `select 1` as postgres over TCP, no password prompt
  psql -X -w -q -h 127.0.0.1 -p "$1" -U postgres -d "$2" -Atc 'select 1' </dev/null
}

# ---------------------------------------------------------------------------------------------------- PostgreSQL
pg_version() { # the cluster version to use: 15 when present, else the newest installed
  local versions
  versions=$(ls /etc/postgresql 2>/dev/null || true)
  [[ -n $versions ]] || return 1
  if grep -qx 15 <<<"$versions"; then echo 15; else sort -V <<<"$versions" | tail -n 1; fi
}

ensure_postgres() {
  if ! command -v pg_ctlcluster >/dev/null || ! pg_version >/dev/null; then
    apt_install postgresql postgresql-client
  fi
  command -v psql >/dev/null || apt_install postgresql-client
  if port_open 5432; then
    log "PostgreSQL answers on 127.0.0.1:5432"
  else
    local version
    version=$(pg_version) || die "no PostgreSQL cluster in /etc/postgresql"
    log "starting PostgreSQL $version/main"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start </dev/null
    wait_for 30 PostgreSQL port_open 5432 || die "PostgreSQL did not start listening on 127.0.0.1:5432"
  fi
  local tries=60 err='' trusted=0
  until err=$(psql_ok 5432 postgres 2>&1); do
    if ((trusted == 0)) && grep -qiE 'password|authentication' <<<"$err"; then
      # A freshly installed Debian cluster asks for a password on 127.0.0.1 (scram-sha-256). The machines this
      # runs on trust loopback; make such a cluster do the same for the postgres user, as PgBouncer's trust auth
      # needs. Only done when PostgreSQL refuses postgres@127.0.0.1 without a password.
      local version hba
      version=$(pg_version) || die "no PostgreSQL cluster in /etc/postgresql"
      hba="/etc/postgresql/$version/main/pg_hba.conf"
      [[ -w $hba ]] || die "PostgreSQL refuses postgres@127.0.0.1 without a password, and $hba is not writable: $err"
      warn "PostgreSQL refuses postgres@127.0.0.1 without a password. REWRITING $hba: adding" \
        "'host all postgres 127.0.0.1/32 trust' as its first line, so any local process can connect as the" \
        "superuser postgres without a password. Remove that line to undo it."
      sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
      pg_ctlcluster --skip-systemctl-redirect "$version" main reload </dev/null
      trusted=1
    fi
    ((--tries > 0)) || die "cannot run 'select 1' as postgres on 127.0.0.1:5432: $err"
    sleep 0.5
  done
  log "PostgreSQL: $(psql -X -w -h 127.0.0.1 -p 5432 -U postgres -d postgres -Atc 'show server_version' </dev/null)"
}

# --------------------------------------------------------------------------------------------------------- Redis
redis_ok() { [[ $(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null </dev/null) == PONG ]]; }

ensure_redis() {
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    apt_install redis-server redis-tools
  fi
  if redis_ok; then
    log "Redis answers on 127.0.0.1:6379"
    return
  fi
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log </dev/null
  wait_for 30 Redis redis_ok || die "Redis did not answer PING on 127.0.0.1:6379 (see /var/log/redis/ci.log)"
  log "Redis started"
}

# ----------------------------------------------------------------------------------------------------- PgBouncer
# The PID of the PgBouncer this script started, if it is still running.
our_pgbouncer_pid() {
  local pid
  [[ -f $PIDFILE ]] || return 1
  pid=$(tr -dc 0-9 <"$PIDFILE")
  [[ -n $pid && -r /proc/$pid/comm && $(cat "/proc/$pid/comm") == pgbouncer ]] || return 1
  echo "$pid"
}

# Writes deploy/pgbouncer.ini to $1 with the runtime paths in place of the deployment ones.
render_ini() {
  local out=$1 key count
  sed -e "s|^logfile = .*|logfile = $RUNDIR/pgbouncer.log|" \
      -e "s|^pidfile = .*|pidfile = $PIDFILE|" \
      -e "s|^auth_file = .*|auth_file = $RUNDIR/userlist.txt|" \
      "$INI_SOURCE" >"$out"
  for key in logfile pidfile auth_file; do
    count=$(grep -c "^$key = $RUNDIR/" "$out" || true)
    [[ $count -eq 1 ]] || die "deploy/pgbouncer.ini must have exactly one '$key = ...' line (found $count)"
  done
}

stop_pgbouncer() {
  local pid
  if ! pid=$(our_pgbouncer_pid); then
    log "no PgBouncer started by this script is running"
    return 0
  fi
  log "stopping PgBouncer (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_for 10 PgBouncer bash -c "! kill -0 $pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$PIDFILE"
}

# Refuses a runtime dir that is not a directory of its own: it is handed to the postgres user below, and
# TALLY_PGBOUNCER_DIR=/tmp (or /) would give postgres the whole directory.
check_rundir() {
  local dir
  dir=$(realpath -m -- "$RUNDIR")
  case $dir in
    / | /tmp | /var/tmp | /dev/shm | /root | /home | "${HOME:-/root}" | "$ROOT")
      die "TALLY_PGBOUNCER_DIR=$RUNDIR ($dir) is not a directory of its own; use one such as /tmp/tally-pgbouncer" ;;
  esac
  [[ $dir == /*/* ]] || die "TALLY_PGBOUNCER_DIR=$RUNDIR ($dir) is a top-level directory; use one such as /tmp/tally-pgbouncer"
}

ensure_pgbouncer() {
  command -v pgbouncer >/dev/null || apt_install pgbouncer
  [[ -f $INI_SOURCE ]] || die "missing $INI_SOURCE"
  check_rundir
  mkdir -p "$RUNDIR"
  local rendered="$RUNDIR/pgbouncer.ini.new"
  render_ini "$rendered"

  local pid
  if pid=$(our_pgbouncer_pid); then
    if cmp -s "$rendered" "$RUNDIR/pgbouncer.ini"; then
      log "PgBouncer (pid $pid, started earlier by this script) answers on 127.0.0.1:6432"
      rm -f "$rendered"
    else
      log "deploy/pgbouncer.ini changed since PgBouncer (pid $pid) started: restarting it"
      stop_pgbouncer
    fi
  elif port_open 6432; then
    log "something else listens on 127.0.0.1:6432: using it as it is (this script will not stop it)"
    rm -f "$rendered"
  fi

  if ! port_open 6432; then
    mv "$rendered" "$RUNDIR/pgbouncer.ini"
    # Trust auth still needs the user listed (an empty file gives: FATAL "trust" authentication failed).
    printf '"postgres" ""\n' >"$RUNDIR/userlist.txt"
    # PgBouncer refuses to run as root; it runs as postgres and writes its log and pidfile here. Only the
    # directory and this script's own files change owner (no -R: whatever else is in it stays as it is).
    chown postgres "$RUNDIR"
    local file
    for file in pgbouncer.ini userlist.txt pgbouncer.log pgbouncer.pid; do
      if [[ -e $RUNDIR/$file ]]; then chown postgres "$RUNDIR/$file"; fi
    done
    log "starting PgBouncer $(pgbouncer --version | head -n 1 | awk '{print $2}') on 127.0.0.1:6432 ($RUNDIR)"
    local user_args=()
    [[ $(id -u) -eq 0 ]] && user_args=(-u postgres)
    if ! pgbouncer -d "${user_args[@]}" "$RUNDIR/pgbouncer.ini" </dev/null; then
      tail -n 20 "$RUNDIR/pgbouncer.log" >&2 2>/dev/null || true
      die "PgBouncer did not start"
    fi
  fi

  if ! wait_for 30 PgBouncer psql_ok 6432 postgres; then
    tail -n 20 "$RUNDIR/pgbouncer.log" >&2 2>/dev/null || true
    die "psql -h 127.0.0.1 -p 6432 -U postgres -d postgres -c 'select 1' fails: $(psql_ok 6432 postgres 2>&1 || true)"
  fi
  log "PgBouncer answers: psql -h 127.0.0.1 -p 6432 -U postgres -d postgres works"
}

status() {
  local rc=0
  if port_open 5432 && psql_ok 5432 postgres >/dev/null 2>&1; then log "PostgreSQL: up"; else log "PostgreSQL: down"; rc=1; fi
  if redis_ok; then log "Redis: up"; else log "Redis: down"; rc=1; fi
  if psql_ok 6432 postgres >/dev/null 2>&1; then
    if pid=$(our_pgbouncer_pid); then log "PgBouncer: up (pid $pid, $RUNDIR)"; else log "PgBouncer: up (not started by this script)"; fi
  else
    log "PgBouncer: down"; rc=1
  fi
  return $rc
}

case "${1:-start}" in
  start)
    ensure_postgres
    ensure_redis
    ensure_pgbouncer
    ;;
  stop) stop_pgbouncer ;;
  status) status ;;
  *) die "usage: $0 [start|stop|status]" ;;
esac
