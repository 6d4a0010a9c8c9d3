# SPDX-License-Identifier: GPL-2.0-or-later
# Hibernation without power-off (pm_test=core), vmbus.cycles times
# (default 10): freeze -> vmbus_bus_suspend (sub-channels rescinded,
# UNLOAD) -> syscore -> resume (re-contact at the same version, every
# primary re-offered and matched by instance GUID, drivers resumed).
# Each cycle: same version, every device still bound, no "missing device"
# complaint, and the host holds as many channels and GPADLs as before.
cycles=$(kparam vmbus.cycles || echo 10)
load_hv_modules > /dev/null
wait_for '[ -n "$(vmbus_version)" ]' 10
ver=$(vmbus_version)
ndev=$(vmbus_devices | grep -vc ' none$')
wait_for '[ "$(host_action qmp-get query-vmbus gpadls.len)" -ge "$ndev" ]' 10
nchan=$(host_action qmp-get query-vmbus channels.len)
ngpadl=$(host_action qmp-get query-vmbus gpadls.len)
echo 0 > /sys/module/suspend/parameters/pm_test_delay 2>/dev/null  # no 5 s pause
echo core > /sys/power/pm_test || { result hibernate SKIP "no /sys/power/pm_test"; return 0; }
i=0
while [ $i -lt "$cycles" ]; do
    dmesg -c > /dev/null
    if ! echo disk > /sys/power/state; then
        result hibernate FAIL "cycle $i: echo disk > /sys/power/state failed: $(dmesg | grep -iE 'fail|error|vmbus' | tail -3 | tr '\n' ' ')"
        break
    fi
    if dmesg | grep -q "Some vmbus device is missing"; then
        result hibernate FAIL "cycle $i: a device was not re-offered"; break
    fi
    v=$(host_action qmp-get query-vmbus version | tr -d '"')
    if [ "$v" != "$ver" ]; then
        result hibernate FAIL "cycle $i: reconnected at '$v', was $ver"; break
    fi
    if ! wait_for '[ "$(vmbus_devices | grep -vc " none$")" -ge "$ndev" ]' 10; then
        result hibernate FAIL "cycle $i: devices not bound after resume"; break
    fi
    wait_for '[ "$(host_action qmp-get query-vmbus gpadls.len)" -ge "$ngpadl" ]' 10
    c=$(host_action qmp-get query-vmbus channels.len)
    g=$(host_action qmp-get query-vmbus gpadls.len)
    if [ "$c" != "$nchan" ] || [ "$g" != "$ngpadl" ]; then
        result hibernate FAIL "cycle $i: host has $c channels, $g GPADLs (before: $nchan, $ngpadl)"; break
    fi
    i=$((i + 1))
done
[ $i = "$cycles" ] && result hibernate PASS "$cycles cycles at $ver, $ndev devices, $nchan channels, $ngpadl GPADLs each time"
echo none > /sys/power/pm_test
