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

# Module $1 is built into the kernel (modules.builtin; '-' and '_' alike).
mod_builtin() {
    local f="/lib/modules/$(uname -r)/modules.builtin"
    [ -f "$f" ] && sed 's,.*/,,; s,\.ko.*$,,; s,-,_,g' "$f" | grep -qx "$(echo "$1" | tr - _)"
}

# Load every Hyper-V module the image has (a built-in one counts as
# loaded); prints the ones that failed.
load_hv_modules() {
    local m failed=""
    for m in $HV_MODULES; do
        mod_builtin "$m" && continue
        modprobe "$m" 2>/dev/null || failed="$failed $m"
    done
    echo "$failed"
}

# Unbind and rebind the driver of every bound VMBus device; prints how many
# were rebound, returns 1 when one failed (its name on stderr).
vmbus_rebind_all() {
    local inst n=0 bad=0
    for inst in $(vmbus_devices | awk '$3 != "none" { print $1 }'); do
        if vmbus_rebind "$inst"; then n=$((n + 1)); else echo "$inst" >&2; bad=1; fi
    done
    echo "$n"
    return $bad
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

# Ask the runner to act on the host and wait for it (protocol and actions:
# scripts/guest-run.py).  Prints the reply's value; returns 0 on "ok".
# Talks to /dev/console directly, so it works inside $(...).
host_action() {
    local reply
    echo "VMBUS-HOST: $*" > /dev/console
    read -r reply < /dev/console || return 1
    reply=$(echo "$reply" | tr -d '\r')
    reply=${reply#*VMBUS-HOST-REPLY: }
    case "$reply" in
        ok*) reply=${reply#ok}; echo "${reply# }"; return 0 ;;
        *) echo "$reply"; return 1 ;;
    esac
}

# Hypervisor callback interrupts (the SynIC vector), summed over CPUs.
hyp_interrupts() {
    awk '$1 == "HYP:" { s = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i; print s }' /proc/interrupts
}

# Unbind and rebind the driver of VMBus device $1 (guest->host and
# host->guest VMBus messages: close, GPADL teardown, GPADL, open).
vmbus_rebind() {
    local dev=$1 drv
    drv=$(basename "$(readlink "/sys/bus/vmbus/devices/$dev/driver")") || return 1
    echo "$dev" > "/sys/bus/vmbus/drivers/$drv/unbind" || return 1
    echo "$dev" > "/sys/bus/vmbus/drivers/$drv/bind" || return 1
    [ -e "/sys/bus/vmbus/devices/$dev/driver" ]
}

# Post a burst of $1 SynIC messages from the host's x-hv-msg-burst object
# (-device x-hv-msg-burst,id=burst) and wait for it; prints the object's
# cumulative counters "delivered retries errors".
msg_burst() {
    local i=0 busy
    host_action qom-set /machine/peripheral/burst count "$1" > /dev/null || return 1
    while [ $i -lt 300 ]; do
        busy=$(host_action qom-get /machine/peripheral/burst busy) || return 1
        [ "$busy" = false ] && break
        usleep 100000
        i=$((i + 1))
    done
    echo "$(host_action qom-get /machine/peripheral/burst delivered)" \
         "$(host_action qom-get /machine/peripheral/burst retries)" \
         "$(host_action qom-get /machine/peripheral/burst errors)"
}

# The first VMBus device bound to driver $1.
vmbus_dev_of() {
    vmbus_devices | awk -v d="$1" '$3 == d { print $1; exit }'
}

# MSR access through /dev/cpu/N/msr (modprobe msr first; writes need
# msr.allow_writes=on on the kernel command line to stay quiet).
# rdmsr CPU MSR: prints 0x<16 hex digits>, or GP when the read faulted.
rdmsr() {
    local v
    v=$(dd if="/dev/cpu/$1/msr" bs=8 count=1 iflag=skip_bytes skip=$(($2)) 2>/dev/null | od -An -tx8 | tr -d ' \n')
    if [ -n "$v" ]; then echo "0x$v"; else echo GP; fi
}
# wrmsr CPU MSR VALUE: status 0 when written, 1 when it faulted (#GP).
wrmsr() {
    local v=$(($3)) i bytes=""
    for i in 0 1 2 3 4 5 6 7; do
        bytes="$bytes\\$(printf '%03o' $(( (v >> (8 * i)) & 255 )))"
    done
    printf "$bytes" | dd of="/dev/cpu/$1/msr" bs=8 count=1 oflag=seek_bytes seek=$(($2)) conv=notrunc 2>/dev/null
}

# Ask the host for an action that gets no reply (reset); waits for it.
host_action_noreply() {
    echo "VMBUS-HOST: $*" > /dev/console
    sleep 60
}
