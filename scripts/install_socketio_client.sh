#!/bin/sh
# Install the browser's Socket.IO client for the demo page (`wslab serve`, browser test).
#
# npm installs the package `socket.io-client` into build/socketio-client/ (ignored by
# git) and its browser bundle is copied to lib/wslab/app/static/vendor/socket.io.min.js
# (also ignored). Nothing here is committed. Override the version with
# SOCKETIO_CLIENT_VERSION=4.x.y.
set -eu

VERSION="${SOCKETIO_CLIENT_VERSION:-4.8.1}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PREFIX="$ROOT/build/socketio-client"
VENDOR="$ROOT/lib/wslab/app/static/vendor"

if ! command -v npm >/dev/null 2>&1; then
    echo "install_socketio_client: npm not found; install Node.js (which ships npm) and run this again" >&2
    exit 1
fi

mkdir -p "$PREFIX" "$VENDOR"
npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error "socket.io-client@$VERSION" >&2
cp "$PREFIX/node_modules/socket.io-client/dist/socket.io.min.js" "$VENDOR/socket.io.min.js"
INSTALLED="$(node -p "require('$PREFIX/node_modules/socket.io-client/package.json').version" 2>/dev/null || echo "$VERSION")"
echo "socket.io-client $INSTALLED -> lib/wslab/app/static/vendor/socket.io.min.js"
