#!/usr/bin/env bash
# Fetches ONNX Runtime 1.31.1's shared library from the PyPI wheel `onnxruntime==1.31.1` into
# target/onnxruntime/<arch>/ (once; later calls only verify it) and prints its path.
#
#   scripts/fetch-onnxruntime.sh                                   # this machine's architecture
#   scripts/fetch-onnxruntime.sh --target aarch64-unknown-linux-gnu  # a board's
#
# <arch> is the target triple's first part (x86_64, aarch64): the runtime built for a target
# looks there (runtime/src/backend/library.rs). The library, not the wheel, is pinned: it has
# the same SHA-256 in every manylinux_2_28 wheel of 1.31.1 of one architecture, whichever
# Python tag pip picks.
set -euo pipefail
version=1.31.1
triple=""
while [ $# -gt 0 ]; do
    case "$1" in
        --target) triple="${2:?--target needs a target triple}"; shift 2 ;;
        --target=*) triple="${1#--target=}"; shift ;;
        *) echo "fetch-onnxruntime: unknown argument $1 (usage: $0 [--target TRIPLE])" >&2; exit 2 ;;
    esac
done
arch="${triple%%-*}"
[ -n "$arch" ] || arch="$(uname -m)"
case "$triple" in
    "" | x86_64-unknown-linux-gnu | aarch64-unknown-linux-gnu) ;;
    *) echo "fetch-onnxruntime: no ONNX Runtime library is pinned for $triple" \
        "(x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu)" >&2; exit 2 ;;
esac
case "$arch" in
    x86_64) want=fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3 ;;
    aarch64) want=8aa3b76b28c778a2b1dd660d34161adb1d508c9ccd04ff9dc80e26eca5df8467 ;;
    *) echo "fetch-onnxruntime: no ONNX Runtime library is pinned for $arch" \
        "(x86_64, aarch64)" >&2; exit 2 ;;
esac
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/target/onnxruntime/$arch"
lib="$dest/libonnxruntime.so.$version"

verify() { [ -f "$lib" ] && [ "$(sha256sum "$lib" | cut -d' ' -f1)" = "$want" ]; }

if ! verify; then
    mkdir -p "$dest"
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
        --python-version 3.11 --platform "manylinux_2_28_$arch" "onnxruntime==$version" \
        -d "$tmp" >&2
    wheel="$(ls "$tmp"/onnxruntime-"$version"-*.whl)"
    python3 - "$wheel" "$tmp/lib" "$version" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    with z.open(f"onnxruntime/capi/libonnxruntime.so.{sys.argv[3]}") as src, open(sys.argv[2], "wb") as dst:
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
