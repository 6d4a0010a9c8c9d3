#!/bin/bash
# Build and run the libFuzzer targets (tests/fuzz) for a bounded time each.
# SPDX-License-Identifier: GPL-2.0-or-later
#
# usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60 s)
#        scripts/fuzz.sh --seeds     regenerate tests/fuzz/corpus/<target>
#        scripts/fuzz.sh --flood [N] flood the core with N bad messages
#
# Builds build/fuzz with clang (meson setup when missing), then runs every
# target, one at a time in one process, over its committed seed corpus
# plus build/fuzz-corpus/<target>, where new inputs accumulate (the
# committed corpus is only read).  Prints one line per target:
#   PASS fuzz/<target> <s>s execs=<n> exec/s=<n> edges=<n> corpus=<n>
#   FAIL fuzz/<target> ... reproducer: <path>
# and exits 1 if any target found a crash, leak, timeout or out-of-memory.
# Reproduce a finding with build/fuzz/tests/fuzz/<target> <reproducer>.
# FUZZ_FRESH=1 starts from the committed seeds only (bounded time for
# short passes such as make check's).
# Without clang + libFuzzer every target is reported as SKIP (exit 0).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/fuzz
WORK=$ROOT/build/fuzz-corpus
ART=$ROOT/build/fuzz-artifacts
LOGS=$ROOT/build/fuzz-logs
ALL=(fuzz-dispatch fuzz-gpadl fuzz-ring fuzz-load fuzz-monitor)

mode=run
secs=60
case "${1:-}" in
--seeds) mode=seeds; shift ;;
--flood) mode=flood; shift ;;
-h|--help) sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
[0-9]*) secs=$1; shift ;;
esac
if [ $mode = run ] && [ $# -gt 0 ]; then targets=("$@"); else targets=("${ALL[@]}"); fi

skip_all() {
    for t in "${targets[@]}"; do echo "SKIP fuzz/$t ($1)"; done
    exit 0
}

command -v clang >/dev/null 2>&1 || skip_all "clang not installed"
if [ ! -f "$BUILD/build.ninja" ]; then
    CC=clang meson setup "$BUILD" "$ROOT" >"$ROOT/build/fuzz-setup.log" 2>&1 ||
        { cat "$ROOT/build/fuzz-setup.log" >&2; skip_all "meson setup failed"; }
fi
grep -q 'fuzz-dispatch' "$BUILD/build.ninja" ||
    skip_all "clang cannot link -fsanitize=fuzzer (install libclang-rt-dev)"
ninja -C "$BUILD" $(printf 'tests/fuzz/%s ' "${ALL[@]}") tests/fuzz/vmbus-flood \
    >"$ROOT/build/fuzz-build.log" 2>&1 ||
    { tail -30 "$ROOT/build/fuzz-build.log" >&2; for t in "${targets[@]}"; do
          echo "FAIL fuzz/$t (build failed, see build/fuzz-build.log)"; done; exit 1; }

if [ $mode = seeds ]; then
    for t in "${ALL[@]}"; do
        rm -rf "$ROOT/tests/fuzz/corpus/$t"
        VMBUS_FUZZ_WRITE_SEEDS="$ROOT/tests/fuzz/corpus/$t" "$BUILD/tests/fuzz/$t" || exit 1
    done
    exit 0
fi
if [ $mode = flood ]; then
    exec "$BUILD/tests/fuzz/vmbus-flood" "${1:-10000000}"
fi

mkdir -p "$WORK" "$ART" "$LOGS"
failed=0
for t in "${targets[@]}"; do
    exe=$BUILD/tests/fuzz/$t
    seeds=$ROOT/tests/fuzz/corpus/$t
    if [ ! -x "$exe" ] || [ ! -d "$seeds" ]; then
        echo "FAIL fuzz/$t (no such target)"; failed=1; continue
    fi
    work=$WORK/$t
    if [ -n "${FUZZ_FRESH:-}" ]; then
        # Seeds only, so the run time does not grow with the work corpus.
        work=$WORK/$t.fresh
        rm -rf "$work"
    fi
    mkdir -p "$work" "$ART/$t"
    log=$LOGS/$t${FUZZ_FRESH:+.fresh}.log
    # LeakSanitizer is on by default; UBSan findings abort (see meson.build).
    "$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -max_len=4096 -print_final_stats=1 -artifact_prefix="$ART/$t/" \
        "$work" "$seeds" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    edges=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    corp=$(find "$work" -type f | wc -l)
    stats="${secs}s execs=${execs:-?} exec/s=${rate:-?} edges=${edges:-?} corpus=$corp"
    if [ $rc -eq 0 ]; then
        echo "PASS fuzz/$t $stats"
    else
        repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        why=$(grep -m1 -oE 'FUZZ FINDING: .*|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer): [^ ]+( [^ ]+)?|runtime error: .*' "$log")
        echo "FAIL fuzz/$t $stats rc=$rc ${why:+($why) }reproducer: ${repro:-none} log: $log"
        failed=1
    fi
done
exit $failed
