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
# Linux 7.x has no message-mode stimer clockevent any more (it needs
# STIMER_DIRECT_MODE_AVAILABLE, which real Hyper-V always offers): with
# hv-stimer alone it logs "stimer setup failed with error -22" and keeps
# the LAPIC timer, as under KVM with the same flags; message mode then
# checks exactly that.
mode=$(kparam vmbus.stimer || echo message)
mig=$(kparam vmbus.hvtime_migrate || echo 0)
irqs_of() { awk -v n="$1:" '$1 == n { s = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i; print s }' /proc/interrupts; }
hvs_irqs() { irqs_of HVS; }
# Hyper-V callback (0xf3) plus local APIC timer (0xec) interrupts
tick_irqs() { local h l; h=$(irqs_of HYP); l=$(irqs_of LOC); echo $(( ${h:-0} + ${l:-0} )); }
# does this kernel still set up stimer0 in message mode (6.x and older)?
msg_stimer=1
if [ -r /proc/kallsyms ] && ! grep -q ' hv_stimer_legacy_init$' /proc/kallsyms; then
    msg_stimer=0
fi
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
want="Hyper-V clockevent"
[ "$mode" = message ] && [ $msg_stimer = 0 ] && want="lapic*"
for c in /sys/devices/system/clockevents/clockevent*; do
    d=$(cat $c/current_device)
    case "$d" in $want) ;; *) bad="$bad $(basename $c)=$d" ;; esac
done
i0=$(hyp_interrupts); h0=$(hvs_irqs)
usleep 500000
i1=$(hyp_interrupts); h1=$(hvs_irqs)
if [ "$mode" = direct ]; then
    [ -n "$h0" ] && [ $((h1 - h0)) -gt 0 ] || bad="$bad direct:HVS-irqs=$h0->$h1"
else
    # 7.x lists HVS whether or not direct mode is offered; it stays 0
    [ "${h1:-0}" = 0 ] || bad="$bad message-mode-but-HVS-irqs=$h0->$h1"
    if [ $msg_stimer = 1 ]; then
        [ $((i1 - i0)) -gt 0 ] || bad="$bad message:HYP-irqs=$i0->$i1"
    else
        dmesg | grep -q "Hyper-V: stimer setup failed with error -22" ||
            bad="$bad no-direct-mode-but-no-stimer-EINVAL"
    fi
fi
if [ -z "$bad" ]; then
    if [ $msg_stimer = 0 ] && [ "$mode" = message ]; then
        result stimer_clockevent PASS "no message-mode stimer in this kernel and direct mode not offered: stimer setup -EINVAL, every CPU on lapic (HVS +0 in 0.5 s)"
    else
        result stimer_clockevent PASS "every CPU on 'Hyper-V clockevent' ($mode mode: HYP +$((i1 - i0)) HVS +$((${h1:-0} - ${h0:-0})) in 0.5 s)"
    fi
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
    # at or below 0xf3, Linux's clockevent included (HYP on 6.x, LOC on 7.x)
    s2=$(rdmsr 0 0x40000092); aeoi=""
    if [ "$mode" = message ] && [ $((s2 & 0x20000)) != 0 ]; then
        # STIMER2: STIMER1's message still waits for SINT5's busy slot
        wrmsr 0 0x40000096 0xf3 || bad="$bad sint6-write"
        wrmsr 0 0x400000b4 0x60008
        now=$(rdmsr 0 0x40000020)
        i0=$(tick_irqs)
        wrmsr 0 0x400000b5 $((now + 200000))
        usleep 300000
        [ $(( $(rdmsr 0 0x400000b4) & 1 )) = 0 ] || bad="$bad sint6-timer-not-delivered"
        usleep 300000
        i1=$(tick_irqs)
        [ $((i1 - i0)) -ge 3 ] || bad="$bad interrupts-stopped-after-shared-vector($i0->$i1)"
        wrmsr 0 0x400000b4 0
        wrmsr 0 0x40000096 0x10000
        aeoi=", shared auto-EOI vector with a non-auto-EOI SINT (HYP+LOC +$((i1 - i0)))"
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
