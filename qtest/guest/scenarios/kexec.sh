# SPDX-License-Identifier: GPL-2.0-or-later
# Unload by kexec: the guest kexecs into the same kernel (Linux's kexec
# handler sends UNLOAD and waits for the answer); the new kernel connects
# again and rebinds every device.  Run with --kexec-files.
boot=$(host_action boot-count)
load_hv_modules > /dev/null
if ! wait_for '[ -n "$(vmbus_version)" ]' 10; then
    result "kexec-boot$boot" FAIL "VMBus did not connect"
    return 0
fi
n=$(vmbus_devices | grep -vc ' none$')
if [ "$boot" = 1 ]; then
    info kexec "devices bound before: $n"
    if ! kexec -l /boot/vmlinuz --initrd=/boot/initrd.gz \
            --command-line="$(cat /proc/cmdline) vmbus.kexec_devices=$n"; then
        result kexec FAIL "kexec -l failed"
        return 0
    fi
    sync
    kexec -e
    result kexec FAIL "kexec -e returned"
else
    before=$(kparam vmbus.kexec_devices)
    if wait_for '[ "$(vmbus_devices | grep -vc " none$")" -ge "$before" ]' 10; then
        result kexec PASS "second kernel connected at $(vmbus_version), $(vmbus_devices | grep -vc ' none$') of $before devices rebound"
    else
        result kexec FAIL "$(vmbus_devices | grep -vc ' none$') of $before devices rebound"
    fi
fi
