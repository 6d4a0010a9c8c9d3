# SPDX-License-Identifier: GPL-2.0-or-later
# Hyper-V state is cleared by a system reset and set up again by the
# next boot.  First boot: VMBus up, a message burst, a marker in SINT5
# (which Linux never uses), then the host resets the machine.  Second
# boot (the burst device's counter tells which boot this is): SINT5 is
# masked again, Hyper-V is detected, VMBus reconnects, a second burst
# is delivered.  The reset comes in the middle of a long burst, so a
# message may be waiting for an EOM that never comes (QEMU used to
# assert there).  Run with --reboot --append=msr.allow_writes=on and
# -device x-hv-msg-burst,id=burst.
load_hv_modules > /dev/null
modprobe msr
wait_for '[ -n "$(vmbus_version)" ]' 10
n=$(host_action qom-get /machine/peripheral/burst delivered)
if [ "$n" = 0 ]; then
    set -- $(msg_burst 50)
    wrmsr 0 0x40000095 0x10033
    if [ "$1" = 50 ] && [ "$(rdmsr 0 0x40000095)" = 0x0000000000010033 ]; then
        result before_reset PASS "Vmbus version:$(vmbus_version), burst delivered=$1, SINT5 marker set"
    else
        result before_reset FAIL "delivered=$1 sint5=$(rdmsr 0 0x40000095)"
    fi
    host_action qom-set /machine/peripheral/burst count 1000000 > /dev/null
    usleep 200000
    host_action_noreply reset
    result reset FAIL "the host did not reset the machine"
else
    s5=$(rdmsr 0 0x40000095)
    if [ "$s5" = 0x0000000000010000 ]; then
        result sint_cleared_by_reset PASS "SINT5 $s5 (masked) after reset"
    else
        result sint_cleared_by_reset FAIL "SINT5 $s5 after reset (want 0x10000)"
    fi
    set -- $(msg_burst 50)
    if hyperv_detected && [ -n "$(vmbus_version)" ] && [ "$1" = $((n + 50)) ]; then
        result after_reset PASS "Hyper-V detected, Vmbus version:$(vmbus_version), burst after reset delivered (total $1, $n before)"
    else
        result after_reset FAIL "vmbus '$(vmbus_version)' delivered=$1 (want $((n + 50))) errors=$3"
    fi
fi
