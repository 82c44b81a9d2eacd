#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 600), one after another, and appends a line
# per target to fuzz/RESULTS.md: date, target, seconds, executions (from libFuzzer's final
# statistics) and crashes (artifacts libFuzzer wrote; it stops at the first one).
#
#   fuzz/run_all.sh [SECONDS]
#
# Needs nightly and cargo-fuzz (`cargo install cargo-fuzz --locked`). New corpus entries go to
# fuzz/corpus/<target>/ (committed); crashing inputs to fuzz/artifacts/<target>/ (ignored).
set -uo pipefail

secs=${1:-600}
cd "$(dirname "$0")"
results=RESULTS.md
if [ ! -f "$results" ]; then
    printf '| date (UTC) | target | seconds | executions | crashes |\n| --- | --- | --- | --- | --- |\n' >"$results"
fi

count_artifacts() {
    find "artifacts/$1" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'oom-*' -o -name 'timeout-*' \) 2>/dev/null | wc -l
}

status=0
for target in manifest micro_blob idx npy; do
    # idx and npy read through the trainer (candle); manifest and micro_blob build the runtime
    # core alone, as a no_std device does.
    features=()
    case "$target" in manifest | micro_blob) ;; *) features=(--features trainer) ;; esac
    # micro_blob: inputs capped at 8 KiB (header, layer table and first sections) so the
    # committed corpus stays small; whole blobs are fuzzed as fuzz/README.md says.
    limits=()
    [ "$target" = micro_blob ] && limits=(-max_len=8192)
    log=$(mktemp)
    before=$(count_artifacts "$target")
    echo "== $target: ${secs}s"
    cargo +nightly fuzz run "${features[@]}" "$target" -- "${limits[@]}" \
        -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1
    rc=$?
    tail -n 25 "$log"
    execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    [ -n "$execs" ] || execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
    [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    crashes=$(($(count_artifacts "$target") - before))
    if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
        crashes="error (exit $rc, see output above)"
    fi
    [ "$rc" -eq 0 ] || status=1
    printf '| %s | %s | %s | %s | %s |\n' "$(date -u '+%Y-%m-%d %H:%M')" "$target" "$secs" "${execs:-?}" "$crashes" >>"$results"
    rm -f "$log"
done
exit "$status"
