# SPDX-License-Identifier: GPL-2.0-or-later
# Unload on panic: the guest panics with VMBus connected; Linux's panic
# notifier posts UNLOAD and polls every CPU's message page with interrupts
# off, so the host must answer while the vCPUs sit in that loop.  Then
# the guest reboots (panic=-1) and reconnects.  Run with --allow-reboot.
boot=$(host_action boot-count)
load_hv_modules > /dev/null
if ! wait_for '[ -n "$(vmbus_version)" ]' 10; then
    result "panic-boot$boot" FAIL "VMBus did not connect"
elif [ "$boot" = 1 ]; then
    info panic "crashing now"
    echo 1 > /proc/sys/kernel/sysrq
    echo c > /proc/sysrq-trigger
else
    waits=$(host_action console-count Waiting for VMBus UNLOAD)
    panics=$(host_action console-count Kernel panic)
    if [ "$panics" -ge 1 ] && [ "$waits" = 0 ]; then
        result panic-unload PASS "UNLOAD answered during the panic (no wait messages)"
    else
        result panic-unload FAIL "panics=$panics unload-wait messages=$waits"
    fi
    result panic-reconnect PASS "reconnected at $(vmbus_version) after the panic reboot"
fi
