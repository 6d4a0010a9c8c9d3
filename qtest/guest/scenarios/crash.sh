# SPDX-License-Identifier: GPL-2.0-or-later
# Hyper-V crash MSRs (hv-crash): the guest panics, Linux writes
# CRASH_P0..P4 and CRASH_CTL.notify, QEMU sends GUEST_PANICKED with the
# five parameters (type hyper-v), as under KVM.  Run with --allow-reboot
# and -action panic=none (the guest then reboots, panic=-1, and asks).
boot=$(host_action boot-count)
if [ "$boot" = 1 ]; then
    n=$(host_action qmp-events GUEST_PANICKED)   # connects QMP first
    modprobe msr 2>/dev/null
    ctl=$(rdmsr 0 0x40000105)
    info crash_ctl "$ctl events-before=$n"
    info panic "crashing now"
    echo 1 > /proc/sys/kernel/sysrq
    echo c > /proc/sysrq-trigger
else
    ev=$(host_action qmp-events GUEST_PANICKED)
    n=${ev%% *}
    shape=ok
    for k in '"type": "hyper-v"' '"arg1"' '"arg2"' '"arg3"' '"arg4"' '"arg5"'; do
        case "$ev" in *"$k"*) ;; *) shape=bad ;; esac
    done
    arg2=$(echo "$ev" | grep -o '"arg2": [0-9]*' | grep -o '[0-9]*$')
    if [ "$n" = 1 ] && [ "$shape" = ok ] && [ -n "$arg2" ] && [ "$arg2" != 0 ]; then
        result crash_event PASS "GUEST_PANICKED ${ev#* }"
    else
        result crash_event FAIL "events: $ev"
    fi
fi
