# SPDX-License-Identifier: GPL-2.0-or-later
# hv-balloon on our bridge: the channel is retargeted to the last vCPU
# (sysfs cpu -> MODIFYCHANNEL, answered at 5.3), then the host inflates
# the balloon to 300 MiB and deflates it again; the guest's memory follows
# and the channel's interrupts arrive on the new vCPU.  QEMU's hv-balloon
# sends nothing during its first 50 s (a Hyper-V habit), hence the wait.
# Needs -device hv-balloon and ACPI S4 off (Linux refuses balloon-up while
# it could hibernate): -global ICH9-LPC.disable_s4=1.
load_hv_modules > /dev/null
wait_for '[ -n "$(vmbus_dev_of hv_balloon)" ]' 10
dev=$(vmbus_dev_of hv_balloon)
cpus=$(grep -c ^processor /proc/cpuinfo)
target=$((cpus - 1))
hyp_on() { awk -v c=$(($1 + 2)) '$1 == "HYP:" { print $c }' /proc/interrupts; }
mem() { awk '$1 == "MemTotal:" { print int($2 / 1024) }' /proc/meminfo; }
actual() { echo $(( $(host_action qmp-get query-balloon actual) >> 20 )); }
if [ -z "$dev" ]; then
    result balloon FAIL "hv_balloon did not bind"
    return 0
fi
if [ "$target" -gt 0 ]; then
    chdir=$(ls -d /sys/bus/vmbus/devices/$dev/channels/* | head -1)
    if echo $target > "$chdir/cpu" && [ "$(cat $chdir/cpu)" = $target ] &&
       [ "$(host_action qmp-get query-vmbus channels.0.target-vp)" = $target ]; then
        result retarget PASS "relid $(basename $chdir) -> cpu $target (guest and host agree)"
    else
        result retarget FAIL "sysfs cpu $(cat $chdir/cpu), host target-vp $(host_action qmp-get query-vmbus channels.0.target-vp)"
    fi
fi
irq0=$(hyp_on $target)
mem0=$(mem)
host_action hmp balloon 300 > /dev/null
if wait_for '[ "$(actual)" -le 300 ]' 120; then
    result balloon-inflate PASS "actual $(actual) MiB, guest MemTotal $mem0 -> $(mem) MiB"
else
    result balloon-inflate FAIL "actual stayed at $(actual) MiB"
fi
host_action hmp balloon 512 > /dev/null
if wait_for '[ "$(actual)" -ge 500 ]' 60; then
    result balloon-deflate PASS "actual $(actual) MiB, guest MemTotal $(mem) MiB"
else
    result balloon-deflate FAIL "actual stayed at $(actual) MiB"
fi
if [ "$target" -gt 0 ]; then
    irq1=$(hyp_on $target)
    if [ "$irq1" -gt "$irq0" ]; then
        result retarget-interrupts PASS "HYP interrupts on cpu$target $irq0 -> $irq1"
    else
        result retarget-interrupts FAIL "HYP interrupts on cpu$target $irq0 -> $irq1"
    fi
fi
