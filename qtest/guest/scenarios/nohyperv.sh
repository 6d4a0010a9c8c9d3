# SPDX-License-Identifier: GPL-2.0-or-later
# Without hv-* flags the guest sees no Hyper-V under TCG (as before).
if dmesg | grep -q "Hypervisor detected: Microsoft Hyper-V"; then
    result no_hyperv FAIL "guest detected Hyper-V without hv-* flags"
elif dmesg | grep -qi "hyper-v"; then
    result no_hyperv FAIL "$(dmesg | grep -i hyper-v | head -1)"
else
    result no_hyperv PASS "$(dmesg | grep -o 'Hypervisor detected.*' | head -1)"
fi
if modprobe hv_vmbus 2>/dev/null && [ -n "$(vmbus_version)" ]; then
    result no_vmbus FAIL "hv_vmbus connected without Hyper-V"
else
    result no_vmbus PASS "hv_vmbus did not connect"
fi
