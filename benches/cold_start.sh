#!/usr/bin/env bash
# Cold start (open model directory -> first sample), each in a fresh process, with the
# configurations interleaved round by round so that this machine's slow spells fall on all of
# them alike: 1 thread, 1 thread without weight prepacking, the default threads (one per CPU).
#   benches/cold_start.sh <model dir> [rounds]   (default 15 rounds; run after a release build)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
model="${1:?usage: benches/cold_start.sh <model dir> [rounds]}"
rounds="${2:-15}"
exe="$root/target/release/edgevae"
configs=("--threads 1" "--threads 1 --no-prepack" "")
names=("threads 1" "threads 1, no prepacking" "default threads")
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
for _ in $(seq "$rounds"); do
    for i in "${!configs[@]}"; do
        # shellcheck disable=SC2086 # the configuration is a list of flags
        ms=$("$exe" bench cold-start --model "$model" ${configs[$i]} --repeat 1 \
            | sed -nE 's/.*first sample at ([0-9.]+) ms.*/\1/p')
        echo "$i $ms" >>"$log"
    done
done
for i in "${!configs[@]}"; do
    awk -v i="$i" '$1 == i { print $2 }' "$log" | sort -g | awk -v name="${names[$i]}" '
        { t[NR] = $1; if ($1 <= 50) ok++ }
        END { printf "cold start, %s: median %.1f ms, max %.1f ms, %d of %d runs within 50 ms\n",
              name, (NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2), t[NR], ok, NR }'
done
