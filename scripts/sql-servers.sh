#!/usr/bin/env bash
# PostgreSQL and MariaDB servers for the SQL sinks (`--sink postgres://…`, `--sink mysql://…`):
# Debian's packages, run from a temporary data directory on free loopback ports, as the
# servers' own unprivileged users when we are root (PostgreSQL refuses to run as root).
#
#   sql-servers.sh install   # apt-get install postgresql and mariadb-server if missing
#   sql-servers.sh start     # start both; prints `export TIMBER_PG_URL=…` and `export TIMBER_MYSQL_URL=…`
#   sql-servers.sh stop      # stop both and delete their data
#   sql-servers.sh status
#
# `eval "$(scripts/sql-servers.sh start)"` sets the two URLs in the calling shell. The tests
# (tests/stream/tests/sinks.rs) start and stop servers of their own from the same packages,
# so they can stop one mid-stream; scripts/test.sh runs `install` for them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STATE="${TIMBER_SQL_STATE:-${TMPDIR:-/tmp}/timber-sql-servers}"
log() { echo "[sql-servers] $*" >&2; }

as_root() { [[ $(id -u) -eq 0 ]]; }

pg_bin() {
  local b
  for b in /usr/lib/postgresql/*/bin; do
    [[ -x $b/initdb ]] && { echo "$b"; return; }
  done
  die "PostgreSQL is not installed: run $0 install"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# as USER CMD...: run CMD as USER when we are root, else as ourselves.
as() {
  local user=$1
  shift
  if as_root; then runuser -u "$user" -- "$@"; else "$@"; fi
}

cmd_install() {
  # The Kafka broker tests need the same postgresql package (scripts/test.sh installs it the
  # same way); mariadb-server brings mariadb-install-db and mariadbd.
  ensure_commands pg_ctlcluster=postgresql mariadb-install-db=mariadb-server mariadb=mariadb-client \
      sqlite3=sqlite3
}

cmd_start() {
  cmd_install >&2
  [[ -e $STATE/running ]] && { cat "$STATE/env"; return; }
  rm -rf "$STATE"
  mkdir -p "$STATE/pg" "$STATE/my"
  chmod 755 "$STATE"
  local bin pgport myport
  bin=$(pg_bin)
  pgport=$(free_port)
  myport=$(free_port)
  if as_root; then
    chown -R postgres:postgres "$STATE/pg"
    chown -R mysql:mysql "$STATE/my"
  fi
  log "PostgreSQL on 127.0.0.1:$pgport (data in $STATE/pg)"
  as postgres "$bin/initdb" -D "$STATE/pg/data" -A trust -U postgres >/dev/null
  as postgres "$bin/pg_ctl" -D "$STATE/pg/data" -l "$STATE/pg/log" -w \
    -o "-p $pgport -k $STATE/pg -c listen_addresses=127.0.0.1" start >/dev/null
  as postgres "$bin/psql" -q -h 127.0.0.1 -p "$pgport" -U postgres -d postgres \
    -c "ALTER USER postgres PASSWORD 'timber'" -c "CREATE DATABASE timber"

  log "MariaDB on 127.0.0.1:$myport (data in $STATE/my)"
  as mysql mariadb-install-db --no-defaults --datadir="$STATE/my/data" \
    --auth-root-authentication-method=socket >/dev/null
  local user=()
  as_root && user=(--user=mysql)
  mariadbd --no-defaults --datadir="$STATE/my/data" --port="$myport" --bind-address=127.0.0.1 \
    --socket="$STATE/my/sock" --pid-file="$STATE/my/pid" --log-error="$STATE/my/log" \
    "${user[@]}" >/dev/null 2>&1 &
  local i
  for i in $(seq 100); do
    mariadb --no-defaults --socket="$STATE/my/sock" -u root -e "SELECT 1" >/dev/null 2>&1 && break
    sleep 0.2
  done
  mariadb --no-defaults --socket="$STATE/my/sock" -u root -e \
    "CREATE DATABASE IF NOT EXISTS timber; CREATE USER IF NOT EXISTS 'timber'@'%' IDENTIFIED BY 'timber'; CREATE USER IF NOT EXISTS 'timber'@'localhost' IDENTIFIED BY 'timber'; GRANT ALL ON timber.* TO 'timber'@'%'; GRANT ALL ON timber.* TO 'timber'@'localhost';"
  cat >"$STATE/env" <<EOF
export TIMBER_PG_URL=postgres://postgres:timber@127.0.0.1:$pgport/timber
export TIMBER_MYSQL_URL=mysql://timber:timber@127.0.0.1:$myport/timber
EOF
  touch "$STATE/running"
  cat "$STATE/env"
}

cmd_stop() {
  [[ -d $STATE ]] || return 0
  if [[ -d $STATE/pg/data ]]; then
    as postgres "$(pg_bin)/pg_ctl" -D "$STATE/pg/data" -m fast stop >/dev/null 2>&1 || true
  fi
  if [[ -f $STATE/my/pid ]]; then
    local pid
    pid=$(cat "$STATE/my/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$STATE"
  log "stopped"
}

cmd_status() {
  if [[ -e $STATE/running ]]; then cat "$STATE/env"; else echo "not running"; fi
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
