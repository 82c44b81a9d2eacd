#!/usr/bin/env bash
# Runs the three hardening tests and sums their case counts: the figure in tests/corpus/README.md.
# Usage: tests/corpus/count.sh   (from anywhere in the repository)
set -euo pipefail
cd "$(dirname "$0")/../.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for pkg in edgevae-runtime edgevae-ffi edgevae-trainer; do
    cargo test -q -p "$pkg" --test hardening -- --nocapture 2>&1 | tee -a "$log" | grep '^hardening\['
done
awk '/^hardening\[[a-z]+\]: [0-9]+ cases, [0-9]+ panics/ { cases += $2; panics += $4; n++ }
     END {
         if (n != 3) { print "expected 3 summaries, found " n > "/dev/stderr"; exit 1 }
         printf "hardening[total]: %d cases, %d panics\n", cases, panics
     }' "$log"
