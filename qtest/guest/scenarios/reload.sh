# SPDX-License-Identifier: GPL-2.0-or-later
# Unload by module reload: hv_vmbus (and the drivers) removed and loaded
# again, vmbus.cycles times (default 20).  Each cycle the guest sends
# UNLOAD, reconnects and rebinds every device.  hv_balloon is left out:
# it has no module exit, so hv_vmbus could not be removed after it.
# With hv_vmbus built in (7.x) there is no UNLOAD: each cycle unbinds and
# rebinds the driver of every device (close, GPADL teardown, GPADL, open),
# then removes the VSC driver modules (every device they drove goes) and
# loads them again; the connection stays at the same version throughout.
cycles=$(kparam vmbus.cycles || echo 20)
drivers="hv_utils hv_netvsc hv_storvsc hid_hyperv hyperv_keyboard hv_sock uio_hv_generic pci_hyperv"
if mod_builtin hv_vmbus; then
    for m in $drivers; do mod_builtin "$m" || modprobe "$m" 2>/dev/null; done
    wait_for '[ -n "$(vmbus_version)" ]' 15
    ver0=$(vmbus_version)
    n0=$(vmbus_devices | grep -vc ' none$')
    loaded=""
    for m in $drivers; do grep -q "^$m " /proc/modules && loaded="$loaded $m"; done
    i=0
    ok=1
    while [ $i -lt "$cycles" ]; do
        if ! n=$(vmbus_rebind_all 2>/tmp/rebind.err); then
            result reload FAIL "cycle $i: unbind/bind failed for $(cat /tmp/rebind.err | tr '\n' ' ')"; ok=0; break
        fi
        for m in $loaded; do rmmod "$m" 2>/dev/null; done
        for m in $loaded; do
            if grep -q "^$m " /proc/modules; then
                result reload FAIL "cycle $i: $m would not unload"; ok=0; break 2
            fi
        done
        for m in $loaded; do modprobe "$m" || { result reload FAIL "cycle $i: modprobe $m"; ok=0; break 2; }; done
        if ! wait_for '[ "$(vmbus_devices | grep -vc " none$")" -ge "$n0" ]' 10; then
            result reload FAIL "cycle $i: $(vmbus_devices | grep -vc ' none$') of $n0 devices rebound"; ok=0; break
        fi
        v=$(host_action qmp-get query-vmbus version | tr -d '"')
        if [ "$v" != "$ver0" ]; then
            result reload FAIL "cycle $i: host reports version '$v', guest connected at $ver0"; ok=0; break
        fi
        i=$((i + 1))
    done
    [ $ok = 1 ] && result reload PASS "$cycles cycles at $ver0 (hv_vmbus built in: unbind/bind of $n devices, then reload of${loaded:- no modules}), $n0 devices rebound each time"
    return 0 2>/dev/null || exit 0
fi
for m in hv_vmbus $drivers; do modprobe "$m" 2>/dev/null; done
wait_for '[ -n "$(vmbus_version)" ]' 15
ver0=$(vmbus_version)
n0=$(vmbus_devices | grep -vc ' none$')
i=0
ok=1
while [ $i -lt "$cycles" ]; do
    for m in $drivers hv_vmbus; do rmmod "$m" 2>/dev/null; done
    if grep -q '^hv_vmbus ' /proc/modules; then
        result reload FAIL "cycle $i: hv_vmbus would not unload"; ok=0; break
    fi
    dmesg -c >/dev/null
    modprobe hv_vmbus || { result reload FAIL "cycle $i: modprobe hv_vmbus"; ok=0; break; }
    for m in $drivers; do modprobe "$m" 2>/dev/null; done
    if ! wait_for '[ -n "$(vmbus_version)" ]' 15; then
        result reload FAIL "cycle $i: no reconnect"; ok=0; break
    fi
    if ! wait_for '[ "$(vmbus_devices | grep -vc " none$")" -ge "$n0" ]' 10; then
        result reload FAIL "cycle $i: devices not rebound"; ok=0; break
    fi
    i=$((i + 1))
done
[ $ok = 1 ] && result reload PASS "$cycles cycles at $ver0, $n0 devices rebound each time"
