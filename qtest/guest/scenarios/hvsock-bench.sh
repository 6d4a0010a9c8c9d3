# SPDX-License-Identifier: GPL-2.0-or-later
# Throughput of one hv_sock stream each way (hv-sock device, socat in the
# guest) against one TCP stream each way over the same guest's
# -netdev user (slirp) e1000 NIC, measured on the host side by the
# runner's peers.  Driven by scripts/bench-hvsock.sh, which passes:
#   vmbus.bench_mb=N          MiB per stream (default 32)
#   vmbus.bench_fwd=PORT      host port forwarded to the guest's TCP 5201
#   vmbus.bench_sink=PORT     host port the guest sends TCP to (10.0.2.2)
MB=$(kparam vmbus.bench_mb) || MB=32
FWD=$(kparam vmbus.bench_fwd)
SINK=$(kparam vmbus.bench_sink)
B=$((MB * 1048576))

kibps() { [ "${1:-0}" -gt 0 ] && echo $((B / 1024 * 1000 / $1)) || echo 0; }

# one run: $1 = name; the caller has set up the peer; reply of the wait in $W
bench_hv_g2h() {
    host_action hvsock-listen 6001 sink > /dev/null
    head -c $B /dev/zero | socat -u - VSOCK-CONNECT:2:6001
    set -- $(host_action hvsock-wait 6001 900)
    [ "$1" = $B ] && kibps $4 || echo 0
}
bench_hv_h2g() {
    ( socat -u VSOCK-LISTEN:6002 - > /dev/null ) &
    usleep 300000
    host_action hvsock-connect 6002 source $B > /dev/null
    wait $!
    set -- $(host_action hvsock-wait 6002 900)
    [ "$1" = $B ] && kibps $4 || echo 0
}
bench_tcp_g2h() {
    host_action tcp-listen $SINK sink > /dev/null
    head -c $B /dev/zero | socat -u - TCP:10.0.2.2:$SINK
    set -- $(host_action hvsock-wait $SINK 900)
    [ "$1" = $B ] && kibps $4 || echo 0
}
bench_tcp_h2g() {
    ( socat -u TCP-LISTEN:5201,reuseaddr - > /dev/null ) &
    usleep 300000
    host_action tcp-connect $FWD source $B > /dev/null
    wait $!
    set -- $(host_action hvsock-wait $FWD 900)
    [ "$1" = $B ] && kibps $4 || echo 0
}

load_hv_modules > /dev/null
if ! wait_for '[ -n "$(vmbus_version)" ]' 10 || ! modprobe hv_sock; then
    result hvsock_bench FAIL "VMBus or hv_sock not available"
elif [ -z "$FWD" ] || [ -z "$SINK" ] || ! modprobe e1000 ||
     ! wait_for 'ip link show eth0 > /dev/null 2>&1' 10; then
    result hvsock_bench FAIL "no e1000 NIC or no ports (run scripts/bench-hvsock.sh)"
else
    ip link set eth0 up
    ip addr add 10.0.2.15/24 dev eth0
    ip route add default via 10.0.2.2
    hg=$(bench_hv_g2h); hh=$(bench_hv_h2g); tg=$(bench_tcp_g2h); th=$(bench_tcp_h2g)
    info hvsock_g2h_kibps "$hg"
    info hvsock_h2g_kibps "$hh"
    info tcp_g2h_kibps "$tg"
    info tcp_h2g_kibps "$th"
    if [ "$hg" -gt 0 ] && [ "$hh" -gt 0 ] && [ "$tg" -gt 0 ] && [ "$th" -gt 0 ]; then
        result hvsock_bench PASS "$MB MiB: hv_sock g2h $hg KiB/s h2g $hh KiB/s; tcp g2h $tg KiB/s h2g $th KiB/s"
    else
        result hvsock_bench FAIL "a stream failed: hv_sock $hg/$hh tcp $tg/$th KiB/s"
    fi
fi
