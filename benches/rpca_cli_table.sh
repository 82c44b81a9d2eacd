#!/usr/bin/env bash
# Robust PCA through the CLI exactly as a user would run it, with a latent of 32 whatever the
# rank, on raw matrices from another generator (benches/rpca_other_generator.py), against PCP
# on the same matrices:
#   edgevae train --data dirty.npy --robust --latent 32 --hidden 128,128 --epochs 60 --recycle 2 \
#       --stage2-epochs 1 --stage2-width 64;  edgevae export;  edgevae filter --passes 3
# Prints one line per cell: kappa, nu, NMSE of cleaned.npy, PCP's NMSE, active dimensions, time.
#   benches/rpca_cli_table.sh [out dir] [python with numpy]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/runs/rpca-cli}"
py="${2:-python3}"
exe="$root/target/release/edgevae"
gen="$root/benches/rpca_other_generator.py"
cargo build --release -q -p edgevae-trainer
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p') (model $(lscpu | sed -n 's/^Model: *//p'), $(nproc) CPUs)"
for cell in "4 0.1" "4 0.3" "12 0.1" "12 0.3"; do
    set -- $cell
    d="$out/k$1-nu$2"
    rm -rf "$d" && mkdir -p "$d"
    "$py" "$gen" make "$1" "$2" 11 "$d"
    start=$SECONDS
    "$exe" train --data "$d/dirty.npy" --robust --latent 32 --hidden 128,128 --epochs 60 \
        --recycle 2 --stage2-epochs 1 --stage2-width 64 --out "$d/run" -q > "$d/train.out" 2> "$d/train.err"
    "$exe" export --run "$d/run" --out "$d/model" > /dev/null
    "$exe" filter --model "$d/model" --input "$d/dirty.npy" --passes 3 --out "$d/filtered" \
        > /dev/null 2>&1
    took=$((SECONDS - start))
    vae="$("$py" "$gen" nmse "$d/filtered/cleaned.npy" "$d/clean.npy")"
    pcp="$("$py" "$gen" pcp "$d/dirty.npy" "$d/clean.npy")"
    active="$(grep -o 'active latent dimensions: [0-9]* of [0-9]*' "$d/train.err" || true)"
    echo "kappa $1, nu $2: robust VAE $vae, PCP $pcp ($active; ${took} s)"
done
