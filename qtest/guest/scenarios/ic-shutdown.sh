# SPDX-License-Identifier: GPL-2.0-or-later
# The shutdown integration service ends the guest: the host asks through
# QMP and the guest's hv_utils runs /sbin/poweroff or /sbin/reboot
# (orderly_poweroff / orderly_reboot).  Those are replaced here by
# scripts that print the result and end the scenario, then power off or
# reboot for real; the runner (--expect-shutdown) checks that QEMU ended
# with the matching SHUTDOWN event (a reboot ends QEMU under -no-reboot).
#   vmbus.ic_action=powerdown  QMP system_powerdown (default)
#   vmbus.ic_action=shutdown   QMP vmbus-shutdown action=shutdown
#   vmbus.ic_action=reboot     QMP vmbus-shutdown action=reboot force=true
# Needs -device vmbus-bridge -device hv-shutdown,id=sd.
action=$(kparam vmbus.ic_action || echo powerdown)
modprobe hv_vmbus
modprobe hv_utils
if ! wait_for 'dmesg | grep -q "Shutdown IC version"' 20; then
    result ic_shutdown FAIL "shutdown service did not negotiate"
    return 0 2>/dev/null || exit 0
fi
ver=$(dmesg | sed -n 's/.*Shutdown IC version \(.*\)/\1/p' | tail -1)
mkdir -p /sbin
for cmd in poweroff reboot; do
    cat > /sbin/$cmd <<EOS
#!/bin/sh
echo "VMBUS-RESULT: ic_$action PASS guest ran /sbin/$cmd for the host's request (shutdown IC $ver)" > /dev/console
echo "VMBUS-GUEST: end uptime=\$(cut -d' ' -f1 /proc/uptime)" > /dev/console
sync
/bin/$cmd -f
EOS
    chmod +x /sbin/$cmd
done
echo /sbin/poweroff > /proc/sys/kernel/poweroff_cmd
case "$action" in
    powerdown) out=$(host_action qmp system_powerdown) ;;
    shutdown) out=$(host_action qmp vmbus-shutdown '{"action": "shutdown"}') ;;
    reboot) out=$(host_action qmp vmbus-shutdown '{"action": "reboot", "force": true}') ;;
    *) out="unknown action $action"; false ;;
esac || { result ic_$action FAIL "host: $out"; return 0 2>/dev/null || exit 0; }
# the guest should be gone before this ends
sleep 60
result ic_$action FAIL "still running 60 s after the request; host sees status $(host_action qom-get /machine/peripheral/sd last-status)"
