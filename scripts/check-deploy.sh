#!/usr/bin/env bash
# Checks the deployment pieces as far as a machine with no Docker engine and no cluster allows (CI runs it):
#   1. yamllint over compose.yaml and deploy/ (.yamllint.yaml);
#   2. `docker-compose config` parses and interpolates compose.yaml (no engine needed);
#   3. `kubectl kustomize deploy/k8s` renders the manifests, and each rendered object names the kind, the
#      probes, resources and the preStop delay the production guide promises;
#   4. the PgBouncer entrypoint parses (sh -n) and renders its config as the container would;
#   5. the image's Node line: every stage of the Dockerfile starts from node:<major>-…, the major of .node-version,
#      which package.json's engines allow;
#   6. the production image's contents work: the compiled server, with production dependencies only (what the
#      Dockerfile's last stage holds: dist/ and `npm ci --omit=dev`), starts in production mode, answers /healthz
#      and /graphql, and exits 0 on SIGTERM (scripts/smoke.sh).
# Installs yamllint, docker-compose and kubectl from Debian's packages when they are missing (needs root then).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '[check-deploy] %s\n' "$*"; }
die() { printf '[check-deploy] FAILED: %s\n' "$*" >&2; exit 1; }

missing=()
command -v yamllint >/dev/null || missing+=(yamllint)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v kubectl >/dev/null || missing+=(kubernetes-client)
if ((${#missing[@]} > 0)); then
  [[ $(id -u) -eq 0 ]] || die "install ${missing[*]} (needs root)"
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
fi

log "yamllint"
yamllint -c .yamllint.yaml compose.yaml deploy/ .yamllint.yaml

log "docker-compose config"
JWT_SECRET=check-deploy-secret-of-at-least-32-chars docker-compose -f compose.yaml config -q
services=$(JWT_SECRET=check-deploy-secret-of-at-least-32-chars docker-compose -f compose.yaml config --services | sort | tr '\n' ' ')
[[ $services == "lb migrate pgbouncer postgres redis tally-1 tally-2 tally-3 " ]] || die "compose services: $services"

log "kubectl kustomize deploy/k8s"
rendered=$(kubectl kustomize deploy/k8s)
for kind in ConfigMap Deployment Service HorizontalPodAutoscaler PodDisruptionBudget; do
  grep -q "^kind: $kind$" <<<"$rendered" || die "no $kind in the rendered manifests"
done
for promise in 'path: /readyz' 'path: /healthz' 'preStop:' 'terminationGracePeriodSeconds: 30' 'memory: 768Mi' 'runAsNonRoot: true'; do
  grep -q -- "$promise" <<<"$rendered" || die "the rendered manifests lack '$promise'"
done
# Outside the kustomization (a Job is immutable once applied); kubectl cannot check it without a cluster.
grep -q '^kind: Job$' deploy/k8s/migrate-job.yaml || die "deploy/k8s/migrate-job.yaml is not a Job"

log "PgBouncer entrypoint"
sh -n deploy/pgbouncer/entrypoint.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/tally-check-deploy.XXXXXX")
trap 'rm -rf "$work"' EXIT
# The entrypoint itself, with a stand-in for pgbouncer that shows the config it was handed.
mkdir -p "$work/bin" "$work/run"
printf '#!/bin/sh\ncat "$1"\n' > "$work/bin/pgbouncer"
chmod +x "$work/bin/pgbouncer"
ini=$(PATH="$work/bin:$PATH" PGBOUNCER_RUN_DIR="$work/run" PGBOUNCER_INI=deploy/pgbouncer/pgbouncer.ini \
  PGBOUNCER_USER=app PGBOUNCER_PASSWORD=pw PGBOUNCER_DATABASE_HOST=db.internal PGBOUNCER_DEFAULT_POOL_SIZE=7 \
  sh deploy/pgbouncer/entrypoint.sh)
for line in '* = host=db.internal port=5432 ' 'default_pool_size = 7' 'admin_users = app' "auth_file = $work/run/userlist.txt" 'pool_mode = transaction'; do
  grep -qF -- "$line" <<<"$ini" || die "the PgBouncer entrypoint's config lacks '$line'"
done
[[ $(cat "$work/run/userlist.txt") == '"app" "pw"' ]] || die "the PgBouncer entrypoint's auth file is wrong"
if PGBOUNCER_DATABASE_HOST='x;rm' PGBOUNCER_USER=a PGBOUNCER_PASSWORD=b PGBOUNCER_RUN_DIR="$work/run" sh deploy/pgbouncer/entrypoint.sh 2>/dev/null; then
  die "the PgBouncer entrypoint took a host name that is not one"
fi

log "the image's Node line"
pinned=$(tr -d ' \n\r' < .node-version)
majors=$(sed -nE 's/^FROM node:([0-9]+)[.-].*/\1/p' Dockerfile | sort -u)
stages=$(grep -c '^FROM ' Dockerfile)
[[ $(grep -cE '^FROM node:[0-9]+' Dockerfile) == "$stages" ]] || die "every Dockerfile stage must start FROM node:<major>-…"
[[ $majors == "${pinned%%.*}" ]] || die "the Dockerfile builds on Node $(echo $majors), .node-version pins $pinned"
node -e '
  const engines = require("./package.json").engines.node;
  const major = process.argv[1];
  if (!engines.split("||").some((range) => range.trim().startsWith(`^${major}.`))) {
    console.error(`package.json engines (${engines}) do not allow Node ${major}, the line the image builds on`);
    process.exit(1);
  }' "$majors" || die "engines and the image disagree"

log "the image's contents: dist/ and production dependencies only"
npm run -s build
mkdir -p "$work/app"
cp package.json package-lock.json "$work/app/"
cp -r dist "$work/app/dist"
(cd "$work/app" && npm ci --omit=dev --no-audit --no-fund --silent </dev/null)
bash scripts/smoke.sh "$work/app"
log "ok"
