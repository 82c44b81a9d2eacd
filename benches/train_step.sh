#!/usr/bin/env bash
# The stage-1 training-step benchmark: edgevae (candle) next to the PyTorch peer, same model,
# same machine, same run. Prints one line per (implementation, batch, threads) and the ratios.
#
#   benches/train_step.sh                  # needs benches/.venv-torch (see --install-torch)
#   benches/train_step.sh --install-torch  # first creates benches/.venv-torch with torch (~3 GB)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
venv="$here/.venv-torch"
peer="$root/../shared/bench/torch_vae_step.py"
[ -f "$peer" ] || peer="$here/torch_vae_step.py"

if [ "${1:-}" = "--install-torch" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q torch numpy
fi
[ -x "$venv/bin/python" ] || { echo "no PyTorch venv at $venv: run with --install-torch" >&2; exit 1; }
[ -f "$peer" ] || { echo "the PyTorch peer script is missing: $peer" >&2; exit 1; }

cargo build --release -q -p edgevae-trainer --manifest-path "$root/Cargo.toml"
bin="$root/target/release/edgevae"
# Figures are only comparable within one machine: say which one.
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), lscpu model $(lscpu | sed -n 's/^Model: *//p' | head -1), $(nproc) CPUs usable, $(lscpu | sed -n 's/^Thread(s) per core: *//p') thread(s) per core, $(lscpu | sed -n 's/^Core(s) per socket: *//p') core(s) per socket"
for threads in 1 2; do
    for batch in 64 256; do
        c=$(RAYON_NUM_THREADS=$threads "$bin" --threads "$threads" bench step --batch "$batch" --warmup 10 --steps 60)
        t=$(OMP_NUM_THREADS=$threads "$venv/bin/python" "$peer" "$batch" 10 60 "$threads")
        echo "$c"
        echo "$t"
        cm=$(sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p' <<<"$c")
        tm=$(sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p' <<<"$t")
        python3 -c "print(f'ratio batch=$batch threads=$threads candle/torch = {$cm/$tm:.2f}')"
    done
done
