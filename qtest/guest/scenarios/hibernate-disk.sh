# SPDX-License-Identifier: GPL-2.0-or-later
# Hibernation with power-off: the guest writes its image to a swap disk
# and powers off; a new QEMU process boots it again; the boot kernel
# connects to VMBus, finds the image and hands over (freeze: UNLOAD); the
# image kernel connects once more at the same version, its devices are
# re-offered with the same instance GUIDs, and they work.
# Run with --scratch-disk 600 (the swap disk, /dev/vda).
boot=$(host_action boot-count)
modprobe virtio_pci 2>/dev/null
modprobe virtio_blk
load_hv_modules > /dev/null
if ! wait_for '[ -n "$(vmbus_version)" ]' 10; then
    result "hibernate-disk-boot$boot" FAIL "VMBus did not connect"
    return 0
fi
wait_for '[ -e /sys/block/vda/dev ]' 10
if [ "$boot" = 2 ]; then
    # Boot kernel of the new QEMU process: restore the image.
    info resume "boot kernel connected at $(vmbus_version); restoring"
    cat /sys/block/vda/dev > /sys/power/resume
    result hibernate-disk FAIL "no image was restored"
    return 0
fi
ver=$(vmbus_version)
devs=$(vmbus_devices | grep -v ' none$' | awk '{print $1}' | sort | tr '\n' ' ')
n=$(echo $devs | wc -w)
mkswap /dev/vda > /dev/null && swapon /dev/vda || { result hibernate-disk FAIL "no swap"; return 0; }
echo shutdown > /sys/power/disk
host_action restart-after-poweroff > /dev/null
dmesg -c > /dev/null
if ! echo disk > /sys/power/state; then
    result hibernate-disk FAIL "echo disk failed: $(dmesg | tail -3 | tr '\n' ' ')"
    return 0
fi
# Here only after the image was restored in a new QEMU process.
boots=$(host_action boot-count)
if ! wait_for '[ "$(vmbus_devices | grep -vc " none$")" -ge "$n" ]' 15; then
    result hibernate-disk FAIL "devices not bound after restore: $(vmbus_devices | tr '\n' ' ')"
    return 0
fi
now=$(vmbus_devices | grep -v ' none$' | awk '{print $1}' | sort | tr '\n' ' ')
v=$(host_action qmp-get query-vmbus version | tr -d '"')
if [ "$boots" = 2 ] && [ "$now" = "$devs" ] && [ "$v" = "$ver" ] &&
   ! dmesg | grep -q "Some vmbus device is missing"; then
    result hibernate-disk PASS "restored in a new QEMU at $v; $n devices, same instance GUIDs"
else
    result hibernate-disk FAIL "boots=$boots version $v (was $ver) devices '$now' (were '$devs')"
fi
swapoff /dev/vda 2>/dev/null
