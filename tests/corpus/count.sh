#!/usr/bin/env bash
# Runs the four hardening tests and sums their case counts: the figure in tests/corpus/README.md.
# Usage: tests/corpus/count.sh   (from anywhere in the repository)
set -euo pipefail
cd "$(dirname "$0")/../.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for run in "edgevae-runtime hardening" "edgevae-runtime micro_blobs" "edgevae-ffi hardening" \
    "edgevae-trainer hardening"; do
    read -r pkg test <<<"$run"
    cargo test -q -p "$pkg" --test "$test" -- --nocapture 2>&1 | tee -a "$log" | grep '^hardening\['
done
awk '/^hardening\[[a-z]+\]: [0-9]+ cases, [0-9]+ panics/ { cases += $2; panics += $4; n++ }
     END {
         if (n != 4) { print "expected 4 summaries, found " n > "/dev/stderr"; exit 1 }
         printf "hardening[total]: %d cases, %d panics\n", cases, panics
     }' "$log"
