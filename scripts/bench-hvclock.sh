#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Drift between the two Hyper-V reference clocks under TCG: the
# reference TSC page (as the guest reads it with rdtsc) against the
# TIME_REF_COUNT MSR, sampled as pairs at the start and after SECS
# seconds of guest time by scripts/guest/tools/hvclock.c (scenario
# hvclock with vmbus.hvclock_drift=SECS).  Prints
#   hvclock drift over SECS s guest time: X ppm (scale rounding bound: Y ppm)
# and the sampling resolution of that figure.
#
#   scripts/bench-hvclock.sh [GUEST [SECS]]     (default: trixie 10)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
GUEST=${1:-trixie}
SECS=${2:-10}
[ -x "$ROOT/build/qemu-system-x86_64" ] && [ -f "$ROOT/build/guests/$GUEST/initrd.gz" ] ||
    { echo "bench-hvclock: run 'make qemu guests' first" >&2; exit 1; }
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
"$ROOT/scripts/guest-run.py" --guest "$GUEST" --scenario hvclock --quiet \
    --timeout $((240 + SECS * 10)) --log "$LOG" \
    --cpu=qemu64,hv-vpindex=on,hv-synic=on,hv-relaxed=on,hv-time=on,hv-stimer=on \
    --append "msr.allow_writes=on vmbus.hvclock_drift=$SECS" -- \
    -device vmbus-bridge 2> /dev/null || true
# console lines carry the runner's time stamps: match anywhere in the line
line=$(grep -a "VMBUS-RESULT: hvclock_drift PASS" "$LOG" | tr -d '\r' | sed 's/.*VMBUS-RESULT: hvclock_drift PASS //' | tail -1 || true)
if [ -n "$line" ]; then
    echo "$line"
    grep -a "hvclock: sampling resolution\|hvclock: drift cpu" "$LOG" | tr -d '\r' | sed 's/.*hvclock: /  /' || true
else
    echo "hvclock drift: FAIL (no result: $(grep -a 'VMBUS-RESULT\|hvclock' "$LOG" | tr -d '\r' | tail -1 || true))"
fi
