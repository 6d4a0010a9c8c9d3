# SPDX-License-Identifier: GPL-2.0-or-later
#
# Helpers for guest scenarios (sourced by /init).  Result lines are the
# guest's whole interface to the runner:
#   VMBUS-RESULT: <name> PASS|FAIL|SKIP <detail>
#   VMBUS-INFO: <key>=<value>

kparam() {  # value of NAME=... on the kernel command line
    local a
    for a in $(cat /proc/cmdline); do
        case "$a" in "$1="*) echo "${a#*=}"; return 0 ;; esac
    done
    return 1
}

result() { echo "VMBUS-RESULT: $1 $2 ${3:-}"; }
info() { echo "VMBUS-INFO: $1=$2"; }

# Load every Hyper-V module the image has; prints the ones that failed.
load_hv_modules() {
    local m failed=""
    for m in $HV_MODULES; do
        modprobe "$m" 2>/dev/null || failed="$failed $m"
    done
    echo "$failed"
}

hyperv_detected() { dmesg | grep -q "Hypervisor detected: Microsoft Hyper-V"; }

vmbus_version() { dmesg | sed -n 's/.*Vmbus version:\([0-9.]*\).*/\1/p' | tail -1; }

# Wait up to $2 seconds (default 10) for the command $1 to succeed.
wait_for() {
    local i=0 max=$(( ${2:-10} * 10 ))
    while [ $i -lt $max ]; do
        eval "$1" && return 0
        usleep 100000
        i=$((i + 1))
    done
    return 1
}

# One line per VMBus device: instance class-guid driver
vmbus_devices() {
    local d drv
    [ -d /sys/bus/vmbus/devices ] || return 0
    for d in /sys/bus/vmbus/devices/*; do
        [ -e "$d" ] || continue
        drv=none
        [ -e "$d/driver" ] && drv=$(basename "$(readlink "$d/driver")")
        echo "$(basename "$d") $(cat "$d/class_id" 2>/dev/null) $drv"
    done
}

# Print what the guest found, for 'make run' and the logs.
report_platform() {
    if hyperv_detected; then info hyperv detected; else info hyperv none; fi
    info vmbus_version "$(vmbus_version)"
    info cpus "$(grep -c ^processor /proc/cpuinfo)"
    info clocksource "$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)"
    vmbus_devices | while read -r inst cls drv; do info device "$inst class=$cls driver=$drv"; done
}
