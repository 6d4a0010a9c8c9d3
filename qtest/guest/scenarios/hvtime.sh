# SPDX-License-Identifier: GPL-2.0-or-later
# Hyper-V reference time and synthetic timers under TCG (hv-time,
# hv-stimer[, hv-stimer-direct]); run with msr.allow_writes=on.
#   vmbus.stimer=message|direct  which mode Linux must pick for stimer0
#   vmbus.hvtime_migrate=1       also migrate and check the clock and the
#                                timers afterwards
# Checks: the TSC page is Linux's clocksource and the Hyper-V timer its
# clockevent device, VMBus still connects, the clocks agree, the TLFS
# timer rules through STIMER1's MSRs (one-shot delivery clears enable, a
# second expiry into a busy message slot stays pending, zero count
# disables, direct mode #GP unless offered), and across migration.
mode=$(kparam vmbus.stimer || echo message)
mig=$(kparam vmbus.hvtime_migrate || echo 0)
hvs_irqs() { awk '$1 == "HVS:" { s = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i; print s }' /proc/interrupts; }
failed=$(load_hv_modules)
cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)
if [ "$cs" = hyperv_clocksource_tsc_page ] &&
   dmesg | grep -q "Switched to clocksource hyperv_clocksource_tsc_page"; then
    result tsc_page_clocksource PASS "$(dmesg | grep -o 'clocksource: Switched to clocksource.*' | tail -1)"
else
    result tsc_page_clocksource FAIL "current clocksource $cs"
fi
wait_for '[ -n "$(vmbus_version)" ]' 10
v=$(vmbus_version)
[ -n "$v" ] && result vmbus_connect PASS "Vmbus version:$v" || result vmbus_connect FAIL "no Vmbus version line (modules failed:${failed:-none})"
bad=""
for c in /sys/devices/system/clockevents/clockevent*; do
    d=$(cat $c/current_device)
    [ "$d" = "Hyper-V clockevent" ] || bad="$bad $(basename $c)=$d"
done
i0=$(hyp_interrupts); h0=$(hvs_irqs)
usleep 500000
i1=$(hyp_interrupts); h1=$(hvs_irqs)
if [ "$mode" = direct ]; then
    [ -n "$h0" ] && [ $((h1 - h0)) -gt 0 ] || bad="$bad direct:HVS-irqs=$h0->$h1"
else
    [ -z "$h0" ] || bad="$bad message-mode-but-HVS-line"
    [ $((i1 - i0)) -gt 0 ] || bad="$bad message:HYP-irqs=$i0->$i1"
fi
if [ -z "$bad" ]; then
    result stimer_clockevent PASS "every CPU on 'Hyper-V clockevent' ($mode mode: HYP +$((i1 - i0)) HVS +$((${h1:-0} - ${h0:-0})) in 0.5 s)"
else
    result stimer_clockevent FAIL "$bad"
fi
if ! modprobe msr || [ ! -e /dev/cpu/0/msr ]; then
    result stimer_rules SKIP "no msr module"
else
    # the clocks agree: TIME_REF_COUNT vs the TSC page (uptime) over a
    # sleep; uptime is read (no fork) just before and after each rdmsr
    cs_now() { local u r; read -r u r < /proc/uptime; echo "${u%.*}${u#*.}"; }
    a0=$(cs_now); r0=$(rdmsr 0 0x40000020); b0=$(cs_now)
    sleep 1
    a1=$(cs_now); r1=$(rdmsr 0 0x40000020); b1=$(cs_now)
    dref=$(( (r1 - r0) / 100000 ))        # centiseconds
    lo=$((a1 - b0)); hi=$((b1 - a0))      # the uptime delta brackets it
    if [ $dref -ge 95 ] && [ $dref -le 300 ] && [ $dref -ge $((lo - 2)) ] && [ $dref -le $((hi + 2)) ]; then
        result clocks_agree PASS "sleep 1: TIME_REF_COUNT +${dref}cs, uptime (TSC page) +${lo}..${hi}cs"
    else
        result clocks_agree FAIL "TIME_REF_COUNT +${dref}cs uptime +${lo}..${hi}cs"
    fi
    # STIMER1 on SINT5 (masked, so Linux never reads slot 5), auto-enable
    bad=""
    tref=$(rdmsr 0 0x40000021)
    [ $((tref & 1)) = 1 ] || bad="$bad reference_tsc=$tref"
    CFG=0x400000b2; CNT=0x400000b3
    if [ "$mode" = message ]; then
        wrmsr 0 $CFG 0x1ed8 && bad="$bad direct-config-accepted-without-hv-stimer-direct"
    fi
    wrmsr 0 $CFG 0xfff00050008 || bad="$bad config-write"
    [ "$(rdmsr 0 $CFG)" = 0x0000000000050008 ] || bad="$bad config-readback=$(rdmsr 0 $CFG)"
    now=$(rdmsr 0 0x40000020)
    wrmsr 0 $CNT $((now + 5000000)) || bad="$bad count-write"
    [ $(( $(rdmsr 0 $CFG) & 1 )) = 1 ] || bad="$bad auto-enable"
    usleep 700000
    c1=$(rdmsr 0 $CFG)
    [ $((c1 & 1)) = 0 ] || bad="$bad first-one-shot-not-delivered=$c1"
    now=$(rdmsr 0 0x40000020)
    wrmsr 0 $CNT $((now + 1000000))
    usleep 300000
    c2=$(rdmsr 0 $CFG)
    [ $((c2 & 1)) = 1 ] || bad="$bad second-one-shot-delivered-into-busy-slot=$c2"
    wrmsr 0 0x40000084 0        # EOM: slot 5 still busy, stays pending
    usleep 50000
    c3=$(rdmsr 0 $CFG)
    [ $((c3 & 1)) = 1 ] || bad="$bad pending-lost-after-eom=$c3"
    wrmsr 0 $CNT 0
    [ $(( $(rdmsr 0 $CFG) & 1 )) = 0 ] || bad="$bad zero-count-keeps-enabled"
    if [ "$mode" = direct ]; then
        # direct mode, Linux's own stimer vector: a plain interrupt; an
        # expired one-shot (count 1) fires at once
        h0=$(hvs_irqs)
        wrmsr 0 $CFG 0x1ed8 || bad="$bad direct-config-refused"
        wrmsr 0 $CNT 1
        usleep 50000
        h1=$(hvs_irqs)
        [ $(( $(rdmsr 0 $CFG) & 1 )) = 0 ] || bad="$bad direct-one-shot-not-delivered"
        [ $((h1 - h0)) -ge 1 ] || bad="$bad direct-no-interrupt"
    fi
    wrmsr 0 $CFG 0
    # auto-EOI with a shared vector: Linux's SINT2 (0xf3, auto-EOI since
    # the AEOI hint is not offered) and SINT6 (0xf3, no auto-EOI); a timer
    # message on SINT6 raises 0xf3, which must be auto-EOI'd (as KVM):
    # Linux never EOIs it, so a stuck ISR bit would stop every interrupt
    s2=$(rdmsr 0 0x40000092); aeoi=""
    if [ "$mode" = message ] && [ $((s2 & 0x20000)) != 0 ]; then
        # STIMER2: STIMER1's message still waits for SINT5's busy slot
        wrmsr 0 0x40000096 0xf3 || bad="$bad sint6-write"
        wrmsr 0 0x400000b4 0x60008
        now=$(rdmsr 0 0x40000020)
        i0=$(hyp_interrupts)
        wrmsr 0 0x400000b5 $((now + 200000))
        usleep 300000
        [ $(( $(rdmsr 0 0x400000b4) & 1 )) = 0 ] || bad="$bad sint6-timer-not-delivered"
        usleep 300000
        i1=$(hyp_interrupts)
        [ $((i1 - i0)) -ge 3 ] || bad="$bad interrupts-stopped-after-shared-vector($i0->$i1)"
        wrmsr 0 0x400000b4 0
        wrmsr 0 0x40000096 0x10000
        aeoi=", shared auto-EOI vector with a non-auto-EOI SINT (HYP +$((i1 - i0)))"
    fi
    if [ -z "$bad" ]; then
        result stimer_rules PASS "auto-enable, one-shot delivery clears enable, busy slot keeps it pending (also after EOM), zero count disables, reserved bits dropped${aeoi} ($mode)"
    else
        result stimer_rules FAIL "$bad"
    fi
fi
if [ "$mig" = 1 ]; then
    u0=$(cut -d' ' -f1 /proc/uptime); r0=$(rdmsr 0 0x40000020)
    out=$(host_action migrate) || result hvtime_migrate FAIL "migrate: $out"
    u1=$(cut -d' ' -f1 /proc/uptime); r1=$(rdmsr 0 0x40000020)
    t0=$(rdmsr 0 0x40000020); sleep 1; t1=$(rdmsr 0 0x40000020)
    u2=$(cut -d' ' -f1 /proc/uptime)
    d=$(echo "$u0 $u1 $u2" | awk '{ if ($2 >= $1 && $3 >= $2 && $2 - $1 < 30) print "ok"; else print "bad" }')
    cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)
    if [ "$d" = ok ] && [ $((r1 - r0)) -ge 0 ] && [ $(( (t1 - t0) / 100000 )) -ge 95 ] &&
       [ $(( (t1 - t0) / 100000 )) -le 300 ] && [ "$cs" = hyperv_clocksource_tsc_page ] &&
       ! dmesg | grep -qiE "clocksource.*unstable|timekeeping watchdog"; then
        result hvtime_migrate PASS "uptime $u0 -> $u1 -> $u2, TIME_REF_COUNT monotonic, sleep 1 = $(( (t1 - t0) / 100000 ))cs after migration, clocksource $cs"
    else
        result hvtime_migrate FAIL "uptime $u0 $u1 $u2 ref $r0 $r1 sleep $(( (t1 - t0) / 100000 ))cs cs $cs"
    fi
fi
