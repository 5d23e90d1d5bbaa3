#!/usr/bin/env bash
# Builds and tests everything:
#   build/       RelWithDebInfo: every test
#   build-asan/  Debug with AddressSanitizer + UndefinedBehaviorSanitizer
#                (-DASP_SANITIZE=ON); any leak, memory error or undefined
#                behaviour fails the test that triggered it: every test
#                but the *_cluster variants (the same C code against a
#                Redis in cluster mode: what they prove, one slot per
#                script, is checked by Redis in build/, not by ASan)
#   build-tsan/  RelWithDebInfo with ThreadSanitizer (-DASP_SANITIZE=thread):
#                the tests labelled unit or threads (the self-tests, which
#                run services' loops on threads of their own, and the
#                integration tests that drive intake's HTTP threads,
#                notification's delivery threads and asp_outbox_remote);
#                any data race fails the test (tests/tsan.supp suppresses
#                only races inside libzmq, which is not instrumented)
#   build-fuzz/  clang with libFuzzer: each fuzz target for
#                ASP_FUZZ_SECONDS (default 20) from its seed corpus
#                (scripts/fuzz.sh)
# and runs `ctest --output-on-failure` in the first three. A test that could
# not run is reported as skipped, not passed. Prints a summary with the time
# of each step; exits non-zero when anything failed. CI runs exactly this
# (.ci/run).
#
# Environment:
#   ASP_TEST_JOBS    parallel ctest jobs (default 2; tests marked RUN_SERIAL
#                    always run alone)
#   ASP_BUILD_JOBS   parallel compile jobs (default 2)
#   ASP_TEST_ONLY    run only one of: build, asan, tsan, fuzz
#   ASP_FUZZ_SECONDS seconds per fuzz target (default 20; 0 skips fuzzing)
#   CTEST_ARGS       extra ctest arguments, e.g. "-R selftest" or "-L unit"
# In build-asan/ and build-tsan/ the integration tests see ASP_SANITIZED=1
# and scale their load down (the sanitized binaries are several times slower).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD_JOBS=${ASP_BUILD_JOBS:-2}
TEST_JOBS=${ASP_TEST_JOBS:-2}
read -r -a EXTRA <<<"${CTEST_ARGS:-}"

SUMMARY=()
FAILED=0
T0=$SECONDS

# step <label> <command...>: runs it, records status and time.
step () {
    local label=$1; shift
    local t=$SECONDS
    echo
    echo "=== $label: $*"
    "$@"
    local rc=$?
    local dt=$((SECONDS - t))
    if [ $rc -eq 0 ]; then
        SUMMARY+=("$(printf '  %-44s ok      %4ds' "$label" "$dt")")
    else
        SUMMARY+=("$(printf '  %-44s FAILED  %4ds  (status %d)' "$label" "$dt" "$rc")")
        FAILED=1
    fi
    return $rc
}

skip () {
    SUMMARY+=("$(printf '  %-44s skipped (%s)' "$1" "$2")")
}

# tree <dir> <label> <cmake args...>: configure, build, test (with the
# ctest arguments in SELECT, e.g. a label filter, then CTEST_ARGS).
SELECT=()
tree () {
    local dir=$1 label=$2; shift 2
    if step "$label: configure" cmake -S "$ROOT" -B "$ROOT/$dir" "$@" \
    && step "$label: build" cmake --build "$ROOT/$dir" -j"$BUILD_JOBS"; then
        step "$label: ctest" ctest --test-dir "$ROOT/$dir" --output-on-failure \
            --no-tests=error -j"$TEST_JOBS" "${SELECT[@]}" "${EXTRA[@]}"
    else
        skip "$label: ctest" "the build failed"
    fi
}

# want <name>: true unless ASP_TEST_ONLY names another tree.
want () {
    [ -z "${ASP_TEST_ONLY:-}" ] || [ "$ASP_TEST_ONLY" = "$1" ]
}

if ! step "dependencies" bash "$ROOT/scripts/deps.sh"; then
    echo "test: cannot install the dependencies" >&2
    exit 1
fi

if want build; then
    tree build "build (RelWithDebInfo)" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DASP_SANITIZE=OFF
fi
if want asan; then
    # Leaks count as failures; the first error stops the process (and so
    # fails its test) instead of scrolling by.
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    SELECT=(-LE cluster)
    tree build-asan "build-asan (Debug, ASan+UBSan)" -DCMAKE_BUILD_TYPE=Debug -DASP_SANITIZE=ON
    SELECT=()
    unset ASAN_OPTIONS UBSAN_OPTIONS
fi
if want tsan; then
    # The first race stops the process with status 66 (and so fails its test).
    export TSAN_OPTIONS="suppressions=$ROOT/tests/tsan.supp halt_on_error=1 second_deadlock_stack=1"
    SELECT=(-L "unit|threads" -LE cluster)
    tree build-tsan "build-tsan (ThreadSanitizer)" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DASP_SANITIZE=thread
    SELECT=()
    unset TSAN_OPTIONS
fi
FUZZ_SECONDS=${ASP_FUZZ_SECONDS:-20}
if want fuzz && [ "$FUZZ_SECONDS" -gt 0 ]; then
    step "build-fuzz (libFuzzer, ${FUZZ_SECONDS}s per target)" \
        env ASP_BUILD_JOBS="$BUILD_JOBS" bash "$ROOT/scripts/fuzz.sh" "$FUZZ_SECONDS"
fi

echo
echo "=== summary ($((SECONDS - T0)) s)"
printf '%s\n' "${SUMMARY[@]}"
if [ $FAILED -ne 0 ]; then
    echo "=== FAILED"
    exit 1
fi
echo "=== all passed"
