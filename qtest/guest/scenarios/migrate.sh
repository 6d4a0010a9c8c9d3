# SPDX-License-Identifier: GPL-2.0-or-later
# Migration round trip mid-traffic: VMBus connected, a burst of host
# messages in flight, the host migrates the VM to a file and restarts it
# from that file (-incoming).  Afterwards the Hyper-V state must still
# work: SynIC delivery (a second burst, busy slot + EOM) and the VMBus
# connection (the guest unloads hv_vmbus, which needs the host to know
# the connection, and connects again).
#   vmbus.migrate=blocked  expect the host to refuse (a VMBus device
#                          without migration support, e.g. hv-balloon)
# Needs -device vmbus-bridge -device x-hv-msg-burst,id=burst.
expect=$(kparam vmbus.migrate || echo ok)
if [ "$expect" = blocked ]; then
    load_hv_modules > /dev/null
else
    modprobe hv_vmbus
    mod_builtin hv_vmbus && load_hv_modules > /dev/null   # drivers for the devices to rebind
fi
if ! wait_for '[ -n "$(vmbus_version)" ]' 10; then
    result migrate FAIL "VMBus not up before migration"
elif [ "$expect" = blocked ]; then
    if out=$(host_action migrate); then
        result migrate_blocked FAIL "migration went through"
    else
        case "$out" in
            *"does not support migration"*) result migrate_blocked PASS "$out" ;;
            *) result migrate_blocked FAIL "unexpected: $out" ;;
        esac
    fi
else
    ver=$(vmbus_version)
    irq0=$(hyp_interrupts)
    host_action qom-set /machine/peripheral/burst count 500 > /dev/null
    before=$(host_action qom-get /machine/peripheral/burst delivered)
    if out=$(host_action migrate); then
        result migrate PASS "migrated to a file and back; burst at $before/500 when migration started"
    else
        result migrate FAIL "host: $out"
    fi
    set -- $(msg_burst 100)
    if [ "$1" -ge 100 ] && [ "$3" = 0 ] && [ "${2:-0}" -gt 0 ]; then
        result synic_after_migration PASS "delivered=$1 retries=$2 errors=$3 hyp_irqs=+$(( $(hyp_interrupts) - irq0 ))"
    else
        result synic_after_migration FAIL "delivered=$1 retries=$2 errors=$3"
    fi
    if mod_builtin hv_vmbus; then
        # no UNLOAD with hv_vmbus built in: every device's channel closes
        # and opens again instead (needs at least one device offered)
        n=$(vmbus_devices | grep -vc ' none$')
        if [ "$n" = 0 ]; then
            result vmbus_after_migration SKIP "hv_vmbus built in and no device bound to rebind"
        elif r=$(vmbus_rebind_all 2>/tmp/rebind.err) && [ "$r" = "$n" ]; then
            result vmbus_after_migration PASS "hv_vmbus built in: $r devices unbound and bound again at $(host_action qmp-get query-vmbus version | tr -d '"') (was $ver)"
        else
            result vmbus_after_migration FAIL "unbind/bind after migration failed for $(cat /tmp/rebind.err | tr '\n' ' ')"
        fi
    else
        dmesg -c > /dev/null
        if rmmod hv_vmbus && modprobe hv_vmbus && wait_for '[ -n "$(vmbus_version)" ]' 10; then
            result vmbus_after_migration PASS "unloaded and reconnected at $(vmbus_version) (was $ver)"
        else
            result vmbus_after_migration FAIL "no clean unload/reconnect after migration"
        fi
    fi
    info vp_index_cpus "$(grep -c ^processor /proc/cpuinfo)"
fi
