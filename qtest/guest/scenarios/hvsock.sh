# SPDX-License-Identifier: GPL-2.0-or-later
# hv_sock through -device hv-sock,path=@TMPDIR@/hvs: Linux AF_VSOCK over
# VMBus, relayed by QEMU to host AF_UNIX sockets; the host side is played
# by the runner (hvsock-* host actions), the guest side by socat.
#
#   vmbus.hvsock_tests="g2h h2g loop cut refused hibernate migrate"
#                          (default: all)
#   vmbus.hvsock_mb=N      transfer size in MiB (default 4)
#   vmbus.hvsock_loop=N    connections in the open/close loop (default 50)
#   vmbus.hvsock_bench=1   also print throughput lines (VMBUS-INFO)
TESTS=$(kparam vmbus.hvsock_tests) || TESTS="g2h h2g loop cut refused hibernate migrate"
TESTS=$(echo "$TESTS" | tr ',' ' ')
MB=$(kparam vmbus.hvsock_mb) || MB=4
LOOP=$(kparam vmbus.hvsock_loop) || LOOP=50
BYTES=$((MB * 1048576))

now_ms() { awk '{printf "%d", $1 * 1000}' /proc/uptime; }

# Wait until the host lists no hv_sock connection (rescind + release done).
no_conns_left() {
    wait_for '[ "$(host_action qmp-get query-hv-sock len)" = 0 ]' "${1:-20}"
}

# Live VMBus channels whose class is a port-based hv_sock service GUID.
hvsock_channels() {
    local n=0 i
    i=$(host_action qmp-get query-vmbus channels.len) || { echo x; return; }
    while [ "$i" -gt 0 ]; do
        i=$((i - 1))
        case "$(host_action qmp-get query-vmbus channels.$i.class-id)" in
            *-facb-11e6-bd58-64006a7986d3*) n=$((n + 1)) ;;
        esac
    done
    echo $n
}

# The host connects to guest port $1 ($2 $3: peer mode) and waits for the
# peer to finish; retried while the guest's listener is not up yet (the
# offer then times out and the peer reports no OK).  Prints the reply.
host_to_guest() {
    local i=0 r
    while [ $i -lt 10 ]; do
        host_action hvsock-connect $1 $2 $3 > /dev/null || return 1
        if r=$(host_action hvsock-wait $1 600); then
            echo "$r"
            return 0
        fi
        case "$r" in *"no OK"*) ;; *) echo "$r"; return 1 ;; esac
        i=$((i + 1))
    done
    echo "$r"
    return 1
}

t_g2h() {   # guest -> host, checksum match
    local port=5001 t0 t1 gsum
    host_action hvsock-listen $port sink > /dev/null ||
        { result hvsock_g2h FAIL "host listener"; return; }
    rm -f /tmp/f && mkfifo /tmp/f
    sha256sum < /tmp/f > /tmp/gsum &
    t0=$(now_ms)
    head -c $BYTES /dev/urandom | tee /tmp/f | socat -u - VSOCK-CONNECT:2:$port 2> /tmp/err
    rc=$?
    t1=$(now_ms)
    wait
    gsum=$(cut -d' ' -f1 /tmp/gsum)
    set -- $(host_action hvsock-wait $port 600)
    if [ $rc = 0 ] && [ "$1" = $BYTES ] && [ "$2" = "$gsum" ]; then
        result hvsock_g2h PASS "$MB MiB, sha256 match, $((BYTES / 1024 * 1000 / (t1 - t0 + 1))) KiB/s"
    else
        result hvsock_g2h FAIL "socat rc=$rc host=$1 bytes ($2) guest=$gsum $(cat /tmp/err)"
    fi
    [ "$(kparam vmbus.hvsock_bench)" = 1 ] && info hvsock_g2h_kibps $((BYTES / 1024 * 1000 / (t1 - t0 + 1)))
}

t_h2g() {   # host -> guest, checksum match
    local port=5002 t0 t1 hsum pid
    rm -f /tmp/hsum
    ( socat -u VSOCK-LISTEN:$port - 2> /tmp/err | sha256sum > /tmp/hsum ) &
    pid=$!
    usleep 300000
    t0=$(now_ms)
    r=$(host_to_guest $port source $BYTES)
    wait $pid
    t1=$(now_ms)
    hsum=$(cut -d' ' -f1 /tmp/hsum)
    set -- $r
    if [ "$1" = $BYTES ] && [ "$2" = "$hsum" ]; then
        result hvsock_h2g PASS "$MB MiB, sha256 match, $((BYTES / 1024 * 1000 / (t1 - t0 + 1))) KiB/s"
    else
        result hvsock_h2g FAIL "host=$1 bytes ($2) guest=$hsum $* $(cat /tmp/err)"
    fi
    [ "$(kparam vmbus.hvsock_bench)" = 1 ] && info hvsock_h2g_kibps $((BYTES / 1024 * 1000 / (t1 - t0 + 1)))
}

t_loop() {  # many connections opened and closed, both directions
    local port=5003 i=0 ok=0 r hok=0
    host_action hvsock-listen $port echo 0 $LOOP > /dev/null ||
        { result hvsock_loop FAIL "host listener"; return; }
    while [ $i -lt $LOOP ]; do
        r=$(echo "ping-$i" | socat -t 20 - VSOCK-CONNECT:2:$port 2> /dev/null)
        [ "$r" = "ping-$i" ] && ok=$((ok + 1))
        i=$((i + 1))
    done
    set -- $(host_action hvsock-wait $port 60)
    # a few host-initiated ones as well
    i=0
    while [ $i -lt 5 ]; do
        ( socat -u VSOCK-LISTEN:5004 - > /tmp/hin 2> /dev/null ) &
        usleep 300000
        host_to_guest 5004 source 1000 > /dev/null
        wait $!
        [ "$(wc -c < /tmp/hin)" = 1000 ] && hok=$((hok + 1))
        i=$((i + 1))
    done
    if no_conns_left 30 && [ $ok = $LOOP ] && [ "$3" = $LOOP ] && [ $hok = 5 ] &&
       [ "$(hvsock_channels)" = 0 ]; then
        result hvsock_loop PASS "$LOOP guest-initiated + 5 host-initiated connections, all rescinded"
    else
        result hvsock_loop FAIL "echoed $ok/$LOOP host saw $3 host-initiated $hok/5 left: $(host_action qmp-get query-hv-sock len) conns, $(hvsock_channels) channels"
    fi
}

t_cut() {   # the host side closes mid-transfer: the guest gets an error, no hang
    local port=5005 rc
    host_action hvsock-listen $port cut 1048576 > /dev/null ||
        { result hvsock_cut FAIL "host listener"; return; }
    head -c $((16 * 1048576)) /dev/zero | timeout 120 socat -u - VSOCK-CONNECT:2:$port 2> /tmp/err
    rc=$?
    set -- $(host_action hvsock-wait $port 60)
    if [ $rc != 0 ] && [ $rc != 143 ] && [ "$1" = 1048576 ] && no_conns_left 30; then
        result hvsock_cut PASS "socat rc=$rc after the host closed at 1 MiB: $(tail -1 /tmp/err | sed 's/.*E //')"
    else
        result hvsock_cut FAIL "socat rc=$rc host read $1 ($(tail -1 /tmp/err))"
    fi
}

t_refused() {   # nothing listens on the host: a clean connection error
    local rc t0 t1
    t0=$(now_ms)
    echo x | timeout 60 socat -u - VSOCK-CONNECT:2:5999 2> /tmp/err
    rc=$?
    t1=$(now_ms)
    if [ $rc != 0 ] && [ $rc != 143 ] && no_conns_left 10 && [ "$(hvsock_channels)" = 0 ]; then
        result hvsock_refused PASS "socat rc=$rc in $((t1 - t0)) ms: $(tail -1 /tmp/err | sed 's/.*E //')"
    else
        result hvsock_refused FAIL "socat rc=$rc $(cat /tmp/err)"
    fi
}

t_hibernate() {     # S4 (pm_test core) with connections open: none left behind
    local port=5006 rc before after
    host_action hvsock-listen $port sink > /dev/null
    ( sleep 600 | socat -u - VSOCK-CONNECT:2:$port 2> /dev/null ) &
    ( socat -u VSOCK-LISTEN:5007 - > /dev/null 2>&1 ) &
    usleep 300000
    for i in 1 2 3 4 5; do      # until the guest's listener accepted
        host_action hvsock-connect 5007 sink > /dev/null
        wait_for 'case "$(host_action qmp-get query-hv-sock 1.state)" in *open*) true ;; *) false ;; esac' 10 && break
        host_action hvsock-wait 5007 10 > /dev/null
    done
    before=$(host_action qmp-get query-hv-sock len)
    # open connections hold host sockets: migration is blocked, by name
    if mig=$(host_action migrate); then
        result hvsock_migrate_blocked FAIL "migration went through with hv_sock connections open"
    else
        case "$mig" in
            *hv-sock*) result hvsock_migrate_blocked PASS "${mig#error }" ;;
            *) result hvsock_migrate_blocked FAIL "$mig" ;;
        esac
    fi
    echo core > /sys/power/pm_test
    echo disk > /sys/power/state 2> /tmp/err
    rc=$?
    echo none > /sys/power/pm_test
    no_conns_left 30
    after=$(host_action qmp-get query-hv-sock len)
    if [ $rc = 0 ] && [ "$before" = 2 ] && [ "$after" = 0 ] &&
       [ "$(hvsock_channels)" = 0 ] && [ -n "$(vmbus_version)" ]; then
        result hvsock_hibernate PASS "2 open connections before S4, none and no hv_sock channel after"
    else
        result hvsock_hibernate FAIL "rc=$rc $(cat /tmp/err) before=$before after=$after channels=$(hvsock_channels)"
    fi
    killall sleep socat 2> /dev/null
    host_action hvsock-wait $port 10 > /dev/null
    host_action hvsock-wait 5007 10 > /dev/null
}

t_migrate() {   # no connection open: the device migrates, hv_sock works after
    local port=5008 gsum
    no_conns_left 10
    if ! r=$(host_action migrate); then
        result hvsock_migrate FAIL "with no connection open: $r"
        return
    fi
    host_action hvsock-listen $port sink > /dev/null
    head -c 65536 /dev/urandom > /tmp/m
    gsum=$(sha256sum < /tmp/m | cut -d' ' -f1)
    socat -u - VSOCK-CONNECT:2:$port < /tmp/m 2> /tmp/err
    set -- $(host_action hvsock-wait $port 60)
    if [ "$1" = 65536 ] && [ "$2" = "$gsum" ] && no_conns_left 20; then
        result hvsock_migrate PASS "migrated with no connection open; a new connection works after"
    else
        result hvsock_migrate FAIL "after migration: host got $1 bytes ($2 vs $gsum) $(cat /tmp/err)"
    fi
}

load_hv_modules > /dev/null
if ! wait_for '[ -n "$(vmbus_version)" ]' 10; then
    result hvsock FAIL "VMBus did not connect"
elif ! modprobe hv_sock || ! command -v socat > /dev/null; then
    result hvsock FAIL "no hv_sock module or no socat in the image"
else
    for t in $TESTS; do "t_$t"; done
fi
