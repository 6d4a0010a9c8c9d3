# SPDX-License-Identifier: GPL-2.0-or-later
# A guest managed by libvirt (scripts/check-libvirt.sh): report what the
# guest found, like 'info', then stay up until the host shuts it down.
#
# A host shutdown through the Hyper-V shutdown service (hv_utils) makes the
# kernel run /sbin/poweroff (orderly_poweroff), and busybox's poweroff
# signals PID 1: SIGUSR2 (poweroff), SIGTERM (reboot) or SIGUSR1 (halt).
# Our /init is a shell, so this scenario traps those signals and powers off.
# vmbus.wait=SECONDS (default 300) bounds the wait.
failed=$(load_hv_modules)
info modules_failed "${failed:-none}"
[ -d /sys/bus/vmbus ] && wait_for '[ -n "$(ls /sys/bus/vmbus/devices 2>/dev/null)" ]' 5
# integration services bind a moment after the bus: wait for the drivers
wait_for '! vmbus_devices | grep -q " none$"' 5
report_platform
ver=$(vmbus_version)
if [ -n "$ver" ]; then
    result libvirt-vmbus PASS "version $ver, $(vmbus_devices | wc -l) devices"
else
    result libvirt-vmbus FAIL "no VMBus connection"
fi

# the kernel runs /sbin/poweroff; /init installed busybox's links in /bin
[ -e /sbin/poweroff ] || { mkdir -p /sbin && ln -s /bin/busybox /sbin/poweroff; }
lv_stop=
trap 'lv_stop=poweroff' USR2
trap 'lv_stop=reboot' TERM
trap 'lv_stop=halt' USR1
echo "VMBUS-GUEST: waiting for host shutdown"
lv_wait=$(kparam vmbus.wait) || lv_wait=300
lv_i=0
while [ -z "$lv_stop" ] && [ $lv_i -lt "$lv_wait" ]; do
    sleep 1
    lv_i=$((lv_i + 1))
done
dmesg | grep -iE "shutdown|hv_utils" | sed 's/^/VMBUS-LOG: /'
if [ -n "$lv_stop" ]; then
    result libvirt-shutdown PASS "$lv_stop requested after ${lv_i}s"
else
    result libvirt-shutdown FAIL "no shutdown request in ${lv_wait}s"
fi
