#!/usr/bin/env bash
# Starts the compiled server (dist/src/main.js, as `npm run serve` and the image run it) under whichever `node` is
# first on PATH, in production mode on the embedded database, and checks that it answers /healthz and Tally's
# persisted NewestPosts by id, then exits 0 on SIGTERM. CI runs it on the image's contents (check-deploy.sh) and on
# the other supported Node line (.ci/run).
#
# Usage: scripts/smoke.sh [APP_DIR]   APP_DIR holds dist/ and node_modules/ (default: this checkout, built)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APP="$(cd "${1:-$ROOT}" && pwd)"
log() { printf '[smoke] %s\n' "$*"; }
die() { printf '[smoke] FAILED: %s\n' "$*" >&2; exit 1; }

[[ -f $APP/dist/src/main.js ]] || die "$APP/dist/src/main.js is not there: run npm run build"
work=$(mktemp -d "${TMPDIR:-/tmp}/tally-smoke.XXXXXX")
server_pid=''
cleanup() {
  [[ -n $server_pid ]] && kill -9 "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

log "$(node --version): starting $APP/dist/src/main.js in production mode"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
(cd "$APP" && exec env -i PATH="$PATH" HOME="$work" NODE_ENV=production PORT="$port" HOST=127.0.0.1 \
  JWT_SECRET=smoke-test-secret-of-at-least-32-characters JWT_ISSUER=tally JWT_AUDIENCE=tally-api \
  PGLITE_DIR=memory:// LOG_LEVEL=warn node --max-semi-space-size=64 dist/src/main.js >"$work/server.log" 2>&1) &
server_pid=$!
for _ in $(seq 1 150); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || die "the compiled server exited: $(cat "$work/server.log")"
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || die "no /healthz: $(cat "$work/server.log")"
# Production runs trusted documents only: Tally's own NewestPosts, by its id.
id=$(node -p "require('$ROOT/persisted-queries/manifest.json').operations.find((o) => o.name === 'NewestPosts').id")
answer=$(curl -fsS "http://127.0.0.1:$port/graphql" -H 'content-type: application/json' -d "{\"documentId\":\"$id\",\"variables\":{\"first\":1}}")
grep -q '"posts":{"edges":\[{' <<<"$answer" || die "the persisted NewestPosts did not answer with a post: $answer"
kill -TERM "$server_pid"
code=0
wait "$server_pid" || code=$?
server_pid=''
((code == 0)) || die "the compiled server exited $code on SIGTERM: $(cat "$work/server.log")"
log "ok: started, answered /healthz and NewestPosts, exited 0 on SIGTERM"
