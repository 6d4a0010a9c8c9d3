# SPDX-License-Identifier: GPL-2.0-or-later
# Integration services (hv-heartbeat, hv-shutdown, hv-timesync, hv-kvp,
# hv-vss, hv-fcopy): every service negotiates and binds to hv_utils; the
# heartbeat counter advances; a guest clock set 1 hour wrong is corrected
# by a timesync SYNC after the host pauses the VM ('pause' host action:
# stop + cont), after resume from hibernation, after migration and when
# hv_utils reconnects; KVP returns the guest's
# hostname and an address (hv_kvp_daemon) and a host write reaches the
# guest's pool 0; a hibernate request reaches the guest's hibernation path
# (uevent helper, pm_test=core); every device survives a migration round
# trip and module reload cycles.
#   vmbus.ic_cycles=N    module reload cycles (default 3)
#   vmbus.ic_hibernate=0 skip hibernation (6.12 with hv-fcopy offered)
# Needs -device vmbus-bridge -device hv-heartbeat,id=hb -device
# hv-shutdown,id=sd -device hv-timesync,id=ts -device hv-kvp,id=kvp
# -device hv-vss,id=vss [-device hv-fcopy,id=fc].
P=/machine/peripheral
cycles=$(kparam vmbus.ic_cycles || echo 3)
do_hib=$(kparam vmbus.ic_hibernate || echo 1)

qget() { host_action qom-get "$P/$1" "$2"; }
now() { date +%s; }
uptime_s() { cut -d. -f1 /proc/uptime; }
ic_up() {  # all four hv_utils services negotiated since the last dmesg -c
    dmesg | grep -q "Heartbeat IC version" && dmesg | grep -q "TimeSync IC version" &&
    dmesg | grep -q "Shutdown IC version" && dmesg | grep -q "VSS IC version"
}
beats_advance() {  # $1: seconds to wait; prints "before after"
    local b1 b2
    b1=$(qget hb beats)
    sleep "$1"
    b2=$(qget hb beats)
    echo "$b1 $b2"
    [ "$b2" -gt "$b1" ]
}

modprobe hv_vmbus
modprobe hv_utils
if ! wait_for ic_up 20; then
    result ic_negotiate FAIL "services did not negotiate: $(dmesg | grep 'IC version' | tr '\n' ';')"
    return 0 2>/dev/null || exit 0
fi
vers=$(dmesg | sed -n 's/.*hv_utils: \(.*\) IC version \(.*\)/\1=\2/p' | tr '\n' ' ')
nbound=$(vmbus_devices | grep -c ' hv_utils$')
states=""
for d in hb sd ts vss; do states="$states $d=$(qget $d state | tr -d '"')"; done
result ic_negotiate PASS "versions: $vers; $nbound devices on hv_utils; host:$states"
fc=$(vmbus_devices | awk '$2 == "{34d14be3-dee4-41c8-9ae7-6b174977c192}" { print $3 }')
[ -n "$fc" ] && info fcopy_driver "$fc"

# -- heartbeat
t0=$(uptime_s)
if set -- $(beats_advance 6); then
    n=$(( $2 - $1 ))
    result ic_heartbeat PASS "beats $1 -> $2 in 6 s ($(( 6000 / n )) ms per beat), stalled=$(qget hb stalled)"
else
    result ic_heartbeat FAIL "beats $1 -> $2 in 6 s"
fi

# -- timesync: wrong by +1 h, host pauses the VM (stop/cont) -> SYNC
clock_ok() {  # guest wall clock within 30 s of what it should be
    local d=$(( $(now) - ($1 + $(uptime_s) - $2) ))
    [ $d -gt -30 ] && [ $d -lt 30 ]
}
ref=$(now); ref_up=$(uptime_s)
date -s "@$(( ref + 3600 ))" > /dev/null
syncs0=$(qget ts syncs)
host_action pause 1 > /dev/null
i=0
while ! clock_ok "$ref" "$ref_up" && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
if clock_ok "$ref" "$ref_up"; then
    result ic_timesync_cont PASS "clock +3600 s corrected within $(( i * 100 + 100 )) ms of cont; syncs $syncs0 -> $(qget ts syncs)"
else
    result ic_timesync_cont FAIL "clock still off by $(( $(now) - ref - $(uptime_s) + ref_up )) s; syncs $syncs0 -> $(qget ts syncs)"
fi

# -- KVP: hostname and an address from hv_kvp_daemon; a host write
hostname vmbus-ic-guest
ifc=lo
# hv_kvp_daemon reports non-loopback addresses only: a netkit pair
# (built into 6.12; 6.1 has no virtual link type built in)
# (busybox's ip names the pair nk0/nk1 whatever it is told)
ip link add name nk1 type netkit peer name nk2 2>/dev/null
nk=$(ip -o link show | sed -n 's/^[0-9]*: \(nk[0-9]*\)@.*/\1/p' | head -1)
[ -n "$nk" ] && ifc=$nk
# 6.1: the dummy module gives an interface (dummy0) instead
if [ -z "$nk" ] && modprobe dummy 2>/dev/null && [ -e /sys/class/net/dummy0 ]; then
    ifc=dummy0
fi
# hv_kvp_daemon resolves the hostname (getaddrinfo) for its FQDN
echo "127.0.1.1 vmbus-ic-guest" >> /etc/hosts
ip link set lo up
ip link set "$ifc" up 2>/dev/null
ip addr add 10.0.2.15/24 dev "$ifc"
mkdir -p /var/lib/hyperv
hv_kvp_daemon -n > /tmp/kvpd.log 2>&1 &
kvpd=$!
host_action qmp vmbus-kvp-refresh > /dev/null
i=0
kvp=""
while [ $i -lt 60 ]; do
    kvp=$(host_action qmp query-vmbus-ic '{"device": "kvp"}')
    case "$kvp" in *'"FullyQualifiedDomainName", "value": "vmbus-ic-guest'*) break ;; esac
    sleep 1
    i=$((i + 1))
done
case "$kvp" in
*'"FullyQualifiedDomainName", "value": "vmbus-ic-guest'*)
    os=$(echo "$kvp" | sed -n 's/.*"key": "OSName", "value": "\([^"]*\)".*/\1/p')
    result ic_kvp_hostname PASS "FullyQualifiedDomainName=vmbus-ic-guest after ${i} s; OSName=$os" ;;
*)  result ic_kvp_hostname FAIL "no hostname from KVP after 60 s: $(echo "$kvp" | cut -c1-300)" ;;
esac
case "$kvp" in
*'"NetworkAddressIPv4", "value": "10.0.2.15'*)
    result ic_kvp_address PASS "NetworkAddressIPv4=10.0.2.15 (on $ifc)" ;;
*)  if [ "$ifc" = lo ]; then
        result ic_kvp_address SKIP "no non-loopback interface in this guest (hv_kvp_daemon skips loopback; no netkit in $(uname -r))"
    else
        result ic_kvp_address FAIL "no NetworkAddressIPv4 10.0.2.15: $(echo "$kvp" | sed -n 's/.*\("NetworkAddressIPv4"[^}]*\).*/\1/p')"
    fi ;;
esac
host_action qmp vmbus-kvp-set '{"key": "VmbusHostKey", "value": "hello-from-host"}' > /dev/null
if wait_for 'tr -d "\000" < /var/lib/hyperv/.kvp_pool_0 2>/dev/null | grep -q hello-from-host' 30; then
    result ic_kvp_host_write PASS "pool 0 holds VmbusHostKey=hello-from-host"
else
    result ic_kvp_host_write FAIL "not in /var/lib/hyperv/.kvp_pool_0 ($(ls /var/lib/hyperv 2>&1 | tr '\n' ' '))"
fi
kill $kvpd 2>/dev/null
wait $kvpd 2>/dev/null

# -- hibernate request -> uevent -> pm_test=core hibernation
if [ "$do_hib" = 1 ]; then
    cat > /tmp/hotplug.sh <<'HP'
#!/bin/sh
[ "$EVENT" = hibernate ] || exit 0
echo "$DEVPATH" > /tmp/hib.uevent
echo core > /sys/power/pm_test
echo disk > /sys/power/state
echo $? > /tmp/hib.done
HP
    chmod +x /tmp/hotplug.sh
    # the uevent helper sysctl when the kernel has one, else busybox's
    # netlink listener (Debian's kernels have no CONFIG_UEVENT_HELPER)
    uev=""
    if [ -w /proc/sys/kernel/hotplug ]; then
        echo /tmp/hotplug.sh > /proc/sys/kernel/hotplug
    else
        uevent /tmp/hotplug.sh > /dev/null 2>&1 &
        uev=$!
        sleep 1
    fi
    dmesg -c > /dev/null
    # the clock goes wrong before: the SYNC after resume corrects it
    ref=$(now); ref_up=$(uptime_s)
    date -s "@$(( ref + 3600 ))" > /dev/null
    if ! out=$(host_action qmp vmbus-shutdown '{"action": "hibernate"}'); then
        result ic_hibernate FAIL "host: $out"
    elif wait_for '[ -f /tmp/hib.done ]' 90; then
        st=$(qget sd last-status)
        if wait_for ic_up 20 && [ "$st" = 0 ] && [ "$(cat /tmp/hib.done)" = 0 ]; then
            result ic_hibernate PASS "guest answered $st, uevent on $(cat /tmp/hib.uevent), pm_test=core hibernation ran; services renegotiated after resume"
            if wait_for 'clock_ok "$ref" "$ref_up"' 10; then
                result ic_timesync_resume PASS "clock +3600 s corrected after resume from hibernation"
            else
                result ic_timesync_resume FAIL "clock off by $(( $(now) - ref - $(uptime_s) + ref_up )) s after resume"
            fi
        else
            result ic_hibernate FAIL "status=$st rc=$(cat /tmp/hib.done) $(dmesg | grep -i 'hibernat\|IC version' | tr '\n' ';' | cut -c1-400)"
        fi
    else
        result ic_hibernate FAIL "no hibernation within 90 s: $(dmesg | grep -i 'hibernat' | tr '\n' ';')"
    fi
    echo "" > /proc/sys/kernel/hotplug 2>/dev/null
    [ -n "$uev" ] && kill "$uev"
    echo none > /sys/power/pm_test 2>/dev/null
fi

# -- migration round trip
b1=$(qget hb beats)
s1=$(qget ts syncs)
ref=$(now); ref_up=$(uptime_s)
date -s "@$(( ref - 3600 ))" > /dev/null
if out=$(host_action migrate); then
    if ! wait_for 'clock_ok "$ref" "$ref_up"' 10; then
        result ic_timesync_migrate FAIL "clock off by $(( $(now) - ref - $(uptime_s) + ref_up )) s after migration"
    else
        result ic_timesync_migrate PASS "clock -3600 s corrected after migration"
    fi
    if set -- $(beats_advance 5); then
        result ic_migrate PASS "beats $b1 before, $1 -> $2 after; timesync syncs $s1 -> $(qget ts syncs); kvp $(qget kvp state)"
    else
        result ic_migrate FAIL "no heartbeat after migration ($1 -> $2)"
    fi
else
    result ic_migrate FAIL "host: $out"
fi

# -- timesync on reconnect: wrong clock, hv_utils reloaded -> SYNC at open
ref=$(now); ref_up=$(uptime_s)
date -s "@$(( ref - 3600 ))" > /dev/null
rmmod hv_utils
dmesg -c > /dev/null
modprobe hv_utils
if wait_for ic_up 20 && wait_for 'clock_ok "$ref" "$ref_up"' 10; then
    result ic_timesync_reconnect PASS "clock -3600 s corrected when hv_utils reconnected"
else
    result ic_timesync_reconnect FAIL "clock off by $(( $(now) - ref - $(uptime_s) + ref_up )) s after reconnect"
fi

# -- module reload cycles (UNLOAD + reconnect); with hv_vmbus built in,
# unbind/bind of every device instead (the channels close and open again)
i=0
ok=1
how="unload/reconnect"
mod_builtin hv_vmbus && how="unbind/bind (hv_vmbus built in)"
while [ $i -lt "$cycles" ]; do
    if mod_builtin hv_vmbus; then
        dmesg -c > /dev/null
        vmbus_rebind_all > /dev/null 2>/tmp/rebind.err ||
            { result ic_reload FAIL "cycle $i: unbind/bind failed for $(cat /tmp/rebind.err | tr '\n' ' ')"; ok=0; break; }
    else
        rmmod hv_utils uio_hv_generic 2>/dev/null
        rmmod hv_vmbus || { result ic_reload FAIL "cycle $i: hv_vmbus would not unload"; ok=0; break; }
        dmesg -c > /dev/null
        modprobe hv_vmbus && modprobe hv_utils
    fi
    if ! wait_for ic_up 20; then
        result ic_reload FAIL "cycle $i: services did not negotiate again"; ok=0; break
    fi
    i=$((i + 1))
done
if [ $ok = 1 ]; then
    if set -- $(beats_advance 5); then
        result ic_reload PASS "$cycles $how cycles, services renegotiated each time; beats $1 -> $2 after"
    else
        result ic_reload FAIL "no heartbeat after $cycles cycles ($1 -> $2)"
    fi
fi
# -- hot-plug: device_del rescinds hv-vss, device_add offers it again
vss_dev() { vmbus_devices | awk '$2 == "{35fa2e29-ea23-4236-96ae-3a6ebacba440}" { print $1 }'; }
dmesg -c > /dev/null
if ! out=$(host_action qmp device_del '{"id": "vss"}'); then
    result ic_hotplug FAIL "device_del: $out"
elif ! wait_for '[ -z "$(vss_dev)" ]' 20; then
    result ic_hotplug FAIL "hv-vss still in the guest after device_del"
elif ! out=$(host_action qmp device_add '{"driver": "hv-vss", "id": "vss2"}'); then
    result ic_hotplug FAIL "device_add: $out"
elif wait_for '[ -n "$(vss_dev)" ] && dmesg | grep -q "VSS IC version"' 20 &&
     wait_for '[ "$(qget vss2 state)" = "\"ready\"" ]' 10; then
    result ic_hotplug PASS "hv-vss unplugged (rescinded) and plugged again as $(vss_dev), negotiated"
else
    result ic_hotplug FAIL "hv-vss not back: $(vss_dev) $(qget vss2 state)"
fi

errs=""
for d in hb sd ts kvp; do errs="$errs $d=$(qget $d guest-errors)"; done
info ic_guest_errors "$errs"
