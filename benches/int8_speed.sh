#!/usr/bin/env bash
# int8 against fp32 (and fp16w) on ONNX Runtime's CPU provider, in one run: the sampler and the
# one-pass filter at batch 1 on 1 thread and batch 256 on 2 threads (runtime/benches/precisions.rs),
# for the MNIST-sized demo model (784-512-512, kappa 64, stage 2 3x1024) and the smaller
# quickstart-sized model (784-256-256, kappa 32, as models/quickstart).
#   benches/int8_speed.sh [run dir]   (default runs/demo; trained first when missing)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
run="${1:-runs/demo}"
scripts/fetch-onnxruntime.sh >/dev/null
cargo build --release -q -p edgevae-trainer
[ -f "$run/state.json" ] || target/release/edgevae train --data sprites --out "$run" -q
lscpu | grep -E "^(Model name|Model):"
for model in "$root/target/bench-model-int8" "$root/models/quickstart"; do
    if [ "$model" != "$root/models/quickstart" ]; then
        target/release/edgevae export --run "$run" --out "$model" --precision fp32,fp16w,int8 >/dev/null
    fi
    echo "== $model"
    ls -l "$model"/*_{fp32,fp16w,int8}.onnx | awk '{print $5, $NF}'
    # A criterion directory per model, so that no model's figures are compared with another's.
    CRITERION_HOME="$root/target/criterion-int8/$(basename "$model")" \
        EDGEVAE_BENCH_MODEL="$model" cargo bench -q -p edgevae-runtime --bench precisions -- --noplot 2>&1 \
        | grep -E "^(sampler|filter)_|time:|thrpt:"
done
