#!/usr/bin/env bash
# Unpacks Debian's arm64 Node.js (and the libraries it needs) into
# build-arm64-node/sysroot, without installing it, so that
# `qemu-aarch64 -L build-arm64-node/sysroot build-arm64-node/sysroot/usr/bin/node`
# can load the linux-arm64 prebuild in test/package.test.ts. Needs root
# (dpkg --add-architecture), apt and qemu-user. nodejs:arm64 cannot be
# installed beside the machine's amd64 nodejs, hence unpacking only.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build-arm64-node
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  apt-get update -qq
fi
rm -rf "$out" && mkdir -p "$out/debs" "$out/sysroot"
cd "$out/debs"
# The arm64 libraries node links, plus the architecture-independent modules
# Debian's node loads from /usr/share/nodejs (cjs-module-lexer, undici, …).
deps=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances --no-pre-depends nodejs:arm64 \
  | grep -E '^[a-z0-9]' | sort -u | grep -E ':arm64$|^node-' | grep -v '^debconf')
apt-get download $deps >/dev/null 2>&1
for deb in *.deb; do dpkg-deb -x "$deb" ../sysroot; done
qemu-aarch64 -L ../sysroot ../sysroot/usr/bin/node -p '`arm64 node ${process.version} (${process.arch})`'
