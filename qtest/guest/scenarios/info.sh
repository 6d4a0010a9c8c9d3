# SPDX-License-Identifier: GPL-2.0-or-later
# Load the Hyper-V modules and report what the guest found (make run).
failed=$(load_hv_modules)
info modules_failed "${failed:-none}"
[ -d /sys/bus/vmbus ] && wait_for '[ -n "$(ls /sys/bus/vmbus/devices 2>/dev/null)" ]' 5
report_platform
dmesg | grep -iE "hyper-v|vmbus|hv_" | sed 's/^/VMBUS-LOG: /'
result info PASS
