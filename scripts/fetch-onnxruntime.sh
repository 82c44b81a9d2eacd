#!/usr/bin/env bash
# Fetches ONNX Runtime 1.31.1's shared library from the PyPI wheel `onnxruntime==1.31.1` into
# target/onnxruntime/ (once; later calls only verify it) and prints its path.
# The library, not the wheel, is pinned: libonnxruntime.so.1.31.1 has the same SHA-256 in every
# manylinux_2_28_x86_64 wheel of 1.31.1, whichever Python tag pip picks.
set -euo pipefail
version=1.31.1
want=fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/target/onnxruntime"
lib="$dest/libonnxruntime.so.$version"

verify() { [ -f "$lib" ] && [ "$(sha256sum "$lib" | cut -d' ' -f1)" = "$want" ]; }

if ! verify; then
    mkdir -p "$dest"
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
        --python-version 3.11 --platform manylinux_2_28_x86_64 "onnxruntime==$version" -d "$tmp" >&2
    wheel="$(ls "$tmp"/onnxruntime-"$version"-*.whl)"
    python3 - "$wheel" "$tmp/lib" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    with z.open("onnxruntime/capi/libonnxruntime.so.1.31.1") as src, open(sys.argv[2], "wb") as dst:
        dst.write(src.read())
PY
    got="$(sha256sum "$tmp/lib" | cut -d' ' -f1)"
    if [ "$got" != "$want" ]; then
        echo "fetch-onnxruntime: $wheel holds a libonnxruntime with SHA-256 $got, expected $want" >&2
        exit 1
    fi
    mv "$tmp/lib" "$lib.tmp.$$" && mv "$lib.tmp.$$" "$lib"
fi
echo "$lib"
