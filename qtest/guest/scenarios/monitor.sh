# SPDX-License-Identifier: GPL-2.0-or-later
# Monitor pages: with -device vmbus-bridge,monitor=on every device channel
# is offered with monitor_allocated, so the guest signals the host by
# setting bits in its monitor page instead of calling HvSignalEvent; the
# host polls the page at the channel's latency.  The devices must still
# bind and talk (hv_balloon's version negotiation and the heartbeat both
# need the host to hear the guest).
load_hv_modules > /dev/null
wait_for '[ -n "$(vmbus_version)" ]' 10
want=$(kparam vmbus.expect_devices || echo 1)
if ! wait_for '[ "$(vmbus_devices | grep -vc " none$")" -ge "$want" ]' 15; then
    result monitor FAIL "$(vmbus_devices | grep -vc ' none$') of $want devices bound"
    return 0
fi
mon=""
for d in /sys/bus/vmbus/devices/*; do
    mon="$mon $(basename $d | cut -c1-8):$(cat $d/monitor_id 2>/dev/null)"
done
if dmesg | grep -q "Dynamic Memory protocol" && ! echo "$mon" | grep -q ":255"; then
    result monitor PASS "devices bound and talking through monitor pages (monitor ids:$mon)"
else
    result monitor FAIL "monitor ids:$mon; $(dmesg | grep -c 'Dynamic Memory protocol') balloon negotiations"
fi
