# SPDX-License-Identifier: GPL-2.0-or-later
# Hyper-V under TCG: the guest detects Hyper-V, all CPUs come up, and
# hv_vmbus connects to the vmbus-bridge (QEMU's own until ours lands).
failed=$(load_hv_modules)
if hyperv_detected; then
    result hyperv_detected PASS "$(dmesg | grep -o 'Hyper-V: privilege flags.*' | head -1)"
else
    result hyperv_detected FAIL "no 'Hypervisor detected: Microsoft Hyper-V'"
fi
online=$(cat /sys/devices/system/cpu/online)
present=$(cat /sys/devices/system/cpu/present)
if [ "$online" = "$present" ]; then
    result cpus_online PASS "$online"
else
    result cpus_online FAIL "online $online present $present"
fi
wait_for '[ -n "$(vmbus_version)" ]' 10
v=$(vmbus_version)
if [ -n "$v" ]; then
    result vmbus_connect PASS "Vmbus version:$v hyp_irqs=$(hyp_interrupts) clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
else
    result vmbus_connect FAIL "no Vmbus version line (modules failed:${failed:-none})"
fi
