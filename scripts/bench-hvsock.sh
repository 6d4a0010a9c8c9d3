#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# hv_sock throughput under TCG: one stream guest->host and one
# host->guest through -device hv-sock, each as a ratio to one TCP stream
# the same way over the same guest's -netdev user network (e1000), all
# in one run of one guest.  Measured on the host side (first byte to
# EOF).  Prints the numbers and "hvsock_bench: PASS" or FAIL.
#
#   scripts/bench-hvsock.sh [GUEST [MIB]]     (default: trixie 32)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
GUEST=${1:-trixie}
MB=${2:-32}
[ -x "$ROOT/build/qemu-system-x86_64" ] && [ -f "$ROOT/build/guests/$GUEST/initrd.gz" ] ||
    { echo "bench-hvsock: run 'make qemu guests' first" >&2; exit 1; }
read -r FWD SINK < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
"$ROOT/scripts/guest-run.py" --guest "$GUEST" --scenario hvsock-bench --quiet \
    --timeout $((300 + MB * 20)) --log "$LOG" \
    --append "vmbus.bench_mb=$MB vmbus.bench_fwd=$FWD vmbus.bench_sink=$SINK" -- \
    -device vmbus-bridge -device hv-sock,id=hvs0,path=@TMPDIR@/hvs \
    -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$FWD-:5201" -device e1000,netdev=n0,romfile= \
    2> /dev/null || true
val() { sed -n "s/.*VMBUS-INFO: $1=\([0-9]*\).*/\1/p" "$LOG" | tail -1; }
hg=$(val hvsock_g2h_kibps); hh=$(val hvsock_h2g_kibps)
tg=$(val tcp_g2h_kibps); th=$(val tcp_h2g_kibps)
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo "hv_sock vs TCP over -netdev user, $GUEST guest under TCG, $MB MiB per stream (KiB/s):"
printf "  guest->host  hv_sock %8s  tcp %8s  ratio %s\n" "${hg:-?}" "${tg:-?}" "$(ratio "$hg" "$tg")"
printf "  host->guest  hv_sock %8s  tcp %8s  ratio %s\n" "${hh:-?}" "${th:-?}" "$(ratio "$hh" "$th")"
grep -a "VMBUS-RESULT: hvsock_bench" "$LOG" | sed 's/.*VMBUS-RESULT: //;s/^hvsock_bench /hvsock_bench: /' ||
    echo "hvsock_bench: FAIL (no result; log lost)"
