#!/bin/sh
# Build the nodejs:default runtime image offline: build-image.sh [TAG]
# (default localhost/edgewhisk/nodejs:latest). Needs podman, node and npm on the host, and the
# base image localhost/edgewhisk-base:bookworm (`edgewhisk runtime image build` makes it).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tag=${1:-localhost/edgewhisk/nodejs:latest}
context="$root/.build/nodejs-image"

podman image exists localhost/edgewhisk-base:bookworm || {
    echo "base image localhost/edgewhisk-base:bookworm is missing: run 'edgewhisk runtime image build' first" >&2
    exit 1
}
rm -rf "$context/proxy"
mkdir -p "$context/proxy"
cp "$here"/*.js "$context/proxy/"
node=$(command -v node)
cmp -s "$node" "$context/node" 2>/dev/null || cp "$node" "$context/node"
if [ ! -d "$context/node_modules/redis" ]; then
    echo "npm: openwhisk, redis@3, uuid@8 into $context" >&2
    npm install --prefix "$context" --no-save --no-package-lock --no-audit --no-fund \
        openwhisk@3 redis@3 uuid@8 >&2
fi
podman build -t "$tag" -f "$here/Dockerfile" "$context"
