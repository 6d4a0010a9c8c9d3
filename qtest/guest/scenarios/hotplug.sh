# SPDX-License-Identifier: GPL-2.0-or-later
# Hot-plug and rescind storm: the host adds and removes a VMBus device
# (device_add / device_del of vmbus.hotplug_driver, default hv-heartbeat)
# vmbus.cycles times (default 50) while the guest has it bound; each add
# must appear in the guest with its driver, each removal must disappear
# (RESCIND, then the guest's RELID_RELEASED ends the unplug), the guest
# never hangs, and the host ends with exactly the channels it started with.
#
# The bus must not already carry a device of the same integration service
# as the one plugged: Hyper-V offers each service once, and Linux's hv_utils
# keeps one state per service (one receive buffer), so removing a second
# instance frees the buffer the first one still receives into and the guest
# corrupts its own memory (seen as "corrupted stack end" panics on 7.x).
# Other devices (e.g. hv-timesync beside a hot-plugged hv-heartbeat) may stay.
cycles=$(kparam vmbus.cycles || echo 50)
drv=$(kparam vmbus.hotplug_driver || echo hv-heartbeat)
load_hv_modules > /dev/null
wait_for '[ -n "$(vmbus_version)" ]' 10
if host_action qmp query-vmbus-ic | grep -q "\"service\": \"${drv#hv-}\""; then
    result hotplug FAIL "the bus already has a ${drv#hv-} service: hv_utils drives one per service"
    return 0 2>/dev/null || exit 0
fi
n0=$(vmbus_devices | wc -l)
c0=$(host_action qmp-get query-vmbus channels.len)
i=0
while [ $i -lt "$cycles" ]; do
    if ! host_action qmp device_add "{\"driver\": \"$drv\", \"id\": \"hp$i\"}" > /dev/null; then
        result hotplug FAIL "cycle $i: device_add $drv refused"; break
    fi
    if ! wait_for '[ "$(vmbus_devices | grep -vc " none$")" -gt "$(vmbus_devices | grep -c " none$" ; true)" ] && [ "$(vmbus_devices | wc -l)" -gt "$n0" ]' 10; then
        result hotplug FAIL "cycle $i: the new device did not appear"; break
    fi
    if ! wait_for '[ "$(vmbus_devices | grep -vc " none$")" -ge "$((n0 + 1))" ]' 10; then
        result hotplug FAIL "cycle $i: the new device got no driver"; break
    fi
    host_action qmp device_del "{\"id\": \"hp$i\"}" > /dev/null
    if ! wait_for '[ "$(vmbus_devices | wc -l)" -eq "$n0" ]' 10; then
        result hotplug FAIL "cycle $i: the removed device stayed"; break
    fi
    if ! wait_for '[ "$(host_action qmp-get query-vmbus channels.len)" -eq "$c0" ]' 10; then
        result hotplug FAIL "cycle $i: host still holds $(host_action qmp-get query-vmbus channels.len) channels (was $c0)"; break
    fi
    i=$((i + 1))
done
[ $i = "$cycles" ] && result hotplug PASS "$cycles add/remove cycles of $drv; back to $c0 channels"
