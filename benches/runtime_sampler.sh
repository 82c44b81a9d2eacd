#!/usr/bin/env bash
# The runtime sampler benchmark: edgevae-runtime vs raw ort (criterion, runtime/benches/sampler.rs)
# and vs Python onnxruntime 1.31.1, on the MNIST-sized demo model (784-512-512, kappa 64, stage 2
# 3x1024), in one run; then the cold start (open model directory -> first sample).
#   benches/runtime_sampler.sh [run dir]   (default runs/demo; trained first when missing)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
run="${1:-runs/demo}"
model="target/bench-model"
scripts/fetch-onnxruntime.sh >/dev/null
cargo build --release -q -p edgevae-trainer
[ -f "$run/state.json" ] || target/release/edgevae train --data sprites --out "$run" -q
target/release/edgevae export --run "$run" --out "$model" --precision fp32 >/dev/null
if [ ! -x target/venv-onnx/bin/python ]; then
    python3 -m venv target/venv-onnx
    target/venv-onnx/bin/pip install -q --disable-pip-version-check onnx onnxruntime==1.31.1 numpy
fi
EDGEVAE_BENCH_MODEL="$root/$model" cargo bench -q -p edgevae-runtime --bench sampler -- --noplot 2>&1 \
    | grep -E "^sampler_|time:|thrpt:"
target/venv-onnx/bin/python benches/ort_python_sampler.py "$model" 1 1
target/venv-onnx/bin/python benches/ort_python_sampler.py "$model" 256 2
# Cold start, each in a fresh process, configurations interleaved.
benches/cold_start.sh "$model" 15
