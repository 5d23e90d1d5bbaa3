#!/usr/bin/env bash
# Runs every libFuzzer target (fuzz/) for a while and says how many inputs
# each survived.
#
#   scripts/fuzz.sh [seconds-per-target]      (default 300)
#
# Builds build-fuzz/ with clang (-DASP_FUZZ=ON: libFuzzer, ASan, UBSan),
# then runs each target on a working copy of its committed seed corpus
# (fuzz/corpus/<target>/ is never changed; the grown corpus stays in
# build-fuzz/corpus/<target>/ for the next run). A crash, leak, sanitizer
# report or timeout stops that target; the input that did it is written to
# build-fuzz/crashes/<target>/ (replay: build-fuzz/fuzz/<target> <file>).
# Exits non-zero when any target failed. scripts/test.sh runs this with a
# short time (ASP_FUZZ_SECONDS, default 20) in CI.
#
# Environment: ASP_FUZZ_TARGETS (default: all), ASP_BUILD_JOBS (2).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECONDS_EACH=${1:-300}
TARGETS=${ASP_FUZZ_TARGETS:-"fuzz_mp fuzz_envelope fuzz_intake_body fuzz_aspw fuzz_warranty fuzz_intake_zmq fuzz_sla_policy fuzz_notify_templates fuzz_notify_rules"}
BUILD="$ROOT/build-fuzz"
if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz: clang is not installed (scripts/deps.sh installs it)" >&2
    exit 1
fi
# shellcheck disable=SC2086
CC=clang cmake -S "$ROOT" -B "$BUILD" -DASP_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null \
&& cmake --build "$BUILD" -j"${ASP_BUILD_JOBS:-2}" --target $TARGETS || exit 1

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=0
summary=()
for t in $TARGETS; do
    corpus="$BUILD/corpus/$t" crashes="$BUILD/crashes/$t" log="$BUILD/$t.log"
    mkdir -p "$corpus" "$crashes"
    # -max_len: the envelope and partner frames may be up to 64 KiB; 8 KiB
    # reaches every field while keeping the runs fast. -timeout: any input
    # taking over 10 s is a hang.
    "$BUILD/fuzz/$t" "$corpus" "$ROOT/fuzz/corpus/$t" -max_total_time="$SECONDS_EACH" \
        -max_len=8192 -timeout=10 -print_final_stats=1 -artifact_prefix="$crashes/" \
        >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ $rc -eq 0 ]; then
        summary+=("$(printf '  %-18s ok      %12s inputs in %ss' "$t" "${runs:-?}" "$SECONDS_EACH")")
    else
        failed=1
        summary+=("$(printf '  %-18s FAILED  %12s inputs (status %d; see %s, %s)' "$t" "${runs:-?}" "$rc" "$log" "$crashes")")
        tail -n 40 "$log"
    fi
done
echo "=== fuzz (${SECONDS_EACH}s each)"
printf '%s\n' "${summary[@]}"
exit $failed
