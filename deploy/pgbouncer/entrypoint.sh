#!/bin/sh
# Writes PgBouncer's auth file from PGBOUNCER_USER and PGBOUNCER_PASSWORD (a Secret in Kubernetes, the compose
# file's environment), so no password is baked into the image; points the image's pgbouncer.ini at
# PGBOUNCER_DATABASE_HOST and PGBOUNCER_DATABASE_PORT (default postgres:5432) and sizes its pool with
# PGBOUNCER_DEFAULT_POOL_SIZE (default 20); then runs PgBouncer in the foreground as PID 1 (the image's
# STOPSIGNAL, SIGINT, is its safe shutdown).
set -eu
: "${PGBOUNCER_USER:?set PGBOUNCER_USER}"
: "${PGBOUNCER_PASSWORD:?set PGBOUNCER_PASSWORD}"
host=${PGBOUNCER_DATABASE_HOST:-postgres}
port=${PGBOUNCER_DATABASE_PORT:-5432}
pool=${PGBOUNCER_DEFAULT_POOL_SIZE:-20}
# The image's paths; scripts/check-deploy.sh runs this script elsewhere.
run=${PGBOUNCER_RUN_DIR:-/var/run/pgbouncer}
ini=${PGBOUNCER_INI:-/etc/pgbouncer/pgbouncer.ini}
case "$host$port$pool" in
  *[!A-Za-z0-9.-]*) echo "PGBOUNCER_DATABASE_HOST, _PORT and PGBOUNCER_DEFAULT_POOL_SIZE must be a host name and numbers" >&2; exit 1 ;;
esac
umask 077
printf '"%s" "%s"\n' "$PGBOUNCER_USER" "$PGBOUNCER_PASSWORD" > "$run/userlist.txt"
sed -e "s/host=postgres port=5432/host=$host port=$port/" \
    -e "s/^default_pool_size = .*/default_pool_size = $pool/" \
    -e "s/^admin_users = .*/admin_users = $PGBOUNCER_USER/" \
    -e "s/^stats_users = .*/stats_users = $PGBOUNCER_USER/" \
    -e "s|^auth_file = .*|auth_file = $run/userlist.txt|" \
    "$ini" > "$run/pgbouncer.ini"
exec pgbouncer "$run/pgbouncer.ini"
